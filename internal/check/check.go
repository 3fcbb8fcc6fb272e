// Package check validates inputs for the library's exported functions and
// builds the wrapped errors they return. Every message starts with the
// component's name (e.g. "distances.Lp") and names the offending value.
package check

import (
	"fmt"
	"math"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
)

// Matrix checks that m is a non-empty matrix of finite values. what names
// the argument in the message ("query", "ref", "weights").
func Matrix(component, what string, m *mat.Dense) error {
	if m == nil || m.IsEmpty() {
		return fmt.Errorf("%s: %s is empty: %w", component, what, gometric.ErrShape)
	}
	r, c := m.Dims()
	raw := m.RawMatrix()
	if raw.Stride == c && NonFinite(raw.Data[:r*c]) < 0 {
		return nil // contiguous and finite: one scan
	}
	for i := 0; i < r; i++ {
		row := raw.Data[i*raw.Stride : i*raw.Stride+c]
		if j := NonFinite(row); j >= 0 {
			return fmt.Errorf("%s: %s has %v at row %d, column %d: %w", component, what, row[j], i, j, gometric.ErrNonFinite)
		}
	}
	return nil
}

// NonFinite returns the index of the first NaN or ±Inf of xs, or -1.
func NonFinite(xs []float64) int {
	// v − v is 0 for a finite v and NaN otherwise, so a sum of such
	// differences is 0 exactly when all the values are finite. Blocks are
	// summed on four independent accumulators without a branch; only a
	// block whose sum is not 0 is searched value by value.
	const block = 512
	for base := 0; base < len(xs); base += block {
		x := xs[base:min(base+block, len(xs))]
		var s0, s1, s2, s3 float64
		i := 0
		for ; i+4 <= len(x); i += 4 {
			y := x[i : i+4 : i+4]
			s0 += y[0] - y[0]
			s1 += y[1] - y[1]
			s2 += y[2] - y[2]
			s3 += y[3] - y[3]
		}
		for ; i < len(x); i++ {
			s0 += x[i] - x[i]
		}
		if (s0+s1)+(s2+s3) == 0 {
			continue
		}
		for j, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return base + j
			}
		}
	}
	return -1
}

// SameCols checks that a and b have the same number of columns.
func SameCols(component, whatA, whatB string, a, b *mat.Dense) error {
	_, ca := a.Dims()
	_, cb := b.Dims()
	if ca != cb {
		return fmt.Errorf("%s: %s has %d columns but %s has %d: %w", component, whatA, ca, whatB, cb, gometric.ErrShape)
	}
	return nil
}

// SameShape checks that a and b have the same dimensions.
func SameShape(component, whatA, whatB string, a, b *mat.Dense) error {
	ra, ca := a.Dims()
	rb, cb := b.Dims()
	if ra != rb || ca != cb {
		return fmt.Errorf("%s: %s is %d×%d but %s is %d×%d: %w", component, whatA, ra, ca, whatB, rb, cb, gometric.ErrShape)
	}
	return nil
}

// Dims checks that m is exactly r×c.
func Dims(component, what string, m *mat.Dense, r, c int) error {
	if m == nil || m.IsEmpty() {
		return fmt.Errorf("%s: %s is empty, want %d×%d: %w", component, what, r, c, gometric.ErrShape)
	}
	mr, mc := m.Dims()
	if mr != r || mc != c {
		return fmt.Errorf("%s: %s is %d×%d, want %d×%d: %w", component, what, mr, mc, r, c, gometric.ErrShape)
	}
	return nil
}

// Floats checks that every value of xs is finite.
func Floats(component, what string, xs []float64) error {
	if i := NonFinite(xs); i >= 0 {
		return fmt.Errorf("%s: %s[%d] is %v: %w", component, what, i, xs[i], gometric.ErrNonFinite)
	}
	return nil
}

// Labels checks that labels has n entries.
func Labels(component, what string, labels []int, n int) error {
	if len(labels) != n {
		return fmt.Errorf("%s: %d %s for %d embeddings: %w", component, len(labels), what, n, gometric.ErrLabels)
	}
	return nil
}

// Indices checks that every index of idx lies in [0, n).
func Indices(component, what string, idx []int, n int) error {
	for i, v := range idx {
		if v < 0 || v >= n {
			return fmt.Errorf("%s: %s[%d] = %d is outside [0, %d): %w", component, what, i, v, n, gometric.ErrIndex)
		}
	}
	return nil
}

// Settingf returns an error wrapping gometric.ErrSetting.
func Settingf(component, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", component, fmt.Sprintf(format, args...), gometric.ErrSetting)
}

// Errorf returns an error for component wrapping sentinel.
func Errorf(component string, sentinel error, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %w", component, fmt.Sprintf(format, args...), sentinel)
}
