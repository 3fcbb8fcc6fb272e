package distances_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

// concurrentDistance shares d between goroutines (run with -race): its
// matrix, a session of it (opened through OpenSession when d is a
// SessionOpener) and the backward pass through shared Entry values give
// every goroutine the result of a lone call.
func concurrentDistance(t *testing.T, d distances.Distance) {
	rng := rand.New(rand.NewPCG(41, 42))
	q, r := testkit.UniformDense(rng, 20, 6), testkit.UniformDense(rng, 12, 6)
	g := testkit.UniformDense(rng, 20, 12)
	entries := []distances.Entry{{I: 0, J: 1, G: 0.5}, {I: 3, J: 2, G: -1}, {I: 19, J: 11, G: 2}}
	want, err := d.Matrix(q, r)
	if err != nil {
		t.Fatal(err)
	}
	wantQ, _, err := d.MatrixVJP(q, r, nil, g)
	if err != nil {
		t.Fatal(err)
	}
	s, err := distances.NewSession(d, q, r)
	if err != nil {
		t.Fatal(err)
	}
	wantEQ, wantER := mat.NewDense(20, 6, nil), mat.NewDense(12, 6, nil)
	if err := s.BackwardEntries(entries, wantEQ, wantER); err != nil {
		t.Fatal(err)
	}
	s.Release()
	settings := d.Settings()
	testkit.Concurrently(t, 8, 5, func(int) error {
		if d.Settings() != settings {
			return fmt.Errorf("%T: Settings changed", d)
		}
		m, err := d.Matrix(q, r)
		if err != nil || !mat.Equal(m, want) {
			return fmt.Errorf("%T: Matrix %v", d, err)
		}
		var s distances.Session
		if o, ok := d.(distances.SessionOpener); ok {
			s, err = o.OpenSession(q, r)
		} else {
			s, err = distances.NewSession(d, q, r)
		}
		if err != nil || !mat.Equal(s.Matrix(), want) {
			return fmt.Errorf("%T: session %v", d, err)
		}
		defer s.Release()
		dq, dr := mat.NewDense(20, 6, nil), mat.NewDense(12, 6, nil)
		if err := s.Backward(g, dq, dr); err != nil || !mat.Equal(dq, wantQ) {
			return fmt.Errorf("%T: Backward %v", d, err)
		}
		dq.Zero()
		dr.Zero()
		if err := s.BackwardEntries(entries, dq, dr); err != nil || !mat.Equal(dq, wantEQ) || !mat.Equal(dr, wantER) {
			return fmt.Errorf("%T: BackwardEntries %v", d, err)
		}
		if v, i, err := distances.Smallest(d, m.RawRowView(0)); err != nil || v != want.At(0, i) {
			return fmt.Errorf("%T: Smallest %v", d, err)
		}
		return nil
	})
}

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
func TestConcurrencyClaims(t *testing.T) {
	all := func(t *testing.T) {
		for _, d := range []distances.Distance{
			distances.NewLp(), distances.NewCosineSimilarity(), distances.NewDotProductSimilarity(),
			distances.NewSNR(), distances.NewBatched(distances.NewLp(), 5),
		} {
			concurrentDistance(t, d)
		}
	}
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Lp", Run: func(t *testing.T) {
			concurrentDistance(t, distances.NewLp())
			concurrentDistance(t, &distances.Lp{P: 3, Power: 2})
		}},
		{Type: "CosineSimilarity", Run: func(t *testing.T) { concurrentDistance(t, distances.NewCosineSimilarity()) }},
		{Type: "DotProductSimilarity", Run: func(t *testing.T) { concurrentDistance(t, distances.NewDotProductSimilarity()) }},
		{Type: "SNR", Run: func(t *testing.T) { concurrentDistance(t, distances.NewSNR()) }},
		{Type: "Batched", Run: func(t *testing.T) {
			concurrentDistance(t, distances.NewBatched(distances.NewLp(), 5))
			concurrentDistance(t, distances.NewBatched(distances.NewCosineSimilarity(), 7))
		}},
		// The interfaces' claims are about this package's implementations.
		{Type: "Distance", Run: all},
		{Type: "SessionOpener", Run: all},
		// Plain values: shared by the goroutines of the cases above, and
		// read here.
		{Type: "Settings", Run: func(t *testing.T) {
			s := distances.NewCosineSimilarity().Settings()
			testkit.Concurrently(t, 4, 100, func(int) error {
				if c := s; !c.Inverted || c != s {
					return fmt.Errorf("settings %+v", c)
				}
				return nil
			})
		}},
		{Type: "Entry", Run: func(t *testing.T) { concurrentDistance(t, distances.NewLp()) }},
	})
}
