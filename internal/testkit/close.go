package testkit

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Close reports whether got is within atol + rtol·|want| of want. NaN is
// close to nothing; use math.IsNaN first where a NaN is expected.
func Close(got, want, rtol, atol float64) bool {
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

// CloseSlices reports whether got and want have the same length and each
// got[i] is Close to want[i].
func CloseSlices(got, want []float64, rtol, atol float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !Close(got[i], want[i], rtol, atol) {
			return false
		}
	}
	return true
}

// MulElem returns the element-wise product of a and b in a new matrix.
func MulElem(a, b mat.Matrix) *mat.Dense {
	var out mat.Dense
	out.MulElem(a, b)
	return &out
}
