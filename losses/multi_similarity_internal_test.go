package losses

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// msReference is the row loop MultiSimilarity.row replaced: lse.Row over
// the masks of every row, giving the values and d values[i]/d s_ij.
func msReference(l *MultiSimilarity, in *input, dm *mat.Dense) ([]float64, *mat.Dense) {
	mp, err := newMatPairs(in)
	if err != nil {
		panic(err)
	}
	sp := 1.0
	inv := in.dist.Settings().Inverted
	if inv {
		sp = -1
	}
	jac := mat.NewDense(in.n, in.m, nil)
	values := make([]float64, in.n)
	mp.eachRow(func(r *matRow) {
		m := in.m
		xp, xn, wp, wn := make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, m)
		for j, s := range dm.RawRowView(r.i)[:m] {
			if inv {
				xp[j], xn[j] = l.Alpha*(l.Shift-s), l.Beta*(s-l.Shift)
			} else {
				xp[j], xn[j] = l.Alpha*(s-l.Shift), l.Beta*(l.Shift-s)
			}
		}
		values[r.i] = (1/l.Alpha)*lse.Row(xp, r.pos, true, wp) + (1/l.Beta)*lse.Row(xn, r.neg, true, wn)
		for j := range m {
			jac.Set(r.i, j, sp*(wp[j]-wn[j]))
		}
	})
	return values, jac
}

// TestMultiSimilarityRows checks the fused rows of MultiSimilarity
// against lse.Row over the masks: all pairs (with and without ref
// embeddings), mined triplets and mined pairs (with a pair both positive
// and negative), for a similarity and a distance, large and negative
// weights, and rows without positives or negatives.
func TestMultiSimilarityRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	emb := testkit.NormalDense(rng, 40, 6)
	ref := testkit.NormalDense(rng, 33, 6)
	labels := msRandLabels(rng, 40, 5)
	labels[3] = 99 // a row without positives
	refLabels := msRandLabels(rng, 33, 5)
	one := make([]int, 40) // no negatives
	var a1, p, a2, n []int
	for range 300 {
		a1, p = append(a1, rng.IntN(40)), append(p, rng.IntN(40))
		a2, n = append(a2, rng.IntN(40)), append(n, rng.IntN(40))
	}
	a1, p = append(a1, a2[0]), append(p, n[0])
	batches := map[string]Batch{
		"all":      {Embeddings: emb, Labels: labels},
		"ref":      {Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels},
		"oneClass": {Embeddings: emb, Labels: one},
		"triplets": {Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: a1[:100], P: p[:100], N: n[:100]}},
		"pairs":    {Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: a1, P: p, A2: a2, N: n}},
	}
	configs := map[string]func(l *MultiSimilarity){
		"default":  func(*MultiSimilarity) {},
		"lp":       func(l *MultiSimilarity) { l.Distance, l.Alpha, l.Beta, l.Shift = distances.NewLp(), 1.5, 7, 0.9 },
		"negative": func(l *MultiSimilarity) { l.Alpha, l.Beta, l.Shift = -3, -20, 0.1 },
		"steep":    func(l *MultiSimilarity) { l.Alpha, l.Beta, l.Shift = 40, 400, -0.2 },
	}
	for bn, b := range batches {
		for cn, cfg := range configs {
			l := NewMultiSimilarity()
			cfg(l)
			in, err := prepare(&multiSimilarityDecl, &l.Base, b)
			if err != nil {
				t.Fatal(err)
			}
			tm, err := l.compute(in)
			if err != nil {
				t.Fatal(err)
			}
			dm := in.sessions[0].Matrix()
			wantV, wantJ := msReference(l, in, dm)
			gotV := tm.subLosses[0].Values
			dv := make([]float64, in.n)
			for i := range dv {
				dv[i] = 1
			}
			// The backward scales the jacobian in place before handing it
			// to the distance: catch it there.
			gotJ := in.scratch[len(in.scratch)-1]
			if err := tm.backward([][]float64{dv}, &grads{q: mat.NewDense(in.n, in.d, nil), r: mat.NewDense(in.m, in.d, nil)}); err != nil {
				t.Fatal(err)
			}
			for i := range in.n {
				if !close12(gotV[i], wantV[i]) {
					t.Errorf("%s/%s: value %d = %v, want %v", bn, cn, i, gotV[i], wantV[i])
				}
				for j := range in.m {
					if g, w := gotJ.At(i, j), wantJ.At(i, j); !close12(g, w) {
						t.Errorf("%s/%s: jac %d,%d = %v, want %v", bn, cn, i, j, g, w)
					}
				}
			}
			in.release()
		}
	}
}

func close12(a, b float64) bool {
	return math.Abs(a-b) <= 1e-12*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

func msRandLabels(rng *rand.Rand, n, classes int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = rng.IntN(classes)
	}
	return l
}
