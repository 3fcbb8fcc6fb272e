package gometric_test

import (
	"math"
	"testing"

	"github.com/gometric/gometric"
)

// TestL2NormalizeExtreme: Matrix.L2Normalize gives unit rows for float32
// rows of any magnitude (float32's squares, summed in float64, can neither
// overflow nor underflow; a norm beyond float32's range is divided in
// float64), keeps torch's rule below 1e-12 (the row divided by 1e-12), a
// zero row zero, and the direction of the row.
func TestL2NormalizeExtreme(t *testing.T) {
	base := []float32{3, -4, 0, 12}
	for _, s := range []float64{1, 1e30, 2.5e37, 1e-30, 1e-38, 1e-42, 0} {
		row := make([]float32, len(base))
		for j, v := range base {
			row[j] = float32(float64(v) * s)
		}
		m := gometric.Matrix{Rows: 1, Cols: len(row), Data: append([]float32(nil), row...)}
		m.L2Normalize()
		var n float64
		for _, v := range row {
			n += float64(v) * float64(v)
		}
		n = math.Sqrt(n)
		for j, v := range m.Data {
			want := float64(row[j]) / math.Max(n, 1e-12)
			if math.IsNaN(float64(v)) || math.Abs(float64(v)-want) > 1e-6*math.Max(math.Abs(want), 1e-37) {
				t.Errorf("scale %v: entry %d is %v, want %v", s, j, v, want)
			}
		}
	}
	// Entries near float32's largest value: the norm exceeds its range.
	big := float32(math.MaxFloat32)
	m := gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{big, big, -big, big / 2}}
	m.L2Normalize()
	want := []float64{math.Sqrt2 / 2, math.Sqrt2 / 2, -2 / math.Sqrt(5), 1 / math.Sqrt(5)}
	for j, v := range m.Data {
		if math.Abs(float64(v)-want[j]) > 1e-6 {
			t.Errorf("entry %d is %v, want %v", j, v, want[j])
		}
	}
}
