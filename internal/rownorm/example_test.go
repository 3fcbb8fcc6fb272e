package rownorm_test

import (
	"fmt"

	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

// Normalize divides every row by its p-norm, as torch's F.normalize.
func ExampleNormalize() {
	y, norms := rownorm.Normalize(mat.NewDense(2, 2, []float64{3, 4, 1, 1}), 1)
	fmt.Println(norms)
	fmt.Printf("%.3f\n", mat.Formatted(y))
	// Output:
	// [7 2]
	// ⎡0.429  0.571⎤
	// ⎣0.500  0.500⎦
}
