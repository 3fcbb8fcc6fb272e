package streamband_test

import (
	"fmt"

	"github.com/gometric/gometric/internal/streamband"
)

// The values above 0, counted and summed without a branch per value.
func ExampleMask() {
	vals := []float64{0, 0.5, -1, 1.5}
	var n uint64
	var sum float64
	for _, v := range vals {
		k := streamband.Bit(v > 0)
		n += k
		sum += streamband.Mask(v, k)
	}
	fmt.Println(n, sum)
	// Output:
	// 2 2
}
