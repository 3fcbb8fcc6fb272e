package fdiff_test

import (
	"fmt"

	"github.com/gometric/gometric/internal/fdiff"
	"gonum.org/v1/gonum/mat"
)

// Gradient approximates d(sum of squares)/dx = 2x by central differences.
func ExampleGradient() {
	x := mat.NewDense(1, 2, []float64{1, -3})
	g := fdiff.Gradient(func() float64 { return x.At(0, 0)*x.At(0, 0) + x.At(0, 1)*x.At(0, 1) }, x, 1e-6)
	fmt.Println(fdiff.Compare(g, mat.NewDense(1, 2, []float64{2, -6}), 1e-8, 1e-8))
	// Output:
	// <nil>
}
