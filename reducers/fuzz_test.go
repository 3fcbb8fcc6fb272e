package reducers_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/gometric/gometric/reducers"
)

// FuzzReduce feeds arbitrary values (NaN, ±Inf and PML's pos_inf
// included), indices (negative, out of range, the wrong count or length),
// kinds, batch sizes, labels and settings to every reducer: each call
// must return a finite value and a gradient of the right length, or an
// error, never panic.
func FuzzReduce(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint8(0), uint8(5), uint8(1), 0.3, 1.5, 2.0)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 239, 127}, uint8(1), uint8(3), uint8(2), 0.0, math.Inf(1), 0.0)
	f.Add([]byte{200, 1, 3, 3, 3, 3, 9, 9}, uint8(2), uint8(4), uint8(3), math.Inf(-1), math.Inf(1), -1.0)
	f.Add([]byte{7, 7, 7, 7, 7, 7, 7, 7, 0, 0, 0, 0, 0, 0, 248, 127}, uint8(3), uint8(2), uint8(0), math.NaN(), 1.0, math.NaN())
	f.Add([]byte{}, uint8(4), uint8(0), uint8(7), 0.0, 0.0, 1.0)
	f.Fuzz(func(t *testing.T, data []byte, kind, n, mode uint8, low, high, divisor float64) {
		k := reducers.Kind(int(kind%7) - 1) // includes invalid kinds -1 and 5
		bn := int(n%12) - 1                 // batch size -1..10
		if len(data) > 0 && data[0] >= 250 {
			bn = int(data[0]) * 1000 // a large batch, still cheap
		}
		// Values: whole float64s (any bit pattern) when mode says so,
		// small multiples of 1/8 otherwise; 0xff bytes give pos_inf.
		var vals []float64
		if mode&1 == 1 {
			for i := 0; i+8 <= len(data) && len(vals) < 24; i += 8 {
				vals = append(vals, math.Float64frombits(binary.LittleEndian.Uint64(data[i:])))
			}
		} else {
			for i := 0; i < len(data) && len(vals) < 24; i++ {
				if data[i] == 0xff {
					vals = append(vals, math.MaxFloat64)
				} else {
					vals = append(vals, float64(int8(data[i]))/8)
				}
			}
		}
		// Indices from the data bytes; their count and length follow mode.
		nIdx := []int{0, 1, 2, 3}[int(mode>>1)%4]
		length := len(vals)
		if mode&8 != 0 {
			length = (length + 1) / 2
		}
		var idx [][]int
		for j := 0; j < nIdx; j++ {
			s := make([]int, length)
			for i := range s {
				if len(data) > 0 {
					s[i] = int(int8(data[(i*3+j+1)%len(data)])) % 12
				}
			}
			idx = append(idx, s)
		}
		var labels []int
		if mode&16 == 0 && bn >= 0 && bn <= 1000 {
			labels = make([]int, bn)
			for i := range labels {
				if len(data) > 0 {
					labels[i] = int(data[i%len(data)]%5) - 1
				}
			}
		}
		l := reducers.SubLoss{Name: "loss", Values: vals, Indices: idx, Kind: k, Divisor: divisor, HasDivisor: mode&32 == 0}
		b := reducers.Batch{N: bn, Labels: labels}
		rs := []reducers.Reducer{
			reducers.NewMean(),
			reducers.NewSum(),
			reducers.NewAvgNonZero(),
			reducers.NewThreshold(low, high),
			reducers.NewDivisor(),
			reducers.NewClassWeighted([]float64{low, high, divisor}),
			reducers.NewClassWeighted([]float64{1, 2}),
			reducers.NewPerAnchor(),
			&reducers.PerAnchor{Reducer: reducers.NewThreshold(low, high)},
			&reducers.PerAnchor{Reducer: reducers.NewClassWeighted([]float64{0.5, 1, 2})},
			&reducers.PerAnchor{Reducer: reducers.NewDivisor()},
			&reducers.PerAnchor{Reducer: reducers.NewDoNothing()},
			reducers.NewMultiple(map[string]reducers.Reducer{"loss": reducers.NewSum()}),
			&reducers.Multiple{Default: reducers.NewPerAnchor()},
			reducers.NewDoNothing(),
		}
		other := reducers.SubLoss{Name: "other", Values: []float64{low}, Kind: reducers.AlreadyReduced}
		for _, r := range rs {
			v, g, err := r.ReduceOne(l, b)
			if err == nil {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("%T: value %v without error", r, v)
				}
				if len(g) != len(l.Values) {
					t.Fatalf("%T: %d gradient entries for %d values", r, len(g), len(l.Values))
				}
				for i, x := range g {
					if math.IsNaN(x) || math.IsInf(x, 0) {
						t.Fatalf("%T: gradient %d = %v without error", r, i, x)
					}
				}
			}
			out, err := reducers.Reduce(r, []reducers.SubLoss{l, other}, b)
			if err == nil && (math.IsNaN(out.Loss) || math.IsInf(out.Loss, 0) || len(out.Grads) != 2) {
				t.Fatalf("%T: Reduce returned %+v without error", r, out)
			}
			_ = reducers.Passthrough(r)
		}
	})
}
