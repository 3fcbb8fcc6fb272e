package miners

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortKeyed compares the specialised sort with slices.SortFunc on
// random keys with many ties, sorted and reversed runs, and the
// heapsort fallback.
func TestSortKeyed(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cmp := func(a, b keyed) int {
		switch {
		case a.less(b):
			return -1
		case b.less(a):
			return 1
		}
		return 0
	}
	for it := range 500 {
		n := rng.IntN(300)
		if it%5 == 0 {
			n = radixMin + rng.IntN(3000)
		}
		ks := make([]keyed, n)
		for i := range ks {
			switch it % 7 {
			case 6:
				// Infinities and zeros of both signs among finite values.
				vals := []float64{math.Inf(-1), math.Inf(1), 0, math.Copysign(0, -1), -1.5, 2.25}
				ks[i] = keyed{key: floatKey(vals[rng.IntN(len(vals))] * float64(1+rng.IntN(2))), pos: i}
			case 4:
				// Similarities: most keys in a few binades.
				ks[i] = keyed{key: floatKey(0.1 * rng.NormFloat64()), pos: i}
			case 5:
				// Skewed: one far key, the rest in one bucket.
				ks[i] = keyed{key: floatKey(1 + float64(rng.IntN(100))*0x1p-40), pos: i}
				if i == 0 {
					ks[i].key = floatKey(1e6)
				}
			case 0:
				ks[i] = keyed{key: rng.Uint64N(4), pos: i}
			case 1:
				ks[i] = keyed{key: uint64(i), pos: rng.IntN(3)}
			case 2:
				ks[i] = keyed{key: uint64(n - i), pos: i}
			default:
				ks[i] = keyed{key: rng.Uint64(), pos: i}
			}
		}
		want := slices.Clone(ks)
		slices.SortFunc(want, cmp)
		got := slices.Clone(ks)
		sortKeyed(got)
		if !slices.Equal(got, want) {
			t.Fatalf("iteration %d: sortKeyed differs", it)
		}
		if n > 0 && slices.IsSortedFunc(ks, func(a, b keyed) int { return a.pos - b.pos }) {
			got = slices.Clone(ks)
			radixSort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("iteration %d: radixSort differs", it)
			}
		}
		if n > 0 {
			var sc keyedScratch
			got = slices.Clone(ks)
			sc.bucketSort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("iteration %d: bucketSort differs", it)
			}
		}
		got = slices.Clone(ks)
		introsort(got, 0) // heapsort path
		if !slices.Equal(got, want) {
			t.Fatalf("iteration %d: heapsort differs", it)
		}
	}
	// floatKey preserves the order of floats, ±0 alike.
	vals := []float64{math.Inf(-1), -math.MaxFloat64, -1, -math.SmallestNonzeroFloat64, math.Copysign(0, -1), 0, math.SmallestNonzeroFloat64, 1, math.MaxFloat64, math.Inf(1)}
	for i := 1; i < len(vals); i++ {
		a, b := floatKey(vals[i-1]), floatKey(vals[i])
		if (vals[i-1] < vals[i]) != (a < b) || (vals[i-1] == vals[i]) != (a == b) {
			t.Errorf("floatKey order wrong between %v and %v", vals[i-1], vals[i])
		}
	}
}
