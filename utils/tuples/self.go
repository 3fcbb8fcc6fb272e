package tuples

import (
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// RemoveSelfComparisons mirrors PML's remove_self_comparisons (with
// not_self_comparisons), which CrossBatchMemory uses after the current
// batch has been written into its ring buffer of refSize slots at the
// positions currBatchIdx (contiguous modulo refSize, possibly wrapping).
//
// A pair (a, p) is a self comparison when p lies in the current batch and
// a is p's position within it. PML computes that position from
// s = currBatchIdx[0] and e = currBatchIdx[len-1] as p - s, adding refSize
// when e <= s and p - s <= e - s (the wrap-around). For triplets, each
// (A[i], P[i]) that is a self comparison drops the whole triplet; for
// pairs only the positive pairs (A1, P) are filtered and the negative
// pairs are kept unchanged. With refIsSubset the roles of anchor and
// positive are swapped in the test. The result is new *Pairs or *Triplets
// of the same kind as t, keeping the original order.
//
// PML's arithmetic is kept exactly, including its corner case: with a
// single-element batch (e == s) the position p - s = 0 satisfies
// p - s <= e - s and becomes refSize, so nothing is removed.
//
// A nil t is an ErrUnsupported error (PML asserts a 3- or 4-tuple). refSize
// must be positive (ErrSetting) and currBatchIdx non-empty (ErrShape) with
// entries in [0, refSize) (ErrIndex). The tested reference side (P, and N,
// or A1 and A2 with refIsSubset) must lie in [0, refSize); the other side
// must be non-negative (ErrIndex).
func RemoveSelfComparisons(t Tuples, currBatchIdx []int, refSize int, refIsSubset bool) (Tuples, error) {
	const comp = "tuples.RemoveSelfComparisons"
	if t == nil {
		return nil, check.Errorf(comp, gometric.ErrUnsupported, "tuples is nil (all); pass explicit pairs or triplets")
	}
	pairs, trip, err := split(comp, t)
	if err != nil {
		return nil, err
	}
	if refSize <= 0 {
		return nil, check.Settingf(comp, "refSize = %d; want a positive size", refSize)
	}
	if len(currBatchIdx) == 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "currBatchIdx is empty")
	}
	if err := check.Indices(comp, "currBatchIdx", currBatchIdx, refSize); err != nil {
		return nil, err
	}
	nQuery, nRef := anyRef, refSize
	if refIsSubset {
		nQuery, nRef = refSize, anyRef
	}
	if err := wrapValidate(comp, t, nQuery, nRef); err != nil {
		return nil, err
	}

	in := batchMembers(currBatchIdx, refSize, t)
	s, e := currBatchIdx[0], currBatchIdx[len(currBatchIdx)-1]
	keep := func(a, p int) bool {
		if refIsSubset {
			a, p = p, a
		}
		if !in(p) {
			return true
		}
		pc := p - s
		if e <= s && pc <= e-s {
			pc += refSize
		}
		return a != pc
	}

	if trip != nil {
		out := &Triplets{A: []int{}, P: []int{}, N: []int{}}
		for i, a := range trip.A {
			if keep(a, trip.P[i]) {
				out.A = append(out.A, a)
				out.P = append(out.P, trip.P[i])
				out.N = append(out.N, trip.N[i])
			}
		}
		return out, nil
	}
	out := &Pairs{A1: []int{}, P: []int{}, A2: slices.Clone(pairs.A2), N: slices.Clone(pairs.N)}
	if out.A2 == nil {
		out.A2, out.N = []int{}, []int{}
	}
	for i, a := range pairs.A1 {
		if keep(a, pairs.P[i]) {
			out.A1 = append(out.A1, a)
			out.P = append(out.P, pairs.P[i])
		}
	}
	return out, nil
}

// batchMembers returns the membership test of currBatchIdx (entries in
// [0, refSize)): a table of refSize flags when refSize is within a small
// multiple of the input's size (the batch indices and the tuples), a set
// of the batch indices otherwise, so that memory never follows a huge
// refSize.
func batchMembers(currBatchIdx []int, refSize int, t Tuples) func(int) bool {
	size := len(currBatchIdx)
	switch v := t.(type) {
	case *Pairs:
		size += 2*len(v.A1) + 2*len(v.A2)
	case *Triplets:
		size += 3 * len(v.A)
	}
	if refSize <= 8*size+1024 {
		table := make([]bool, refSize)
		for _, i := range currBatchIdx {
			table[i] = true
		}
		return func(p int) bool { return table[p] }
	}
	set := make(map[int]struct{}, len(currBatchIdx))
	for _, i := range currBatchIdx {
		set[i] = struct{}{}
	}
	return func(p int) bool { _, ok := set[p]; return ok }
}
