package losses

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMSNegVec checks the vector negatives' pass of MultiSimilarity.row
// against the scalar loop bit for bit: values, maximum and count, for
// rows of every length mod 4 and labels with runs and extremes.
func TestMSNegVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for it := range 300 {
		n := rng.IntN(40)
		s, ref := make([]float64, n), make([]int, n)
		for j := range s {
			s[j] = 2*rng.Float64() - 1
			ref[j] = rng.IntN(4)
			if it%7 == 0 {
				ref[j] = []int{math.MinInt, math.MaxInt, -1}[rng.IntN(3)]
			}
		}
		li := 1
		if n > 0 {
			li = ref[rng.IntN(n)]
		}
		shift, bn := rng.NormFloat64(), 50*rng.NormFloat64()
		want := make([]float64, n)
		wmx, wneg := math.Inf(-1), 0
		var wsame []int
		for j, v := range s {
			x := math.Inf(-1)
			if ref[j] != li {
				x = bn * (v - shift)
				if x > wmx {
					wmx = x
				}
				wneg++
			} else {
				wsame = append(wsame, j)
			}
			want[j] = x
		}
		got := make([]float64, n)
		done, mx, nNeg, same := msNegVec(s, ref, li, shift, bn, got, make([]int, 0, n))
		for j := done; j < n; j++ {
			x := math.Inf(-1)
			if ref[j] != li {
				x = bn * (s[j] - shift)
				if x > mx {
					mx = x
				}
				nNeg++
			} else {
				same = append(same, j)
			}
			got[j] = x
		}
		if !slices.Equal(same, wsame) {
			t.Fatalf("it %d: same-label indices %v, want %v", it, same, wsame)
		}
		if mx != wmx || nNeg != wneg {
			t.Fatalf("it %d: max, count = %v, %d; want %v, %d", it, mx, nNeg, wmx, wneg)
		}
		for j := range got {
			if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
				t.Fatalf("it %d: entry %d = %v, want %v", it, j, got[j], want[j])
			}
		}
	}
}
