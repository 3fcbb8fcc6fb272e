package gometric_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gometric/gometric"
)

// Validate finds a non-finite value wherever it is (in the four-wide
// sums and in the tail), names the first, and accepts every finite
// value, the largest and smallest included.
func TestValidateNonFinite(t *testing.T) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for _, cols := range []int{1, 3, 4, 5, 9} {
		for rows := 1; rows <= 3; rows++ {
			n := rows * cols
			m := gometric.Matrix{Rows: rows, Cols: cols, Data: make([]float32, n)}
			for i := range m.Data {
				m.Data[i] = []float32{0, -1, math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32}[i%5]
			}
			if err := m.Validate("c", "m"); err != nil {
				t.Fatalf("%dx%d finite: %v", rows, cols, err)
			}
			for pos := range n {
				for _, b := range bad {
					x := m.Clone()
					x.Data[pos] = b
					if pos+1 < n {
						x.Data[n-1] = bad[0] // a later one is not the one named
					}
					err := x.Validate("c", "m")
					want := fmt.Sprintf("has %v at row %d, column %d", b, pos/cols, pos%cols)
					if !errors.Is(err, gometric.ErrNonFinite) || !strings.Contains(err.Error(), want) {
						t.Errorf("%dx%d, %v at %d: %v, want %q", rows, cols, b, pos, err, want)
					}
				}
			}
		}
	}
}
