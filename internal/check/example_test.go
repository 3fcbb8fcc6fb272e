package check_test

import (
	"errors"
	"fmt"
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"gonum.org/v1/gonum/mat"
)

// Matrix names the component, the argument and the offending value.
func ExampleMatrix() {
	err := check.Matrix("distances.Lp", "query", mat.NewDense(1, 2, []float64{1, math.NaN()}))
	fmt.Println(err)
	fmt.Println(errors.Is(err, gometric.ErrNonFinite))
	// Output:
	// distances.Lp: query has NaN at row 0, column 1: non-finite value
	// true
}
