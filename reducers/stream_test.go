package reducers_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/reducers"
)

// TestReduceStreamMatchesReduce checks that every streaming reducer gives
// the value and gradients that Reduce gives on the materialised sub-loss.
func TestReduceStreamMatchesReduce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 12
	labels := make([]int, n)
	for i := range labels {
		labels[i] = rng.IntN(3)
	}
	b := reducers.Batch{N: n, Labels: labels}
	tests := []struct {
		name string
		r    reducers.Reducer
	}{
		{"Mean", reducers.NewMean()},
		{"Sum", reducers.NewSum()},
		{"AvgNonZero", reducers.NewAvgNonZero()},
		{"Threshold", reducers.NewThreshold(0.2, 0.9)},
		{"Divisor", reducers.NewDivisor()},
		{"ClassWeighted", reducers.NewClassWeighted([]float64{0.5, 2, 1})},
		{"Multiple", reducers.NewMultiple(map[string]reducers.Reducer{"loss": reducers.NewAvgNonZero()})},
	}
	for _, tc := range tests {
		for _, size := range []int{0, 1, 40} {
			for _, kind := range []reducers.Kind{reducers.Element, reducers.Triplet} {
				vals := make([]float64, size)
				idx := [][]int{make([]int, size), make([]int, size), make([]int, size)}
				for i := range vals {
					if rng.IntN(3) > 0 {
						vals[i] = rng.Float64()
					}
					for j := range idx {
						idx[j][i] = rng.IntN(n)
					}
				}
				if kind == reducers.Element {
					idx = idx[:1]
				}
				sl := reducers.SubLoss{Name: "loss", Values: vals, Indices: idx, Kind: kind, Divisor: 7, HasDivisor: true}
				want, err := reducers.Reduce(tc.r, []reducers.SubLoss{sl}, b)
				if err != nil {
					t.Fatal(err)
				}
				s := reducers.Stream{Name: "loss", Kind: kind, Divisor: 7, HasDivisor: true, Len: size,
					Each: func(yield func([]float64, int) error) error {
						for i := range vals {
							if err := yield(vals[i:i+1], idx[0][i]); err != nil {
								return err
							}
						}
						return nil
					}}
				got, grad, ok, err := reducers.ReduceStream(tc.r, s, b)
				if err != nil || !ok {
					t.Fatalf("%s: ok %v, err %v", tc.name, ok, err)
				}
				if err := fdiff.CompareSlices([]float64{got}, []float64{want.Loss}, 1e-12, 1e-15); err != nil {
					t.Errorf("%s/%d/%v value: %v", tc.name, size, kind, err)
				}
				g := make([]float64, size)
				for i, v := range vals {
					g[i] = grad(v, idx[0][i])
				}
				if err := fdiff.CompareSlices(g, want.Grads[0], 1e-12, 1e-15); err != nil {
					t.Errorf("%s/%d/%v gradient: %v", tc.name, size, kind, err)
				}
			}
		}
	}
}

func TestReduceStreamFallbackAndErrors(t *testing.T) {
	each := func(vals ...float64) func(func([]float64, int) error) error {
		return func(yield func([]float64, int) error) error {
			return yield(vals, 0)
		}
	}
	b := reducers.Batch{N: 1, Labels: []int{0}}
	if _, _, ok, err := reducers.ReduceStream(reducers.NewPerAnchor(), reducers.Stream{Name: "loss", Kind: reducers.Triplet, Len: 1, Each: each(1)}, b); ok || err != nil {
		t.Errorf("PerAnchor: ok %v err %v, want a fallback", ok, err)
	}
	tests := []struct {
		name     string
		r        reducers.Reducer
		s        reducers.Stream
		sentinel error
	}{
		{"nan", reducers.NewMean(), reducers.Stream{Name: "loss", Kind: reducers.Triplet, Len: 2, Each: each(1, math.NaN())}, gometric.ErrNonFinite},
		{"len", reducers.NewSum(), reducers.Stream{Name: "loss", Kind: reducers.Triplet, Len: 3, Each: each(1, 2)}, gometric.ErrShape},
		{"divisor", reducers.NewDivisor(), reducers.Stream{Name: "loss", Kind: reducers.Triplet, Len: 1, Each: each(1)}, gometric.ErrSetting},
		{"threshold", reducers.NewThreshold(math.Inf(-1), math.Inf(1)), reducers.Stream{Name: "loss", Kind: reducers.Triplet, Len: 1, Each: each(1)}, gometric.ErrSetting},
		{"already", reducers.NewMean(), reducers.Stream{Name: "loss", Kind: reducers.AlreadyReduced, Len: 1, Each: each(1)}, gometric.ErrSetting},
		{"weights", reducers.NewClassWeighted([]float64{1}), reducers.Stream{Name: "loss", Kind: reducers.Triplet, Len: 1, Each: each(1)}, gometric.ErrIndex},
	}
	for _, tc := range tests {
		bb := b
		if tc.name == "weights" {
			bb.Labels = []int{4}
		}
		_, _, _, err := reducers.ReduceStream(tc.r, tc.s, bb)
		if !errors.Is(err, tc.sentinel) {
			t.Errorf("%s: error %v, want %v", tc.name, err, tc.sentinel)
		}
	}
}
