package losses_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// scaledLp is a user distance that embeds *distances.Lp and overrides
// Matrix and MatrixVJP (1.5 times Lp). It inherits Lp's OpenSession, which
// the losses must not use for it.
type scaledLp struct{ *distances.Lp }

func (d scaledLp) Matrix(q, r *mat.Dense) (*mat.Dense, error) {
	m, err := d.Lp.Matrix(q, r)
	if err == nil {
		m.Scale(1.5, m)
	}
	return m, err
}

func (d scaledLp) MatrixVJP(q, r, _, g *mat.Dense) (*mat.Dense, *mat.Dense, error) {
	g2 := mat.DenseCopyOf(g)
	g2.Scale(1.5, g2)
	return d.Lp.MatrixVJP(q, r, nil, g2)
}

// scaledCos is scaledLp for CosineSimilarity (0.5 times the cosine).
type scaledCos struct{ *distances.CosineSimilarity }

func (d scaledCos) Matrix(q, r *mat.Dense) (*mat.Dense, error) {
	m, err := d.CosineSimilarity.Matrix(q, r)
	if err == nil {
		m.Scale(0.5, m)
	}
	return m, err
}

func (d scaledCos) MatrixVJP(q, r, _, g *mat.Dense) (*mat.Dense, *mat.Dense, error) {
	g2 := mat.DenseCopyOf(g)
	g2.Scale(0.5, g2)
	return d.CosineSimilarity.MatrixVJP(q, r, nil, g2)
}

// halfAvgNonZero is a user reducer that embeds *reducers.AvgNonZero and
// overrides ReduceOne (half AvgNonZero's value). It inherits AvgNonZero's
// PlanStream, which the streaming losses must not use for it.
type halfAvgNonZero struct{ *reducers.AvgNonZero }

func (h halfAvgNonZero) ReduceOne(l reducers.SubLoss, b reducers.Batch) (float64, []float64, error) {
	v, g, err := h.AvgNonZero.ReduceOne(l, b)
	for i := range g {
		g[i] /= 2
	}
	return v / 2, g, err
}

// hiddenDist hides every method of a distance but those of Distance.
type hiddenDist struct{ distances.Distance }

// TestEmbeddedExtensions: a user Distance or Reducer that embeds one of
// the library's and overrides its methods gives, in the losses that
// stream and use distance sessions, the numbers of the generic path (the
// same type with everything but the Distance or Reducer methods hidden),
// which differ from the embedded type's.
func TestEmbeddedExtensions(t *testing.T) {
	rng := rand.New(rand.NewPCG(91, 92))
	emb, labels := testkit.NormalDense(rng, 24, 5), randLabels(rng, 24, 4)
	ref, refLabels := testkit.NormalDense(rng, 10, 5), randLabels(rng, 10, 4)
	proxy := func(d distances.Distance) losses.Loss {
		l, err := losses.NewProxyAnchor(4, 5, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		l.Distance = d
		return l
	}
	triplet := func(d distances.Distance, r reducers.Reducer) losses.Loss {
		l := losses.NewTripletMargin()
		l.Distance, l.Reducer = d, r
		return l
	}
	contrastive := func(d distances.Distance, r reducers.Reducer) losses.Loss {
		l := losses.NewContrastive()
		l.Distance, l.Reducer = d, r
		return l
	}
	lp, cos := distances.NewLp(), distances.NewCosineSimilarity()
	half := halfAvgNonZero{reducers.NewAvgNonZero()}
	for _, tc := range []struct {
		name               string
		user, generic, own losses.Loss
	}{
		{"TripletMargin/distance", triplet(scaledLp{lp}, nil), triplet(hiddenDist{scaledLp{lp}}, nil), triplet(lp, nil)},
		{"TripletMargin/reducer", triplet(nil, half), triplet(nil, struct{ reducers.Reducer }{half}), triplet(nil, nil)},
		{"Contrastive/distance", contrastive(scaledLp{lp}, nil), contrastive(hiddenDist{scaledLp{lp}}, nil), contrastive(lp, nil)},
		{"Contrastive/reducer", contrastive(nil, half), contrastive(nil, struct{ reducers.Reducer }{half}), contrastive(nil, nil)},
		{"ProxyAnchor/distance", proxy(scaledCos{cos}), proxy(hiddenDist{scaledCos{cos}}), proxy(cos)},
	} {
		for _, withRef := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/ref=%v", tc.name, withRef), func(t *testing.T) {
				b := losses.Batch{Embeddings: emb, Labels: labels}
				if withRef {
					if tc.name == "ProxyAnchor/distance" {
						t.Skip("ProxyAnchor takes no ref")
					}
					b.Ref, b.RefLabels = ref, refLabels
				}
				got, err := tc.user.Compute(b)
				if err != nil {
					t.Fatal(err)
				}
				want, err := tc.generic.Compute(b)
				if err != nil {
					t.Fatal(err)
				}
				if got.Loss != want.Loss || !mat.Equal(got.Grad, want.Grad) {
					t.Errorf("loss %v, generic path %v (or gradients differ)", got.Loss, want.Loss)
				}
				if withRef && !mat.Equal(got.RefGrad, want.RefGrad) {
					t.Error("ref gradients differ from the generic path")
				}
				own, err := tc.own.Compute(b)
				if err != nil {
					t.Fatal(err)
				}
				if own.Loss == got.Loss {
					t.Errorf("the user type gives the embedded type's loss %v", own.Loss)
				}
			})
		}
	}
}
