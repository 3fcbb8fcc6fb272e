package regularizers_test

import (
	"fmt"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/regularizers"
	"gonum.org/v1/gonum/mat"
)

// concurrentRegularizer shares r and its input between goroutines (run
// with -race): Compute gives every goroutine the result of a lone call.
func concurrentRegularizer(t *testing.T, r regularizers.Regularizer) {
	x := mat.NewDense(6, 3, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 1, 2, 2, 1, 0, 1, 1})
	want, wantG, err := r.Compute(x)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 8, 5, func(int) error {
		v, g, err := r.Compute(x)
		if err != nil || v != want || !mat.Equal(g, wantG) {
			return fmt.Errorf("%T: concurrent result %v (%v), sequential %v", r, v, err, want)
		}
		return nil
	})
}

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
func TestConcurrencyClaims(t *testing.T) {
	each := func(rs ...regularizers.Regularizer) func(t *testing.T) {
		return func(t *testing.T) {
			for _, r := range rs {
				concurrentRegularizer(t, r)
			}
		}
	}
	withSettings := func(r regularizers.Regularizer) regularizers.Regularizer {
		switch v := r.(type) {
		case *regularizers.CenterInvariant:
			v.Reducer = reducers.NewSum()
		case *regularizers.RegularFace:
			v.Distance, v.Reducer = distances.NewCosineSimilarity(), reducers.NewAvgNonZero()
		case *regularizers.Lp:
			v.Reducer = reducers.NewSum()
		}
		return r
	}
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "CenterInvariant", Run: each(regularizers.NewCenterInvariant(), withSettings(regularizers.NewCenterInvariant()))},
		{Type: "Lp", Run: each(regularizers.NewLp(), withSettings(regularizers.NewLp()))},
		{Type: "RegularFace", Run: each(regularizers.NewRegularFace(), withSettings(regularizers.NewRegularFace()))},
		{Type: "SparseCenters", Run: each(regularizers.NewSparseCenters(3, 2))},
		{Type: "ZeroMean", Run: each(regularizers.NewZeroMean())},
		// The interface's claim is about this package's implementations.
		{Type: "Regularizer", Run: each(regularizers.NewCenterInvariant(), regularizers.NewLp(), regularizers.NewRegularFace(),
			regularizers.NewSparseCenters(3, 2), regularizers.NewZeroMean())},
	})
}
