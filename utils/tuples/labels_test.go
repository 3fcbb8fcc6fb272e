package tuples

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSameLabel compares SameLabel and CountSameLabel with the label
// equality matrix, for small label ranges (the counting sort), huge and
// negative labels (the map) and empty inputs.
func TestSameLabel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := func(n, span, off int) []int {
		out := make([]int, n)
		for i := range out {
			out[i] = off + rng.IntN(span)
		}
		return out
	}
	tests := []struct {
		name              string
		labels, refLabels []int
	}{
		{"empty", nil, nil},
		{"no refs", []int{1, 2}, nil},
		{"no queries", nil, []int{1, 2}},
		{"one class", []int{3, 3, 3}, []int{3, 3}},
		{"disjoint", []int{0, 1}, []int{2, 3}},
		{"small range", random(40, 5, 0), random(60, 5, 0)},
		{"negative", random(30, 7, -3), random(25, 7, -3)},
		{"huge labels", []int{math.MaxInt, math.MinInt, 1e18, 0, 1e18}, []int{1e18, math.MinInt, 7, math.MaxInt, 1e18}},
		{"sparse", []int{0, 1 << 40, 5}, []int{1 << 40, 0, 0}},
	}
	for _, tc := range tests {
		same := SameLabel(tc.labels, tc.refLabels)
		if len(same) != len(tc.labels) {
			t.Fatalf("%s: %d lists for %d labels", tc.name, len(same), len(tc.labels))
		}
		total := 0
		for i, l := range tc.labels {
			var want []int
			for j, r := range tc.refLabels {
				if r == l {
					want = append(want, j)
				}
			}
			if !slices.Equal(same[i], want) {
				t.Errorf("%s: label %d (%d): %v, want %v", tc.name, i, l, same[i], want)
			}
			total += len(want)
		}
		if got := CountSameLabel(tc.labels, tc.refLabels); got != total {
			t.Errorf("%s: CountSameLabel = %d, want %d", tc.name, got, total)
		}
	}
}

// TestSameLabelRandom checks SameLabel and CountSameLabel against a brute force, with
// small label ranges (counting sort), wide ones (map) and labels absent
// from the reference.
func TestSameLabelRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, span := range []int{1, 3, 40, 1 << 30} {
		for range 20 {
			labels, ref := make([]int, rng.IntN(30)), make([]int, rng.IntN(30))
			for i := range labels {
				labels[i] = rng.IntN(span) - span/2
			}
			for j := range ref {
				ref[j] = rng.IntN(span) - span/2
			}
			same := SameLabel(labels, ref)
			total := 0
			for i, l := range labels {
				var want []int
				for j, r := range ref {
					if r == l {
						want = append(want, j)
					}
				}
				if !slices.Equal(same[i], want) {
					t.Fatalf("span %d: same[%d] = %v, want %v", span, i, same[i], want)
				}
				total += len(want)
			}
			if got := CountSameLabel(labels, ref); got != total {
				t.Fatalf("span %d: CountSameLabel %d, want %d", span, got, total)
			}
		}
	}
}
