package regularizers_test

import (
	"fmt"

	"github.com/gometric/gometric/regularizers"
	"gonum.org/v1/gonum/mat"
)

// The mean L2 norm of the rows, and its gradient: each row's unit vector
// divided by the number of rows.
func ExampleLp() {
	w := mat.NewDense(2, 2, []float64{3, 4, 0, 2})
	v, grad, err := regularizers.NewLp().Compute(w)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.2f\n%.2f\n", v, mat.Formatted(grad))
	// Output:
	// 3.50
	// ⎡0.30  0.40⎤
	// ⎣0.00  0.50⎦
}

// SparseCenters is small when the centres of each class point in
// different directions.
func ExampleSparseCenters() {
	w := mat.NewDense(4, 2, []float64{
		1, 0, 0.8, 0.6, // class 0: centres 37° apart
		0, 1, 0, -1, // class 1: opposite centres
	})
	v, _, err := regularizers.NewSparseCenters(2, 2).Compute(w)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%.4f\n", v)
	// Output:
	// 0.6581
}
