package losses_test

import (
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/regularizers"
	"gonum.org/v1/gonum/mat"
)

// concurrentLoss shares l and b between goroutines (run with -race), each
// with a Reuse of its own: a deterministic loss gives every goroutine the
// bits of a lone call; a random one (nil Rand) a finite result.
func concurrentLoss(t *testing.T, l losses.Loss, b losses.Batch, random bool) {
	t.Helper()
	want, err := l.Compute(b)
	if err != nil {
		t.Fatalf("%T: %v", l, err)
	}
	testkit.Concurrently(t, 4, 3, func(int) error {
		var reuse losses.Result
		for range 2 {
			lb := b
			lb.Reuse = &reuse
			got, err := l.Compute(lb)
			if err != nil {
				return fmt.Errorf("%T: %w", l, err)
			}
			reuse = got
			if random {
				if got.Grad == nil || got.Loss != got.Loss {
					return fmt.Errorf("%T: loss %v", l, got.Loss)
				}
				continue
			}
			if got.Loss != want.Loss || !mat.Equal(got.Grad, want.Grad) || len(got.Parts) != len(want.Parts) {
				return errors.New("the result differs from a sequential call's")
			}
			for name, g := range want.ParamGrads {
				if !mat.Equal(got.ParamGrads[name], g) {
					return fmt.Errorf("%T: parameter gradient %q differs", l, name)
				}
			}
		}
		return nil
	})
}

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
// The losses are those of lossTypes marked safe (a loss whose doc claims
// safety but is not marked is missing from the table, and fails); the
// random ones are also run with a nil Rand drawing their triplets or
// meta classes.
func TestConcurrencyClaims(t *testing.T) {
	var cases []testkit.ConcurrentCase
	names := make([]string, 0, len(lossTypes))
	for name := range lossTypes {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		lt := lossTypes[name]
		if !lt.safe {
			continue
		}
		cases = append(cases, testkit.ConcurrentCase{Type: name, Run: func(t *testing.T) {
			l := lt.make()
			if lt.concurrent != nil {
				l = lt.concurrent()
			}
			if m, ok := l.(*losses.Manifold); ok {
				m.MetaClasses = []int{0, 1, 2, 0, 1, 2, 0, 1}
			}
			concurrentLoss(t, l, lt.input(), false)
			emb, _, labels := typesBatch()
			switch name {
			case "TripletMargin":
				tm := losses.NewTripletMargin()
				tm.TripletsPerAnchor = 2
				concurrentLoss(t, tm, losses.Batch{Embeddings: emb, Labels: labels}, true)
			case "Margin":
				mg := losses.NewMargin()
				mg.TripletsPerAnchor = 3
				concurrentLoss(t, mg, losses.Batch{Embeddings: emb, Labels: labels}, true)
			case "Manifold":
				concurrentLoss(t, must(losses.NewManifold(4, 3, typesRng())), losses.Batch{Embeddings: emb}, true)
			}
		}})
	}
	emb, emb2, labels := typesBatch()
	cases = append(cases,
		// Settings and data shared by the goroutines of the losses above,
		// and read here.
		testkit.ConcurrentCase{Type: "Base", Run: func(t *testing.T) {
			l := losses.NewContrastive()
			l.EmbeddingRegularizer = regularizers.NewLp()
			concurrentLoss(t, l, losses.Batch{Embeddings: emb, Labels: labels}, false)
		}},
		testkit.ConcurrentCase{Type: "WeightReg", Run: func(t *testing.T) {
			l := must(losses.NewArcFace(4, 4, typesRng()))
			l.WeightRegularizer = regularizers.NewRegularFace()
			concurrentLoss(t, l, losses.Batch{Embeddings: emb, Labels: labels}, false)
		}},
		testkit.ConcurrentCase{Type: "Batch", Run: func(t *testing.T) {
			concurrentLoss(t, losses.NewNTXent(), losses.Batch{Embeddings: emb, Labels: labels, Ref: emb2, RefLabels: labels}, false)
		}},
		testkit.ConcurrentCase{Type: "PNPVariant", Run: func(t *testing.T) {
			for _, v := range []losses.PNPVariant{losses.PNPDs, losses.PNPO} {
				l := losses.NewPNP()
				l.Variant = v
				concurrentLoss(t, l, losses.Batch{Embeddings: emb, Labels: labels}, false)
			}
		}},
		testkit.ConcurrentCase{Type: "CrossEntropy", Run: func(t *testing.T) {
			ce := &losses.CrossEntropy{Weight: []float64{1, 2, 0.5, 1}, LabelSmoothing: 0.1}
			x := emb2
			want, err := ce.Compute(x, labels, nil)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 20, func(int) error {
				grad := mat.NewDense(8, 4, nil)
				got, err := ce.Compute(x, labels, grad)
				if err != nil || got != want {
					return fmt.Errorf("CrossEntropy = %v, %v; want %v", got, err, want)
				}
				return nil
			})
		}},
		testkit.ConcurrentCase{Type: "Result", Run: func(t *testing.T) {
			res, err := must(losses.NewArcFace(4, 4, typesRng())).Compute(losses.Batch{Embeddings: emb, Labels: labels})
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if res.Parts["loss"] == 0 || res.Grad.At(0, 0) != res.Grad.At(0, 0) || res.ParamGrads["W"] == nil {
					return fmt.Errorf("result %+v", res)
				}
				return nil
			})
		}},
	)
	testkit.RunConcurrentCases(t, ".", cases)
}
