package tuples

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// extremeValues are ascending label values, from math.MinInt to
// math.MaxInt, so that a label's rank among them renames it in order.
var extremeValues = []int{math.MinInt, math.MinInt + 1, -1e18, -1, 0, 1, 1e18, math.MaxInt - 1, math.MaxInt}

// FuzzExtremeLabels: labels drawn among extreme values (math.MinInt,
// ±10^18, math.MaxInt, ...) group exactly as their ranks do — every
// function that groups labels gives the same result for both, with no
// panic and no allocation by the size of a label.
func FuzzExtremeLabels(f *testing.F) {
	f.Add([]byte{0, 8, 0, 8, 4}, []byte{8, 0, 3}, uint8(0), uint64(1))
	f.Add([]byte{1, 2, 3, 1, 2, 3, 7}, []byte{}, uint8(1), uint64(2))
	f.Add([]byte{8, 8, 8, 0}, []byte{0, 0, 8}, uint8(2), uint64(3))
	f.Fuzz(func(t *testing.T, lab, refb []byte, flags uint8, seed uint64) {
		rank := func(bs []byte) []int {
			if len(bs) > 24 {
				bs = bs[:24]
			}
			out := make([]int, len(bs))
			for i, b := range bs {
				out[i] = int(b) % len(extremeValues)
			}
			return out
		}
		small, smallRef := rank(lab), rank(refb)
		self := flags&1 != 0
		if self {
			smallRef = nil
		}
		values := func(r []int) []int {
			if r == nil {
				return nil
			}
			out := make([]int, len(r))
			for i, k := range r {
				out[i] = extremeValues[k]
			}
			return out
		}
		ext, extRef := values(small), values(smallRef)
		perAnchor := int(flags>>1) % 4
		type result struct {
			v      any
			failed bool
		}
		run := func(l, r []int) []result {
			ref := r
			if self {
				ref = l
			}
			var out []result
			add := func(v any, err error) { out = append(out, result{v, err != nil}) }
			add(SameLabel(l, ref), nil)
			add(CountSameLabel(l, ref), nil)
			add(AllPairs(l, r, self))
			add(CountAllTriplets(l, r, self))
			add(AllTriplets(l, r, self))
			add(RandomTriplets(l, r, self, perAnchor, nil, rand.New(rand.NewPCG(seed, 1))))
			add(ToTriplets(nil, l, r, self, perAnchor, rand.New(rand.NewPCG(seed, 2))))
			a, p, err := PosPairsWithUniqueLabels(nil, l)
			add([][]int{a, p}, err)
			return out
		}
		want, got := run(small, smallRef), run(ext, extRef)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("labels %v, ref %v (self %v) give\n%+v\nranks %v, %v give\n%+v", ext, extRef, self, got, small, smallRef, want)
		}
	})
}
