package losses_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// joinPairs is PML's convert_to_triplets of mined pairs: every positive
// pair, in order, with every negative pair of its anchor, in order.
func joinPairs(p *tuples.Pairs) *tuples.Triplets {
	out := &tuples.Triplets{A: []int{}, P: []int{}, N: []int{}}
	for i, a := range p.A1 {
		for j, b := range p.A2 {
			if b == a {
				out.A = append(out.A, a)
				out.P = append(out.P, p.P[i])
				out.N = append(out.N, p.N[j])
			}
		}
	}
	return out
}

// TestTripletMarginPairsStream checks that TripletMargin on mined pairs
// (streamed per run of positive pairs) gives the loss and gradients of the
// same loss on the joined triplets, for every reducer kind, swap,
// smoothing, similarities, ref embeddings, anchors out of order and
// repeated pairs.
func TestTripletMarginPairsStream(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const n, m, d = 12, 9, 5
	emb, ref := testkit.NormalDense(rng, n, d), testkit.NormalDense(rng, m, d)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 3
	}
	mined := func(nref int) *tuples.Pairs {
		p := &tuples.Pairs{}
		for range 25 {
			p.A1 = append(p.A1, rng.IntN(n))
			p.P = append(p.P, rng.IntN(nref))
		}
		// runs of the same anchor, and anchors with no negatives
		p.A1 = append(p.A1, 3, 3, 3, 11)
		p.P = append(p.P, 1, 1, 2, 0)
		for range 30 {
			p.A2 = append(p.A2, rng.IntN(n-1))
			p.N = append(p.N, rng.IntN(nref))
		}
		return p
	}
	type variant struct {
		name   string
		mk     func() losses.Loss
		useRef bool
	}
	withBase := func(f func(l *losses.TripletMargin)) func() losses.Loss {
		return func() losses.Loss {
			l := losses.NewTripletMargin()
			l.Margin = 0.3
			f(l)
			return l
		}
	}
	variants := []variant{
		{"default", withBase(func(*losses.TripletMargin) {}), false},
		{"mean", withBase(func(l *losses.TripletMargin) { l.Reducer = reducers.NewMean() }), false},
		{"sum", withBase(func(l *losses.TripletMargin) { l.Reducer = reducers.NewSum() }), false},
		{"threshold", withBase(func(l *losses.TripletMargin) { l.Reducer = reducers.NewThreshold(0.1, 0.5) }), false},
		{"donothing", withBase(func(l *losses.TripletMargin) { l.Reducer = reducers.NewDoNothing() }), false},
		{"swap", withBase(func(l *losses.TripletMargin) { l.Swap = true }), false},
		{"smooth", withBase(func(l *losses.TripletMargin) { l.SmoothLoss = true }), false},
		{"cosine", withBase(func(l *losses.TripletMargin) { l.Distance = distances.NewCosineSimilarity() }), false},
		{"ref", withBase(func(*losses.TripletMargin) {}), true},
		{"refSmooth", withBase(func(l *losses.TripletMargin) { l.SmoothLoss = true }), true},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			nref := n
			if v.useRef {
				nref = m
			}
			p := mined(nref)
			b := losses.Batch{Embeddings: emb, Labels: labels, Tuples: p}
			if v.useRef {
				b.Ref = ref
			}
			got, err := v.mk().Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			b.Tuples = joinPairs(p)
			want, err := v.mk().Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := fdiff.CompareSlices([]float64{got.Loss}, []float64{want.Loss}, 1e-12, 1e-14); err != nil {
				t.Errorf("loss: %v", err)
			}
			for _, c := range []struct {
				name      string
				got, want *mat.Dense
			}{{"grad", got.Grad, want.Grad}, {"refGrad", got.RefGrad, want.RefGrad}} {
				if (c.got == nil) != (c.want == nil) {
					t.Fatalf("%s: nil %v, want nil %v", c.name, c.got == nil, c.want == nil)
				}
				if c.got != nil {
					if err := fdiff.Compare(c.got, c.want, 1e-12, 1e-14); err != nil {
						t.Errorf("%s: %v", c.name, err)
					}
				}
			}
		})
	}
	// No triplet at all: the zero loss, as for no joined triplet.
	p := &tuples.Pairs{A1: []int{0}, P: []int{1}, A2: []int{2}, N: []int{5}}
	b := losses.Batch{Embeddings: emb, Labels: labels, Tuples: p}
	got, err := losses.NewTripletMargin().Compute(b)
	if err != nil {
		t.Fatal(err)
	}
	b.Tuples = joinPairs(p)
	want, err := losses.NewTripletMargin().Compute(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Loss != want.Loss {
		t.Errorf("no triplets: loss %v, want %v", got.Loss, want.Loss)
	}
}
