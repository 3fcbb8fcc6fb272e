package gometric_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gometric/gometric"
)

func TestDenseFromRows(t *testing.T) {
	tests := []struct {
		name     string
		rows     [][]float64
		sentinel error
	}{
		{"ok", [][]float64{{1, 2}, {3, 4}}, nil},
		{"no rows", nil, gometric.ErrShape},
		{"empty row", [][]float64{{}}, gometric.ErrShape},
		{"ragged", [][]float64{{1, 2}, {3}}, gometric.ErrShape},
		{"nan", [][]float64{{1, math.NaN()}}, gometric.ErrNonFinite},
		{"inf", [][]float64{{1, 2}, {math.Inf(-1), 0}}, gometric.ErrNonFinite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := gometric.DenseFromRows(tc.rows)
			if tc.sentinel == nil {
				if err != nil {
					t.Fatal(err)
				}
				r, c := m.Dims()
				if r != len(tc.rows) || c != len(tc.rows[0]) || m.At(1, 0) != tc.rows[1][0] {
					t.Errorf("got %d×%d", r, c)
				}
				return
			}
			if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "gometric.DenseFromRows") {
				t.Errorf("error %v, want one wrapping %v", err, tc.sentinel)
			}
		})
	}
}

func ExampleDenseFromRows() {
	_, err := gometric.DenseFromRows([][]float64{{1, 2}, {3}})
	fmt.Println(err)
	fmt.Println(errors.Is(err, gometric.ErrShape))
	// Output:
	// gometric.DenseFromRows: row 1 has 1 values, row 0 has 2: bad shape
	// true
}

// FuzzDenseFromRows: any shape of input gives a matrix or an error.
func FuzzDenseFromRows(f *testing.F) {
	f.Add([]byte{2, 2, 2}, 1.5)
	f.Add([]byte{0}, math.NaN())
	f.Add([]byte{3, 1, 0}, 0.0)
	f.Fuzz(func(t *testing.T, lens []byte, v float64) {
		rows := make([][]float64, len(lens)%16)
		for i := range rows {
			rows[i] = make([]float64, int(lens[i])%8)
			for j := range rows[i] {
				rows[i][j] = v * float64(j+1)
			}
		}
		m, err := gometric.DenseFromRows(rows)
		if err == nil {
			r, c := m.Dims()
			if r != len(rows) || c != len(rows[0]) {
				t.Fatalf("shape %d×%d for %d rows", r, c, len(rows))
			}
		}
	})
}
