package tuples

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

// TestRunawaySizes: a setting (a count per anchor, a memory size, a batch
// size) never sizes an allocation beyond what the input holds or the
// package's documented limits. Each case fails fast with an error that
// wraps the sentinel, names the function and the value, having allocated
// little (the reproduction: RandomTriplets with 10^8 per anchor
// asked for 19 GB).
func TestRunawaySizes(t *testing.T) {
	labels12 := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}
	w12 := mat.NewDense(12, 12, nil)
	for i := range 12 {
		for j := range 12 {
			w12.Set(i, j, 1)
		}
	}
	big := make([]int, 3000) // 3000 rows, 2 classes: 9·10^6 pairs
	for i := range big {
		big[i] = i % 2
	}
	cases := []struct {
		name string
		call func() error
		want error
		text string // the value the error must name
	}{
		{"RandomTriplets 1e8 per anchor (the issue)", func() error {
			_, err := RandomTriplets(labels12, nil, true, 1e8, nil, seeded(1))
			return err
		}, gometric.ErrSetting, "100000000"},
		{"RandomTriplets 1e8 per anchor, weighted", func() error {
			_, err := RandomTriplets(labels12, nil, true, 1e8, w12, seeded(1))
			return err
		}, gometric.ErrSetting, "100000000"},
		{"RandomTriplets MaxInt per anchor", func() error {
			_, err := RandomTriplets(labels12, nil, true, math.MaxInt, nil, seeded(1))
			return err
		}, gometric.ErrSetting, "9223372036854775807"},
		{"RandomTriplets MaxInt/2 per anchor, ref", func() error {
			_, err := RandomTriplets(labels12, []int{0, 1}, false, math.MaxInt/2, nil, nil)
			return err
		}, gometric.ErrSetting, "4611686018427387903"},
		{"RandomTriplets just above the floor", func() error {
			// 8 anchors with a positive and a negative: 8·k > 2^22.
			_, err := RandomTriplets(labels12[:8], nil, true, minDrawBound/8+1, nil, seeded(1))
			return err
		}, gometric.ErrSetting, "524289"},
		{"RandomTriplets at the floor", func() error {
			_, err := RandomTriplets(labels12[:8], nil, true, minDrawBound/8, nil, seeded(1))
			return err
		}, nil, ""},
		{"RandomTriplets perAnchor = M on a large batch", func() error {
			// N·M = 9·10^6 triplets > 2^22: allowed, as N·M bounds it.
			_, err := RandomTriplets(big, nil, true, len(big), nil, seeded(1))
			return err
		}, nil, ""},
		{"ToTriplets 1e8 per anchor", func() error {
			_, err := ToTriplets(nil, labels12, nil, true, 1e8, seeded(1))
			return err
		}, gometric.ErrSetting, "100000000"},
		{"AllTriplets beyond 2^28", func() error {
			// 2·(3000·1500·1499) ≈ 1.3·10^10 triplets.
			_, err := AllTriplets(append(append([]int{}, big...), big...), nil, true)
			return err
		}, gometric.ErrShape, "268435456"},
		{"ToTriplets all beyond 2^28", func() error {
			_, err := ToTriplets(nil, append(append([]int{}, big...), big...), nil, true, AllPerAnchor, nil)
			return err
		}, gometric.ErrShape, "268435456"},
		{"RemoveSelfComparisons refSize MaxInt", func() error {
			_, err := RemoveSelfComparisons(&Pairs{A1: []int{0}, P: []int{5}, A2: []int{}, N: []int{}}, []int{4, 5}, math.MaxInt, false)
			return err
		}, nil, ""},
		{"RemoveSelfComparisons refSize 1e18", func() error {
			_, err := RemoveSelfComparisons(&Triplets{A: []int{1}, P: []int{1e17}, N: []int{2}}, []int{1e17}, 1e18, false)
			return err
		}, nil, ""},
		{"Weights n = 1e18", func() error {
			_, err := Weights(nil, 1e18, false)
			return err
		}, gometric.ErrShape, "1000000000000000000"},
		{"Weights n = MaxInt with tuples", func() error {
			_, err := Weights(&Pairs{A1: []int{0}, P: []int{1}, A2: []int{}, N: []int{}}, math.MaxInt, true)
			return err
		}, gometric.ErrShape, "9223372036854775807"},
		{"Weights n at the limit", func() error {
			_, err := Weights(nil, maxBatch, false)
			return err
		}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := testkit.Allocated(func() { err = tc.call() })
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want one wrapping %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "tuples.") || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("error %q does not name the function and the value %s", err, tc.text)
			}
			if alloc > 64<<20 {
				t.Errorf("the refused call allocated %d MiB", alloc>>20)
			}
		})
	}
}

// TestRemoveSelfComparisonsHugeRefSize: the set used for a huge refSize
// gives the table's answer.
func TestRemoveSelfComparisonsHugeRefSize(t *testing.T) {
	trip := &Triplets{A: []int{0, 1, 1, 2}, P: []int{4, 5, 4, 3}, N: []int{0, 1, 2, 3}}
	pairs := &Pairs{A1: []int{0, 1, 1, 2}, P: []int{4, 5, 4, 3}, A2: []int{0}, N: []int{9}}
	for _, tu := range []Tuples{trip, pairs} {
		for _, subset := range []bool{false, true} {
			want, err := RemoveSelfComparisons(tu, []int{4, 5, 6}, 10, subset)
			if err != nil {
				t.Fatal(err)
			}
			for _, size := range []int{1 << 20, 1e18, math.MaxInt} {
				got, err := RemoveSelfComparisons(tu, []int{4, 5, 6}, size, subset)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("refSize %d, subset %v: %+v, want %+v (refSize 10)", size, subset, got, want)
				}
			}
		}
	}
}

// TestExtremeLabels: labels such as 10^18, math.MaxInt and math.MinInt
// give exactly the results of small labels in the same order (PML
// compares labels; it never indexes by them), in every function that
// groups labels.
func TestExtremeLabels(t *testing.T) {
	small := []int{0, 1, 2, 0, 1, 2, 0, 1, 5, 3, 4, 5, 2}
	ext := testkit.Relabel(small, testkit.ExtremeLabels())
	// A reference set of other labels, with a label of the query and two
	// beyond.
	smallRef := []int{5, 0, 0, 4, 3, 3}
	extRef := testkit.Relabel(smallRef, testkit.ExtremeLabels())
	for _, c := range []struct {
		name string
		f    func(labels, ref []int) (any, error)
	}{
		{"SameLabel", func(l, r []int) (any, error) { return SameLabel(l, r), nil }},
		{"CountSameLabel", func(l, r []int) (any, error) { return CountSameLabel(l, r), nil }},
		{"Masks self", func(l, _ []int) (any, error) { m, d, err := Masks(l, nil, true); return [][]bool{m, d}, err }},
		{"AllPairs self", func(l, _ []int) (any, error) { return AllPairs(l, nil, true) }},
		{"AllPairs ref", func(l, r []int) (any, error) { return AllPairs(l, r, false) }},
		{"AllTriplets self", func(l, _ []int) (any, error) { return AllTriplets(l, nil, true) }},
		{"AllTriplets ref", func(l, r []int) (any, error) { return AllTriplets(l, r, false) }},
		{"CountAllTriplets", func(l, r []int) (any, error) { return CountAllTriplets(l, r, false) }},
		{"RandomTriplets self", func(l, _ []int) (any, error) { return RandomTriplets(l, nil, true, 3, nil, seeded(7)) }},
		{"RandomTriplets ref", func(l, r []int) (any, error) { return RandomTriplets(l, r, false, 0, nil, seeded(7)) }},
		{"ToTriplets random", func(l, r []int) (any, error) { return ToTriplets(nil, l, r, false, 2, seeded(7)) }},
		{"PosPairsWithUniqueLabels", func(l, _ []int) (any, error) {
			a, p, err := PosPairsWithUniqueLabels(nil, l)
			return [][]int{a, p}, err
		}},
		{"EachAnchor", func(l, r []int) (any, error) {
			var out [][]int
			err := EachAnchor(l, r, false, func(a int, pos, neg []int) error {
				out = append(out, append(append([]int{a}, pos...), neg...))
				return nil
			})
			return out, err
		}},
	} {
		want, err := c.f(small, smallRef)
		if err != nil {
			t.Fatalf("%s, small labels: %v", c.name, err)
		}
		got, err := c.f(ext, extRef)
		if err != nil {
			t.Fatalf("%s, extreme labels: %v", c.name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: extreme labels give %v, small ones %v", c.name, got, want)
		}
	}
}
