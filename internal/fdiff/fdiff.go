// Package fdiff checks analytic gradients against central finite
// differences. It is used by the tests of every differentiable component.
package fdiff

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// Gradient returns the central finite-difference gradient of f at x with
// step h. x is restored before Gradient returns.
func Gradient(f func() float64, x *mat.Dense, h float64) *mat.Dense {
	r, c := x.Dims()
	out := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			v := x.At(i, j)
			x.Set(i, j, v+h)
			fp := f()
			x.Set(i, j, v-h)
			fm := f()
			x.Set(i, j, v)
			out.Set(i, j, (fp-fm)/(2*h))
		}
	}
	return out
}

// Compare returns an error naming the first entry where got and want differ
// by more than atol + rtol·|want|.
func Compare(got, want *mat.Dense, rtol, atol float64) error {
	gr, gc := got.Dims()
	wr, wc := want.Dims()
	if gr != wr || gc != wc {
		return fmt.Errorf("shape %d×%d, want %d×%d", gr, gc, wr, wc)
	}
	for i := 0; i < gr; i++ {
		for j := 0; j < gc; j++ {
			g, w := got.At(i, j), want.At(i, j)
			if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
				return fmt.Errorf("entry (%d,%d): got %.12g, want %.12g (diff %.3g)", i, j, g, w, math.Abs(g-w))
			}
		}
	}
	return nil
}

// CompareSlices is Compare for vectors.
func CompareSlices(got, want []float64, rtol, atol float64) error {
	if len(got) != len(want) {
		return fmt.Errorf("length %d, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if !(math.Abs(g-w) <= atol+rtol*math.Abs(w)) {
			return fmt.Errorf("entry %d: got %.12g, want %.12g (diff %.3g)", i, g, w, math.Abs(g-w))
		}
	}
	return nil
}
