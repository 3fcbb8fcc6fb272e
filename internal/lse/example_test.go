package lse_test

import (
	"fmt"

	"github.com/gometric/gometric/internal/lse"
)

// Row is PML's masked logsumexp: the masked entry is ignored and a 0 is
// appended (add_one), so the result is log(1 + e^0 + e^0) = log 3.
func ExampleRow() {
	w := make([]float64, 3)
	v := lse.Row([]float64{0, 0, 100}, []bool{true, true, false}, true, w)
	fmt.Printf("%.4f %.4f\n", v, w)
	// Output:
	// 1.0986 [0.3333 0.3333 0.0000]
}
