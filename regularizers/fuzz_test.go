package regularizers_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/gometric/gometric/regularizers"
	"gonum.org/v1/gonum/mat"
)

// FuzzCompute feeds arbitrary matrices (NaN and Inf included) and settings
// to every regularizer: each call must return a finite value and gradient
// or an error, never panic.
func FuzzCompute(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(2), 2.0, 1.0, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	f.Add(uint8(1), uint8(1), uint8(1), 1.0, 2.0, []byte{0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(6), uint8(3), uint8(3), 0.5, 0.0, []byte{255, 255, 255, 255, 255, 255, 255, 127})
	f.Fuzz(func(t *testing.T, rows, cols, classes uint8, p, power float64, data []byte) {
		r, c := int(rows%12)+1, int(cols%6)+1
		vals := make([]float64, r*c)
		for i := range vals {
			if len(data) >= 8*(i+1) {
				vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:]))
			} else if len(data) > 0 {
				vals[i] = float64(int8(data[i%len(data)])) / 16
			}
		}
		x := mat.NewDense(r, c, vals)
		k := int(classes%4) + 1
		regs := []regularizers.Regularizer{
			&regularizers.Lp{P: p, Power: power},
			regularizers.NewZeroMean(),
			regularizers.NewCenterInvariant(),
			regularizers.NewRegularFace(),
			regularizers.NewSparseCenters(max(r/k, 1), k),
		}
		for _, reg := range regs {
			v, g, err := reg.Compute(x)
			if err != nil {
				continue
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%T: value %v without error", reg, v)
			}
			gr, gc := g.Dims()
			for i := 0; i < gr; i++ {
				for j := 0; j < gc; j++ {
					if gv := g.At(i, j); math.IsNaN(gv) || math.IsInf(gv, 0) {
						t.Fatalf("%T: gradient (%d,%d) = %v without error", reg, i, j, gv)
					}
				}
			}
		}
	})
}
