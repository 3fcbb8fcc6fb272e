package losses

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// Angular mirrors PML's AngularLoss (Wang et al., "Deep Metric Learning
// with Angular Loss", 2017). For every positive pair (a, p) of the batch
// (or of the mined tuples), with a and p normalised to unit length, the
// loss is
//
//	log(1 + Σ_n exp(4·tan²α·(a+p)·n − 2·(1+tan²α)·a·p))
//
// over the ref embeddings n whose label differs from a's (n is used as
// given, not normalised, exactly as PML does). Alpha is in degrees
// (default 40). The distance must be distances.Lp with P = 2, Power = 1
// and NormalizeEmbeddings (PML's default LpDistance; PML asserts this);
// default reducer Mean. The loss is zero when there is no positive or no
// negative pair. Labels are required.
//
// Make it with NewAngular(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type Angular struct {
	Base
	// Alpha is PML's alpha: the angle, in degrees (default 40).
	Alpha float64
}

// NewAngular returns an Angular loss with PML's defaults (AngularLoss():
// alpha 40°).
func NewAngular() *Angular {
	return &Angular{Base: defaultBase(), Alpha: 40}
}

var angularDecl = decl{
	name:          "losses.Angular",
	ctor:          "NewAngular()",
	needLabels:    true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewLp() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
	checkDistance: angularCheckDistance,
}

// Compute implements Loss.
func (l *Angular) Compute(b Batch) (Result, error) { return run(&angularDecl, l, b) }

func (l *Angular) validate(name string) error {
	if math.IsNaN(l.Alpha) || math.IsInf(l.Alpha, 0) {
		return check.Settingf(name, "Alpha = %v must be finite", l.Alpha)
	}
	return nil
}

// angularCheckDistance is AngularLoss's assert_distance_type(LpDistance,
// p=2, power=1, normalize_embeddings=True).
func angularCheckDistance(name string, d distances.Distance) error {
	lp, ok := d.(*distances.Lp)
	if !ok || lp == nil {
		return check.Settingf(name, "distance %T, want *distances.Lp (as PML asserts)", d)
	}
	if lp.P != 2 || lp.Power != 1 || !lp.NormalizeEmbeddings {
		return check.Settingf(name, "distance Lp{P: %v, Power: %v, NormalizeEmbeddings: %v}, want P 2, Power 1, NormalizeEmbeddings (as PML asserts)",
			lp.P, lp.Power, lp.NormalizeEmbeddings)
	}
	return nil
}

func (l *Angular) compute(in *input) (*term, error) {
	const name = "losses.Angular"
	pairs, err := in.pairs()
	if err != nil {
		return nil, err
	}
	if len(pairs.A1) == 0 || len(pairs.A2) == 0 {
		return nil, nil
	}
	if in.refLabels == nil {
		return nil, check.Errorf(name, gometric.ErrLabels, "ref labels are required with ref embeddings")
	}
	tan := math.Tan(l.Alpha * (math.Pi / 180))
	sqTan := tan * tan
	np, m, d := len(pairs.A1), in.m, in.d

	anchorsRaw := miscGatherRows(in.emb, pairs.A1)
	positivesRaw := miscGatherRows(in.ref, pairs.P)
	anchors, anchorNorms := rownorm.Normalize(anchorsRaw, 2)
	positives, positiveNorms := rownorm.Normalize(positivesRaw, 2)
	sum := mat.NewDense(np, d, nil)
	sum.Add(anchors, positives)
	apDot := make([]float64, np)
	for i := range apDot {
		a, p := anchors.RawRowView(i), positives.RawRowView(i)
		var dot float64
		for k, v := range a {
			dot += v * p[k]
		}
		apDot[i] = dot
	}
	// final[i][j] = 4·tan²α·(a_i+p_i)·ref_j − 2·(1+tan²α)·a_i·p_i, one GEMM.
	final := mat.NewDense(np, m, nil)
	final.Mul(sum, in.ref.T())
	weights := mat.NewDense(np, m, nil)
	values := make([]float64, np)
	keep := make([]bool, m)
	fr, wr := final.RawMatrix(), weights.RawMatrix()
	for i := range np {
		row := fr.Data[i*fr.Stride : i*fr.Stride+m]
		c := 2 * (1 + sqTan) * apDot[i]
		for j := range row {
			row[j] = 4*sqTan*row[j] - c
		}
		label := in.labels[pairs.A1[i]]
		for j, r := range in.refLabels {
			keep[j] = r != label
		}
		values[i] = lse.Row(row, keep, true, wr.Data[i*wr.Stride:i*wr.Stride+m])
	}
	return &term{
		subLosses: []reducers.SubLoss{{
			Name: "loss", Values: values, Indices: [][]int{pairs.A1, pairs.P}, Kind: reducers.PosPair,
		}},
		backward: func(dv [][]float64, g *grads) error {
			// dFinal = dv_i·w_ij; d(a+p)·ref_j = 4·tan²α·dFinal; d(a·p) = −2·(1+tan²α)·Σ_j dFinal.
			dDot := make([]float64, np)
			for i := range np {
				row := wr.Data[i*wr.Stride : i*wr.Stride+m]
				var s float64
				for j, w := range row {
					w *= dv[0][i]
					s += w
					row[j] = 4 * sqTan * w
				}
				dDot[i] = -2 * (1 + sqTan) * s
			}
			dSum := mat.NewDense(np, d, nil)
			dSum.Mul(weights, in.ref)
			dRef := mat.NewDense(m, d, nil)
			dRef.Mul(weights.T(), sum)
			dAnchors := mat.DenseCopyOf(dSum)
			dPositives := dSum
			for i := range np {
				da, dp := dAnchors.RawRowView(i), dPositives.RawRowView(i)
				a, p := anchors.RawRowView(i), positives.RawRowView(i)
				for k := range da {
					da[k] += dDot[i] * p[k]
					dp[k] += dDot[i] * a[k]
				}
			}
			refGrad := g.r
			if in.refIsQuery {
				refGrad = g.q
			}
			refGrad.Add(refGrad, dRef)
			miscAddRows(g.q, pairs.A1, rownorm.NormalizeVJP(anchorsRaw, dAnchors, 2, anchorNorms))
			miscAddRows(refGrad, pairs.P, rownorm.NormalizeVJP(positivesRaw, dPositives, 2, positiveNorms))
			return nil
		},
	}, nil
}

// miscGatherRows returns the rows idx of m, in order, as a new matrix.
func miscGatherRows(m *mat.Dense, idx []int) *mat.Dense {
	_, c := m.Dims()
	out := mat.NewDense(len(idx), c, nil)
	for i, r := range idx {
		copy(out.RawRowView(i), m.RawRowView(r))
	}
	return out
}

// miscAddRows adds row i of src to row idx[i] of dst for every i.
func miscAddRows(dst *mat.Dense, idx []int, src *mat.Dense) {
	for i, r := range idx {
		d, s := dst.RawRowView(r), src.RawRowView(i)
		for k, v := range s {
			d[k] += v
		}
	}
}
