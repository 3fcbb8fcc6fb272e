package streamband_test

import (
	"fmt"

	"github.com/gometric/gometric/internal/streamband"
	"github.com/gometric/gometric/reducers"
)

// AvgNonZero's plan: count and sum the values above 0, then the mean of
// those is the loss and 1/count the gradient of each of them.
func ExamplePlanFor() {
	vals := []float64{0, 0.5, 0, 1.5}
	s := reducers.Stream{Name: "loss", Kind: reducers.Element, Len: len(vals),
		Each: func(yield func([]float64, int) error) error { return yield(vals, 0) }}
	p, ok := streamband.PlanFor(reducers.NewAvgNonZero(), s)
	fmt.Println(ok, p.Component)
	n, sum := 0, 0.0
	for _, v := range vals {
		if v > p.Low && v < p.High {
			n, sum = n+1, sum+v
		}
	}
	v, band := p.Finish(n, sum)
	fmt.Println(v, band.At(0), band.At(1.5))
	// Output:
	// true reducers.AvgNonZero
	// 1 0 0.5
}
