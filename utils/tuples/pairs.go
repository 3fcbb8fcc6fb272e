package tuples

import (
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Masks mirrors PML's get_matches_and_diffs. It returns two N×M row-major
// masks (N = len(labels), M = len(refLabels), or N when refIsQuery):
// matches[i*M+j] is true when labels[i] == ref[j], and diffs[i*M+j] when
// they differ. When refIsQuery, the diagonal of matches is cleared (an
// element is not its own positive); the diagonal of diffs is false anyway.
//
// With refIsQuery true, refLabels must be nil or equal to labels; with
// refIsQuery false it must be non-nil. Otherwise the error wraps
// gometric.ErrLabels.
func Masks(labels, refLabels []int, refIsQuery bool) (matches, diffs []bool, err error) {
	const comp = "tuples.Masks"
	ref, err := resolveRef(comp, labels, refLabels, refIsQuery)
	if err != nil {
		return nil, nil, err
	}
	size, ok := mulCheck(len(labels), len(ref))
	if !ok {
		return nil, nil, check.Errorf(comp, gometric.ErrShape, "%d×%d masks are too large", len(labels), len(ref))
	}
	matches = make([]bool, size)
	diffs = make([]bool, size)
	m := len(ref)
	for i, l := range labels {
		row := i * m
		for j, r := range ref {
			if l == r {
				matches[row+j] = !(refIsQuery && i == j)
			} else {
				diffs[row+j] = true
			}
		}
	}
	return matches, diffs, nil
}

// AllPairs mirrors PML's get_all_pairs_indices: every positive pair
// (A1[k], P[k]) with equal labels and every negative pair (A2[k], N[k])
// with different labels, each list in the row-major order of
// torch.where over the N×M mask (by anchor, then by reference index).
// Self pairs (i, i) are excluded only when refIsQuery. The label rules are
// those of Masks.
func AllPairs(labels, refLabels []int, refIsQuery bool) (*Pairs, error) {
	const comp = "tuples.AllPairs"
	ref, err := resolveRef(comp, labels, refLabels, refIsQuery)
	if err != nil {
		return nil, err
	}
	total, ok := mulCheck(len(labels), len(ref))
	if !ok {
		return nil, check.Errorf(comp, gometric.ErrShape, "%d×%d pairs are too many", len(labels), len(ref))
	}
	counts := refCounts(ref)
	nPos := 0
	for _, l := range labels {
		nPos += counts[l]
	}
	if refIsQuery {
		nPos -= len(labels)
	}
	nNeg := total - nPos
	if refIsQuery {
		nNeg -= len(labels)
	}
	p := &Pairs{
		A1: make([]int, nPos), P: make([]int, nPos),
		A2: make([]int, nNeg), N: make([]int, nNeg),
	}
	a1, pp, a2, nn := p.A1, p.P, p.A2, p.N
	kp, kn := 0, 0
	for i, l := range labels {
		for j, r := range ref {
			if l == r {
				if !(refIsQuery && i == j) {
					a1[kp], pp[kp] = i, j
					kp++
				}
			} else {
				a2[kn], nn[kn] = i, j
				kn++
			}
		}
	}
	return p, nil
}

// ToPairs mirrors PML's convert_to_pairs: a nil t gives AllPairs; a *Pairs
// is returned as is (the same pointer, after validation); a *Triplets
// (a, p, n) gives the pairs (a, p) and (a, n), in fresh slices.
//
// Given tuples are checked against the label counts: anchors must index
// labels and the other entries refLabels (ErrIndex), and paired slices
// must have equal lengths (ErrShape).
func ToPairs(t Tuples, labels, refLabels []int, refIsQuery bool) (*Pairs, error) {
	const comp = "tuples.ToPairs"
	ref, err := resolveRef(comp, labels, refLabels, refIsQuery)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return AllPairs(labels, refLabels, refIsQuery)
	}
	pairs, trip, err := split(comp, t)
	if err != nil {
		return nil, err
	}
	if err := wrapValidate(comp, t, len(labels), len(ref)); err != nil {
		return nil, err
	}
	if pairs != nil {
		return pairs, nil
	}
	return &Pairs{
		A1: slices.Clone(trip.A), P: slices.Clone(trip.P),
		A2: slices.Clone(trip.A), N: slices.Clone(trip.N),
	}, nil
}

// PosPairsWithUniqueLabels mirrors PML's
// convert_to_pos_pairs_with_unique_labels: from the positive pairs of
// ToPairs(t, labels, nil, true) it keeps, for each distinct anchor label,
// the first pair whose anchor has that label, ordered by label value (as
// np.unique(labels[a], return_index=True) does).
//
// Anchors must index labels (ErrIndex); positives are only checked to be
// non-negative, since PML passes no reference labels here.
func PosPairsWithUniqueLabels(t Tuples, labels []int) (a, p []int, err error) {
	const comp = "tuples.PosPairsWithUniqueLabels"
	var anchors, pos []int
	if t == nil {
		all, err := AllPairs(labels, nil, true)
		if err != nil {
			return nil, nil, err
		}
		anchors, pos = all.A1, all.P
	} else {
		pairs, trip, err := split(comp, t)
		if err != nil {
			return nil, nil, err
		}
		if err := wrapValidate(comp, t, len(labels), anyRef); err != nil {
			return nil, nil, err
		}
		if pairs != nil {
			anchors, pos = pairs.A1, pairs.P
		} else {
			anchors, pos = trip.A, trip.P
		}
	}
	first := make(map[int]int)
	for k, ai := range anchors {
		l := labels[ai]
		if _, seen := first[l]; !seen {
			first[l] = k
		}
	}
	keys := make([]int, 0, len(first))
	for l := range first {
		keys = append(keys, l)
	}
	slices.Sort(keys)
	a = make([]int, len(keys))
	p = make([]int, len(keys))
	for i, l := range keys {
		a[i] = anchors[first[l]]
		p[i] = pos[first[l]]
	}
	return a, p, nil
}

// Anchors mirrors PML's get_anchors: the anchors A of triplets, or the
// concatenation A1 then A2 of pairs, in a fresh slice. It returns nil for
// a nil Tuples, a nil pointer or a foreign implementation.
func Anchors(t Tuples) []int {
	switch v := t.(type) {
	case *Triplets:
		if v == nil {
			return nil
		}
		return slices.Clone(v.A)
	case *Pairs:
		if v == nil {
			return nil
		}
		out := make([]int, 0, len(v.A1)+len(v.A2))
		out = append(out, v.A1...)
		return append(out, v.A2...)
	}
	return nil
}

// Weights mirrors PML's convert_to_weights: a weight for each of the n
// query elements from how often it occurs in t. A nil t, or one whose
// slices are all empty, gives all ones. Otherwise each index's count over
// the concatenated slices (only the anchors when usingRef: A of triplets,
// A1 and A2 of pairs) is divided by the largest count; indices that do
// not occur get 0.
//
// The counted indices must lie in [0, n) (ErrIndex); when usingRef the
// other indices are only checked to be non-negative. n < 0 is an ErrShape
// error, and so is n above 2^24 (the documented limit of a batch's size:
// the result has n entries).
func Weights(t Tuples, n int, usingRef bool) ([]float64, error) {
	const comp = "tuples.Weights"
	if n < 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "n = %d is negative", n)
	}
	if n > maxBatch {
		return nil, check.Errorf(comp, gometric.ErrShape, "n = %d is above the limit of %d batch elements", n, maxBatch)
	}
	w := make([]float64, n)
	if t == nil {
		for i := range w {
			w[i] = 1
		}
		return w, nil
	}
	pairs, trip, err := split(comp, t)
	if err != nil {
		return nil, err
	}
	nRef := n
	if usingRef {
		nRef = anyRef
	}
	if err := wrapValidate(comp, t, n, nRef); err != nil {
		return nil, err
	}
	var counted [][]int
	var all [][]int
	if pairs != nil {
		all = [][]int{pairs.A1, pairs.P, pairs.A2, pairs.N}
		counted = [][]int{pairs.A1, pairs.A2}
	} else {
		all = [][]int{trip.A, trip.P, trip.N}
		counted = [][]int{trip.A}
	}
	empty := true
	for _, s := range all {
		if len(s) > 0 {
			empty = false
			break
		}
	}
	if empty {
		for i := range w {
			w[i] = 1
		}
		return w, nil
	}
	if !usingRef {
		counted = all
	}
	counts := make([]int, n)
	maxCount := 0
	for _, s := range counted {
		for _, i := range s {
			counts[i]++
			maxCount = max(maxCount, counts[i])
		}
	}
	if maxCount == 0 {
		return w, nil
	}
	for i, c := range counts {
		w[i] = float64(c) / float64(maxCount)
	}
	return w, nil
}
