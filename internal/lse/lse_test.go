package lse

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestRow(t *testing.T) {
	tests := []struct {
		name   string
		x      []float64
		keep   []bool
		addOne bool
		want   float64
	}{
		{"plain", []float64{1, 2, 3}, nil, false, math.Log(math.Exp(1) + math.Exp(2) + math.Exp(3))},
		{"addOne", []float64{1, 2}, nil, true, math.Log(1 + math.Exp(1) + math.Exp(2))},
		{"masked", []float64{1, 50, 3}, []bool{true, false, true}, false, math.Log(math.Exp(1) + math.Exp(3))},
		{"none kept", []float64{1, 2}, []bool{false, false}, true, 0},
		{"large", []float64{1000, 1000}, nil, true, 1000 + math.Log(2)},
		{"very negative with one", []float64{-1000}, nil, true, math.Log1p(math.Exp(-1000))},
	}
	for _, tc := range tests {
		w := make([]float64, len(tc.x))
		got := Row(tc.x, tc.keep, tc.addOne, w)
		if math.Abs(got-tc.want) > 1e-12*math.Max(1, math.Abs(tc.want)) {
			t.Errorf("%s: got %v want %v", tc.name, got, tc.want)
		}
		// Finite-difference gradient.
		for i := range tc.x {
			h := 1e-6
			xp := append([]float64(nil), tc.x...)
			xm := append([]float64(nil), tc.x...)
			xp[i] += h
			xm[i] -= h
			num := (Row(xp, tc.keep, tc.addOne, nil) - Row(xm, tc.keep, tc.addOne, nil)) / (2 * h)
			if math.Abs(num-w[i]) > 1e-6 {
				t.Errorf("%s: d/dx[%d] = %v, finite difference %v", tc.name, i, w[i], num)
			}
		}
	}
}

// TestRowPaths: the unmasked path with weights, the chunked path without
// them, an all-true mask and w aliasing x all give the same bits.
func TestRowPaths(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 3, 4, 63, 64, 65, 200} {
		for _, addOne := range []bool{false, true} {
			x := make([]float64, n)
			for i := range x {
				x[i] = 40*rng.NormFloat64() - 20
			}
			if n > 2 {
				x[1] = math.Inf(-1)
			}
			keep := make([]bool, n)
			for i := range keep {
				keep[i] = true
			}
			w1, w2 := make([]float64, n), make([]float64, n)
			v1 := Row(x, nil, addOne, w1)
			v2 := Row(x, keep, addOne, w2)
			v3 := Row(x, nil, addOne, nil)
			v4 := Row(x, keep, addOne, nil)
			alias := append([]float64(nil), x...)
			v5 := Row(alias, nil, addOne, alias)
			if v1 != v2 || v1 != v3 || v1 != v4 || v1 != v5 {
				t.Errorf("n=%d addOne=%v: %v %v %v %v %v", n, addOne, v1, v2, v3, v4, v5)
			}
			for i := range w1 {
				if w1[i] != w2[i] || w1[i] != alias[i] {
					t.Fatalf("n=%d addOne=%v: weight %d: %v %v %v", n, addOne, i, w1[i], w2[i], alias[i])
				}
			}
		}
	}
}
