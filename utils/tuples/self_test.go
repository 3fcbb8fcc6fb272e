package tuples

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
)

func TestRemoveSelfComparisons(t *testing.T) {
	tests := []struct {
		name     string
		t        Tuples
		idx      []int
		refSize  int
		isSubset bool
		want     Tuples
	}{
		{"triplets, no wrap", &Triplets{A: ints(0, 0, 1, 2), P: ints(3, 4, 4, 9), N: ints(7, 7, 7, 7)},
			[]int{3, 4, 5}, 10, false,
			&Triplets{A: ints(0, 2), P: ints(4, 9), N: ints(7, 7)}},
		{"pairs, wrap; negatives untouched", &Pairs{A1: ints(2, 3, 0, 1, 0), P: ints(0, 1, 3, 0, 2), A2: ints(0, 1), N: ints(3, 4)},
			[]int{3, 4, 0, 1}, 5, false,
			&Pairs{A1: ints(1, 0), P: ints(0, 2), A2: ints(0, 1), N: ints(3, 4)}},
		{"ref is subset swaps roles", &Triplets{A: ints(2, 3, 2, 5), P: ints(0, 0, 1, 0), N: ints(9, 9, 9, 9)},
			[]int{2, 3}, 6, true,
			&Triplets{A: ints(3, 2, 5), P: ints(0, 1, 0), N: ints(9, 9, 9)}},
		{"full ring, no wrap", &Pairs{A1: ints(0, 1, 2, 0), P: ints(0, 1, 2, 1)},
			[]int{0, 1, 2}, 3, false,
			&Pairs{A1: ints(0), P: ints(1)}},
		{"full ring, wrap", &Pairs{A1: ints(0, 1, 2, 0), P: ints(1, 2, 0, 0)},
			[]int{1, 2, 0}, 3, false,
			&Pairs{A1: ints(0), P: ints(0)}},
		// PML's arithmetic with a one-element batch: e == s takes the
		// wrap branch, p - s = 0 becomes refSize and nothing is removed.
		{"single-element batch keeps (0, s) as PML does", &Pairs{A1: ints(0, 0), P: ints(7, 6)},
			[]int{7}, 10, false,
			&Pairs{A1: ints(0, 0), P: ints(7, 6)}},
		{"empty", &Triplets{}, []int{0}, 1, false, &Triplets{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RemoveSelfComparisons(tc.t, tc.idx, tc.refSize, tc.isSubset)
			if err != nil {
				t.Fatal(err)
			}
			switch w := tc.want.(type) {
			case *Pairs:
				g, ok := got.(*Pairs)
				if !ok || !samePairs(g, w) {
					t.Errorf("got %+v, want %+v", got, w)
				}
			case *Triplets:
				g, ok := got.(*Triplets)
				if !ok || !sameTriplets(g, w) {
					t.Errorf("got %+v, want %+v", got, w)
				}
			}
		})
	}

	errTests := []struct {
		name    string
		t       Tuples
		idx     []int
		refSize int
		subset  bool
		want    error
	}{
		{"nil tuples", nil, []int{0}, 2, false, gometric.ErrUnsupported},
		{"nil pointer", (*Pairs)(nil), []int{0}, 2, false, gometric.ErrShape},
		{"refSize 0", &Pairs{}, []int{0}, 0, false, gometric.ErrSetting},
		{"empty batch", &Pairs{}, nil, 2, false, gometric.ErrShape},
		{"batch index out of range", &Pairs{}, []int{2}, 2, false, gometric.ErrIndex},
		{"positive out of range", &Pairs{A1: ints(0), P: ints(2)}, []int{0}, 2, false, gometric.ErrIndex},
		{"negative out of range", &Triplets{A: ints(0), P: ints(0), N: ints(5)}, []int{0}, 2, false, gometric.ErrIndex},
		{"negative anchor", &Pairs{A1: ints(-1), P: ints(0)}, []int{0}, 2, false, gometric.ErrIndex},
		{"subset: anchor out of range", &Pairs{A1: ints(3), P: ints(0)}, []int{0}, 2, true, gometric.ErrIndex},
		{"ragged", &Pairs{A1: ints(0, 1), P: ints(0)}, []int{0}, 2, false, gometric.ErrShape},
	}
	for _, tc := range errTests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := RemoveSelfComparisons(tc.t, tc.idx, tc.refSize, tc.subset); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRemoveSelfComparisonsNaive checks, for every start and batch length
// >= 2 of a ring buffer (wrapping or not), that a pair is removed exactly
// when the positive's slot holds the anchor's own batch element.
func TestRemoveSelfComparisonsNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	wraps, plain := 0, 0
	for refSize := 2; refSize <= 9; refSize++ {
		for start := range refSize {
			for n := 2; n <= refSize; n++ {
				idx := make([]int, n)
				for i := range idx {
					idx[i] = (start + i) % refSize
				}
				if idx[n-1] <= idx[0] {
					wraps++
				} else {
					plain++
				}
				// Random pairs and triplets: anchors are batch positions,
				// positives and negatives ring slots.
				m := 40
				tr := &Triplets{A: make([]int, m), P: make([]int, m), N: make([]int, m)}
				for i := range m {
					tr.A[i] = rng.IntN(n)
					tr.P[i] = rng.IntN(refSize)
					tr.N[i] = rng.IntN(refSize)
				}
				// Ensure some self comparisons are present.
				for i := 0; i < m; i += 4 {
					tr.P[i] = idx[tr.A[i]]
				}
				isSelf := func(a, p int) bool { return slices.Index(idx, p) == a }

				got, err := RemoveSelfComparisons(tr, idx, refSize, false)
				if err != nil {
					t.Fatal(err)
				}
				want := &Triplets{}
				for i := range m {
					if !isSelf(tr.A[i], tr.P[i]) {
						want.A = append(want.A, tr.A[i])
						want.P = append(want.P, tr.P[i])
						want.N = append(want.N, tr.N[i])
					}
				}
				if !sameTriplets(got.(*Triplets), want) {
					t.Fatalf("refSize %d start %d n %d: got %+v, want %+v", refSize, start, n, got, want)
				}

				pairs := &Pairs{A1: tr.A, P: tr.P, A2: tr.A[:m/2], N: tr.N[:m/2]}
				gotP, err := RemoveSelfComparisons(pairs, idx, refSize, false)
				if err != nil {
					t.Fatal(err)
				}
				wantP := &Pairs{A1: want.A, P: want.P, A2: pairs.A2, N: pairs.N}
				if !samePairs(gotP.(*Pairs), wantP) {
					t.Fatalf("pairs refSize %d start %d n %d: got %+v, want %+v", refSize, start, n, gotP, wantP)
				}

				// Subset: the same pairs with the roles swapped.
				swapped := &Triplets{A: tr.P, P: tr.A, N: tr.A}
				gotS, err := RemoveSelfComparisons(swapped, idx, refSize, true)
				if err != nil {
					t.Fatal(err)
				}
				wantS := &Triplets{A: want.P, P: want.A, N: want.A}
				if !sameTriplets(gotS.(*Triplets), wantS) {
					t.Fatalf("subset refSize %d start %d n %d: got %+v, want %+v", refSize, start, n, gotS, wantS)
				}
			}
		}
	}
	if wraps == 0 || plain == 0 {
		t.Fatalf("cases: %d wrapping, %d not", wraps, plain)
	}
}
