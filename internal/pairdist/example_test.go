package pairdist_test

import (
	"fmt"
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/pairdist"
	"gonum.org/v1/gonum/mat"
)

// A session computes the distance matrix once and back-propagates through
// it, here for a gradient given by its non-zero entries.
func ExampleOpen() {
	x := mat.NewDense(3, 2, []float64{3, 0, 0, 4, 0, -2})
	s, ok, err := pairdist.Open(distances.NewLp(), x, nil)
	if err != nil || !ok {
		fmt.Println(ok, err)
		return
	}
	defer s.Release()
	fmt.Printf("%.4f\n", mat.Formatted(s.Matrix()))
	dx := mat.NewDense(3, 2, nil)
	// d(loss)/d(entry (0, 1)) = 1: on the symmetric matrix it stands for
	// (1, 0) too.
	if err := s.BackwardEntries([]pairdist.Entry{{I: 0, J: 1, G: 1}}, dx, nil); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Symmetric())
	for i := range 3 {
		// Rounded, and + 0 to print -0 as 0.
		r := func(v float64) float64 { return math.Round(v*1e4)/1e4 + 0 }
		fmt.Printf("%.4f %.4f\n", r(dx.At(i, 0)), r(dx.At(i, 1)))
	}
	// Output:
	// ⎡0.0000  1.4142  1.4142⎤
	// ⎢1.4142  0.0000  2.0000⎥
	// ⎣1.4142  2.0000  0.0000⎦
	// true
	// 0.0000 -0.2357
	// -0.1768 0.0000
	// 0.0000 0.0000
}
