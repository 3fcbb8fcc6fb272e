package tuples

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"testing"
)

// randomCase draws labels (and reference labels unless self) with few
// classes so that every kind of pair occurs.
func randomCase(rng *rand.Rand, self bool) (labels, ref []int) {
	n := rng.IntN(14)
	classes := 1 + rng.IntN(5)
	labels = make([]int, n)
	for i := range labels {
		labels[i] = rng.IntN(classes) - 2
	}
	if self {
		if rng.IntN(2) == 0 {
			ref = slices.Clone(labels)
		}
		return labels, ref
	}
	ref = make([]int, rng.IntN(14))
	for i := range ref {
		ref[i] = rng.IntN(classes) - 2
	}
	return labels, ref
}

func refOf(labels, ref []int, self bool) []int {
	if self {
		return labels
	}
	return ref
}

// TestBruteForce compares every deterministic function with a naive
// loop over indices written straight from PML's tensor expressions.
func TestBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for it := range 400 {
		self := it%2 == 0
		labels, ref := randomCase(rng, self)
		r := refOf(labels, ref, self)
		name := fmt.Sprintf("case %d labels %v ref %v self %v", it, labels, ref, self)
		n, m := len(labels), len(r)

		// matches[i][j] / diffs[i][j] as get_matches_and_diffs.
		match := func(i, j int) bool { return labels[i] == r[j] && !(self && i == j) }
		diff := func(i, j int) bool { return labels[i] != r[j] }

		mm, dd, err := Masks(labels, ref, self)
		if err != nil {
			t.Fatal(name, err)
		}
		wantPairs := &Pairs{}
		for i := range n {
			for j := range m {
				if mm[i*m+j] != match(i, j) || dd[i*m+j] != diff(i, j) {
					t.Fatalf("%s: mask (%d,%d) wrong", name, i, j)
				}
				if match(i, j) {
					wantPairs.A1 = append(wantPairs.A1, i)
					wantPairs.P = append(wantPairs.P, j)
				}
				if diff(i, j) {
					wantPairs.A2 = append(wantPairs.A2, i)
					wantPairs.N = append(wantPairs.N, j)
				}
			}
		}
		pairs, err := AllPairs(labels, ref, self)
		if err != nil || !samePairs(pairs, wantPairs) {
			t.Fatalf("%s: AllPairs = %+v, %v; want %+v", name, pairs, err, wantPairs)
		}

		// Triplets: torch.where over matches[:, :, None] * diffs[:, None, :].
		wantTrip := &Triplets{}
		for a := range n {
			for p := range m {
				for q := range m {
					if match(a, p) && diff(a, q) {
						wantTrip.A = append(wantTrip.A, a)
						wantTrip.P = append(wantTrip.P, p)
						wantTrip.N = append(wantTrip.N, q)
					}
				}
			}
		}
		trip, err := AllTriplets(labels, ref, self)
		if err != nil || !sameTriplets(trip, wantTrip) {
			t.Fatalf("%s: AllTriplets = %+v, %v; want %+v", name, trip, err, wantTrip)
		}
		count, err := CountAllTriplets(labels, ref, self)
		if err != nil || count != len(wantTrip.A) {
			t.Fatalf("%s: CountAllTriplets = %d, %v; want %d", name, count, err, len(wantTrip.A))
		}

		// The stream, expanded, is the same list; its buffers ascend.
		streamed := &Triplets{}
		next := 0
		err = EachAnchor(labels, ref, self, func(a int, pos, neg []int) error {
			if a != next {
				return fmt.Errorf("anchor %d, want %d", a, next)
			}
			next++
			if !sort.IntsAreSorted(pos) || !sort.IntsAreSorted(neg) {
				return fmt.Errorf("anchor %d: unsorted %v %v", a, pos, neg)
			}
			for _, p := range pos {
				for _, q := range neg {
					streamed.A = append(streamed.A, a)
					streamed.P = append(streamed.P, p)
					streamed.N = append(streamed.N, q)
				}
			}
			return nil
		})
		if err != nil || next != n || !sameTriplets(streamed, wantTrip) {
			t.Fatalf("%s: EachAnchor stream %+v, %v (%d anchors); want %+v", name, streamed, err, next, wantTrip)
		}

		// convert_to_triplets of the all-pairs tuple equals all triplets:
		// joining positives and negatives on the anchor in row-major
		// order is exactly the (a, p, n) order.
		joined, err := ToTriplets(pairs, labels, ref, self, 0, nil)
		if err != nil || !sameTriplets(joined, wantTrip) {
			t.Fatalf("%s: ToTriplets(AllPairs) = %+v, %v; want %+v", name, joined, err, wantTrip)
		}

		if n == 0 || m == 0 {
			continue
		}
		// Random pairs (not label-consistent) joined as torch.where(a1[:,None] == a2).
		rp := &Pairs{}
		for range rng.IntN(12) {
			rp.A1 = append(rp.A1, rng.IntN(n))
			rp.P = append(rp.P, rng.IntN(m))
		}
		for range rng.IntN(12) {
			rp.A2 = append(rp.A2, rng.IntN(n))
			rp.N = append(rp.N, rng.IntN(m))
		}
		wantJoin := &Triplets{}
		for i := range rp.A1 {
			for j := range rp.A2 {
				if rp.A1[i] == rp.A2[j] {
					wantJoin.A = append(wantJoin.A, rp.A1[i])
					wantJoin.P = append(wantJoin.P, rp.P[i])
					wantJoin.N = append(wantJoin.N, rp.N[j])
				}
			}
		}
		joined, err = ToTriplets(rp, labels, ref, self, AllPerAnchor, nil)
		if err != nil || !sameTriplets(joined, wantJoin) {
			t.Fatalf("%s: join of %+v = %+v, %v; want %+v", name, rp, joined, err, wantJoin)
		}

		// ToPairs of triplets, and the anchors of both kinds.
		tp, err := ToPairs(trip, labels, ref, self)
		if err != nil || !samePairs(tp, &Pairs{A1: trip.A, P: trip.P, A2: trip.A, N: trip.N}) {
			t.Fatalf("%s: ToPairs(triplets) = %+v, %v", name, tp, err)
		}
		if got := Anchors(rp); !sameInts(got, append(slices.Clone(rp.A1), rp.A2...)) {
			t.Fatalf("%s: Anchors(pairs) = %v", name, got)
		}

		// convert_to_weights, counted naively.
		for _, usingRef := range []bool{false, true} {
			var tup Tuples = rp
			if it%4 < 2 {
				tup = trip
			}
			if !usingRef && !self {
				continue // reference indices then need not index the query
			}
			var idx []int
			empty := true
			switch v := tup.(type) {
			case *Pairs:
				empty = len(v.A1)+len(v.P)+len(v.A2)+len(v.N) == 0
				if usingRef {
					idx = append(slices.Clone(v.A1), v.A2...)
				} else {
					idx = slices.Concat(v.A1, v.P, v.A2, v.N)
				}
			case *Triplets:
				empty = len(v.A)+len(v.P)+len(v.N) == 0
				if usingRef {
					idx = slices.Clone(v.A)
				} else {
					idx = slices.Concat(v.A, v.P, v.N)
				}
			}
			want := make([]float64, n)
			if empty {
				for i := range want {
					want[i] = 1
				}
			} else {
				cnt := make([]float64, n)
				for _, i := range idx {
					cnt[i]++
				}
				mx := slices.Max(cnt)
				for i := range want {
					want[i] = cnt[i] / mx
				}
			}
			got, err := Weights(tup, n, usingRef)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("%s: Weights(%+v, usingRef %v) = %v, %v; want %v", name, tup, usingRef, got, err, want)
			}
		}

		// convert_to_pos_pairs_with_unique_labels: stable sort of the
		// positive pairs by anchor label, first of each label.
		order := make([]int, len(rp.A1))
		for k := range order {
			order[k] = k
		}
		sort.SliceStable(order, func(x, y int) bool { return labels[rp.A1[order[x]]] < labels[rp.A1[order[y]]] })
		var wantA, wantP []int
		for k, o := range order {
			if k == 0 || labels[rp.A1[o]] != labels[rp.A1[order[k-1]]] {
				wantA = append(wantA, rp.A1[o])
				wantP = append(wantP, rp.P[o])
			}
		}
		ua, up, err := PosPairsWithUniqueLabels(rp, labels)
		if err != nil || !sameInts(ua, wantA) || !sameInts(up, wantP) {
			t.Fatalf("%s: PosPairsWithUniqueLabels = %v %v, %v; want %v %v", name, ua, up, err, wantA, wantP)
		}
	}
}

// TestEachAnchorMemory checks that streaming the triplets of 1024 labels
// allocates O(N) — two index buffers and the label grouping of SameLabel
// (its lists, counts and flat indices) — and nothing like N·M·M.
func TestEachAnchorMemory(t *testing.T) {
	const n = 1024
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % 32
	}
	var triplets int
	fn := func(_ int, pos, neg []int) error {
		triplets += len(pos) * len(neg)
		return nil
	}
	allocs := testing.AllocsPerRun(3, func() {
		if err := EachAnchor(labels, nil, true, fn); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 5 {
		t.Errorf("EachAnchor made %v allocations per run, want <= 5", allocs)
	}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	triplets = 0
	if err := EachAnchor(labels, nil, true, fn); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	bytes := after.TotalAlloc - before.TotalAlloc
	const bound = 64 * n // two int buffers are 16·N bytes
	if bytes > bound {
		t.Errorf("EachAnchor allocated %d bytes, want <= %d", bytes, bound)
	}
	if want := n * 31 * (n - 32); triplets != want {
		t.Errorf("streamed %d triplets, want %d", triplets, want)
	}
}
