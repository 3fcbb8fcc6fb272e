package lse

import (
	"math"
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
