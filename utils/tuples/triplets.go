package tuples

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"gonum.org/v1/gonum/mat"
)

// AllPerAnchor is the perAnchor value of ToTriplets that asks for every
// triplet (PML's t_per_anchor="all").
const AllPerAnchor = -1

// EachAnchor streams the triplets of PML's get_all_triplets_indices without
// building the N×M×M mask. For every anchor i in 0..N-1, in order, it calls
// fn(i, pos, neg) with the ascending reference indices that share the
// anchor's label (pos; i itself excluded when refIsQuery) and those that do
// not (neg). The triplets are, in PML's row-major order: for each anchor,
// for each p in pos, for each n in neg, (anchor, p, n). fn is called for
// anchors with no positives or no negatives too (they yield no triplet).
//
// pos and neg are buffers reused from call to call: fn must not retain
// them or modify them. If fn returns an error, EachAnchor stops and returns
// it unchanged. Memory is O(N+M) beyond the inputs; time is O(N·M) for the
// lists, with the labels grouped once (SameLabel). The label rules are
// those of Masks.
func EachAnchor(labels, refLabels []int, refIsQuery bool, fn func(anchor int, pos, neg []int) error) error {
	const comp = "tuples.EachAnchor"
	ref, err := resolveRef(comp, labels, refLabels, refIsQuery)
	if err != nil {
		return err
	}
	if fn == nil {
		return check.Settingf(comp, "fn is nil")
	}
	pos := make([]int, 0, len(ref))
	neg := make([]int, 0, len(ref))
	for i, same := range SameLabel(labels, ref) {
		// The negatives are the runs between the (ascending) same-label
		// indices.
		pos, neg = pos[:0], neg[:0]
		next := 0
		for _, j := range same {
			for ; next < j; next++ {
				neg = append(neg, next)
			}
			next = j + 1
			if !refIsQuery || j != i {
				pos = append(pos, j)
			}
		}
		for ; next < len(ref); next++ {
			neg = append(neg, next)
		}
		if err := fn(i, pos, neg); err != nil {
			return err
		}
	}
	return nil
}

// CountAllTriplets returns the number of triplets of PML's
// get_all_triplets_indices (the sum over anchors of positives × negatives)
// in O(N+M) time, without listing them. Counts beyond 2^40 are an error
// wrapping gometric.ErrShape.
func CountAllTriplets(labels, refLabels []int, refIsQuery bool) (int, error) {
	const comp = "tuples.CountAllTriplets"
	ref, err := resolveRef(comp, labels, refLabels, refIsQuery)
	if err != nil {
		return 0, err
	}
	return countTriplets(comp, labels, ref, refIsQuery, maxCount)
}

// countTriplets counts the triplets of labels and ref; more than limit is
// an error wrapping gometric.ErrShape that names the limit.
func countTriplets(comp string, labels, ref []int, refIsQuery bool, limit int) (int, error) {
	counts := refCounts(ref)
	total := 0
	for _, l := range labels {
		nPos := counts[l]
		if refIsQuery {
			nPos--
		}
		nNeg := len(ref) - counts[l]
		k, ok := mulWithin(nPos, nNeg, limit)
		if ok {
			total, ok = addWithin(total, k, limit)
		}
		if !ok {
			return 0, check.Errorf(comp, gometric.ErrShape, "more than %d triplets for %d labels and %d reference labels (the limit; EachAnchor streams them)", limit, len(labels), len(ref))
		}
	}
	return total, nil
}

// AllTriplets mirrors PML's get_all_triplets_indices and materialises the
// list: every (a, p, n) with label(a) == label(p) != label(n), p != a when
// refIsQuery, in the row-major order of torch.where over the N×M×M mask
// (the order of EachAnchor). Prefer EachAnchor when the list is only
// iterated: it needs O(M) memory instead of 3 ints per triplet. More than
// 2^28 triplets (6 GiB of indices) is an error wrapping gometric.ErrShape.
func AllTriplets(labels, refLabels []int, refIsQuery bool) (*Triplets, error) {
	const comp = "tuples.AllTriplets"
	ref, err := resolveRef(comp, labels, refLabels, refIsQuery)
	if err != nil {
		return nil, err
	}
	n, err := countTriplets(comp, labels, ref, refIsQuery, maxTriplets)
	if err != nil {
		return nil, err
	}
	t := &Triplets{A: make([]int, 0, n), P: make([]int, 0, n), N: make([]int, 0, n)}
	err = EachAnchor(labels, refLabels, refIsQuery, func(a int, pos, neg []int) error {
		for _, p := range pos {
			for _, ng := range neg {
				t.A = append(t.A, a)
				t.P = append(t.P, p)
				t.N = append(t.N, ng)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ToTriplets mirrors PML's convert_to_triplets.
//
//   - nil t: all triplets (AllTriplets) when perAnchor == AllPerAnchor,
//     otherwise RandomTriplets(labels, refLabels, refIsQuery, perAnchor,
//     nil, rng) — perAnchor 0 standing for PML's t_per_anchor=None.
//   - *Triplets: returned as is (the same pointer, after validation).
//   - *Pairs (a1, p, a2, n): joined on the anchor as PML does. For every
//     (i, j) with A1[i] == A2[j], in row-major order (i outer, j inner), the
//     triplet (A1[i], P[i], N[j]).
//
// rng is used only for random sampling, as RandomTriplets uses it (nil:
// the process-wide generator). perAnchor below AllPerAnchor is an
// ErrSetting error. Given tuples are validated as in ToPairs. Pairs that
// join into more than 2^28 triplets are an ErrShape error; the limits of
// AllTriplets and RandomTriplets apply to those paths.
func ToTriplets(t Tuples, labels, refLabels []int, refIsQuery bool, perAnchor int, rng *rand.Rand) (*Triplets, error) {
	const comp = "tuples.ToTriplets"
	if perAnchor < AllPerAnchor {
		return nil, check.Settingf(comp, "perAnchor = %d; want AllPerAnchor (%d), 0 (one per positive) or a positive count", perAnchor, AllPerAnchor)
	}
	ref, err := resolveRef(comp, labels, refLabels, refIsQuery)
	if err != nil {
		return nil, err
	}
	if t == nil {
		if perAnchor == AllPerAnchor {
			return AllTriplets(labels, refLabels, refIsQuery)
		}
		return RandomTriplets(labels, refLabels, refIsQuery, perAnchor, nil, rng)
	}
	pairs, trip, err := split(comp, t)
	if err != nil {
		return nil, err
	}
	if err := wrapValidate(comp, t, len(labels), len(ref)); err != nil {
		return nil, err
	}
	if trip != nil {
		return trip, nil
	}
	return joinPairs(comp, pairs, len(labels))
}

// joinPairs builds the triplets of torch.where(a1[:, None] == a2). The
// anchors are known to lie in [0, nQuery).
func joinPairs(comp string, p *Pairs, nQuery int) (*Triplets, error) {
	// Bucket the positions of A2 by anchor value, keeping them ascending.
	start := make([]int, nQuery+1)
	for _, a := range p.A2 {
		start[a+1]++
	}
	for i := 1; i <= nQuery; i++ {
		start[i] += start[i-1]
	}
	order := make([]int, len(p.A2))
	fill := slices.Clone(start[:nQuery])
	for j, a := range p.A2 {
		order[fill[a]] = j
		fill[a]++
	}
	total := 0
	for _, a := range p.A1 {
		var ok bool
		total, ok = addWithin(total, start[a+1]-start[a], maxTriplets)
		if !ok {
			return nil, check.Errorf(comp, gometric.ErrShape, "the pairs join into more than %d triplets (the limit)", maxTriplets)
		}
	}
	t := &Triplets{A: make([]int, 0, total), P: make([]int, 0, total), N: make([]int, 0, total)}
	for i, a := range p.A1 {
		for _, j := range order[start[a]:start[a+1]] {
			t.A = append(t.A, a)
			t.P = append(t.P, p.P[i])
			t.N = append(t.N, p.N[j])
		}
	}
	return t, nil
}

// RandomTriplets mirrors PML's get_random_triplet_indices. For each
// distinct query label, in ascending order, with pInds the reference
// indices of that label and nInds the others:
//
//   - the label is skipped when pInds has fewer than 2 entries (refIsQuery)
//     or 1 (otherwise), or when nInds is empty;
//   - its anchors are the query indices of the label, in order;
//     k = perAnchor, or len(pInds) when perAnchor == 0 (PML's
//     t_per_anchor=None; note that it counts the anchor itself when
//     refIsQuery);
//   - each anchor gets k triplets (anchor-major): the positive drawn
//     uniformly from pInds, without the anchor itself when refIsQuery; the
//     negative drawn uniformly from nInds or, when weights (N×M) is non-nil,
//     with probability proportional to weights[anchor, nInds]. All the
//     label's positives are drawn before its negatives, as in PML.
//
// With weights, an anchor whose row sum over nInds is not positive
// (zero, negative, or NaN — e.g. the 0/0 rows of DistanceWeightedMiner) is
// skipped, as PML skips it; a row that is kept must be non-negative
// (ErrSetting) and finite (ErrNonFinite), as torch.multinomial requires.
//
// The draws come from rng: a seeded *rand.Rand gives the same triplets for
// the same seed (and must not be shared between goroutines while in use);
// nil means math/rand/v2's process-wide generator, which draws fresh
// triplets at every call, as PML does with torch's global generator, and
// is safe for concurrent use. perAnchor < 0 is an ErrSetting error, a
// weights matrix of the wrong shape an ErrShape one.
//
// The triplets are drawn with replacement, so perAnchor is not bounded by
// the batch; the memory is: more than max(N·M, 2^22) triplets in total
// (N = len(labels), M the reference count), and never more than 2^28, is
// an ErrSetting error naming perAnchor and the limit, returned before any
// draw. perAnchor = 0 (PML's t_per_anchor=None) never exceeds N·M.
func RandomTriplets(labels, refLabels []int, refIsQuery bool, perAnchor int, weights *mat.Dense, rng *rand.Rand) (*Triplets, error) {
	const comp = "tuples.RandomTriplets"
	rng = randsrc.Or(rng)
	if perAnchor < 0 {
		return nil, check.Settingf(comp, "perAnchor = %d is negative (0 means one triplet per positive)", perAnchor)
	}
	ref, err := resolveRef(comp, labels, refLabels, refIsQuery)
	if err != nil {
		return nil, err
	}
	if weights != nil {
		if err := check.Dims(comp, "weights", weights, len(labels), len(ref)); err != nil {
			return nil, err
		}
	}
	uniq := slices.Clone(labels)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)

	// The number of triplets drawn, checked before any allocation: at most
	// max(N·M, minDrawBound) and maxTriplets.
	limit := minDrawBound
	if nm, ok := mulWithin(len(labels), len(ref), maxTriplets); !ok {
		limit = maxTriplets
	} else {
		limit = max(limit, nm)
	}
	total := 0
	for _, g := range groupLabels(labels, ref, refIsQuery) {
		k := perAnchor
		if k == 0 {
			k = g.nPos
		}
		num, ok := mulWithin(g.nAnchors, k, limit)
		if ok {
			total, ok = addWithin(total, num, limit)
		}
		if !ok {
			return nil, check.Settingf(comp, "perAnchor = %d asks for more than %d triplets for %d labels and %d reference labels (the limit is max(N·M, %d), at most %d)",
				perAnchor, limit, len(labels), len(ref), minDrawBound, maxTriplets)
		}
	}

	out := &Triplets{A: make([]int, 0, total), P: make([]int, 0, total), N: make([]int, 0, total)}
	var pInds, aInds, nInds, pDraw []int
	var cum []float64
	for _, l := range uniq {
		pInds, nInds = pInds[:0], nInds[:0]
		for j, r := range ref {
			if r == l {
				pInds = append(pInds, j)
			} else {
				nInds = append(nInds, j)
			}
		}
		if refIsQuery {
			aInds = pInds
		} else {
			aInds = aInds[:0]
			for i, q := range labels {
				if q == l {
					aInds = append(aInds, i)
				}
			}
		}
		minP := 1
		if refIsQuery {
			minP = 2
		}
		if len(pInds) < minP || len(nInds) < 1 {
			continue
		}
		k := perAnchor
		if k == 0 {
			k = len(pInds)
		}
		num := len(aInds) * k // within limit: counted above
		width := len(pInds)
		if refIsQuery {
			width-- // the anchor itself is not a candidate
		}
		// Positives for all num triplets first, anchor-major.
		pDraw = slices.Grow(pDraw[:0], num)[:num]
		for t := range num {
			ai := t / k
			r := rng.IntN(width)
			if refIsQuery && r >= ai {
				r++ // skip the anchor's own column
			}
			pDraw[t] = pInds[r]
		}
		if weights == nil {
			for t := range num {
				out.A = append(out.A, aInds[t/k])
				out.P = append(out.P, pDraw[t])
				out.N = append(out.N, nInds[rng.IntN(len(nInds))])
			}
			continue
		}
		// Weighted negatives: one categorical draw per kept row.
		cum = slices.Grow(cum[:0], len(nInds))[:len(nInds)]
		for ai, a := range aInds {
			row := weights.RawRowView(a)
			sum := 0.0
			for _, j := range nInds {
				sum += row[j]
			}
			if !(sum > 0) {
				continue
			}
			wmax := 0.0
			for _, j := range nInds {
				v := row[j]
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, check.Errorf(comp, gometric.ErrNonFinite, "weights[%d][%d] is %v", a, j, v)
				}
				if v < 0 {
					return nil, check.Settingf(comp, "weights[%d][%d] = %v is negative", a, j, v)
				}
				wmax = max(wmax, v)
			}
			acc, last := 0.0, 0
			for c, j := range nInds {
				if row[j] > 0 {
					acc += row[j] / wmax
					last = c
				}
				cum[c] = acc
			}
			for t := ai * k; t < (ai+1)*k; t++ {
				u := rng.Float64() * acc
				c := sort.SearchFloat64s(cum, math.Nextafter(u, math.Inf(1)))
				if c >= len(cum) {
					c = last
				}
				out.A = append(out.A, a)
				out.P = append(out.P, pDraw[t])
				out.N = append(out.N, nInds[c])
			}
		}
	}
	return out, nil
}

// labelGroup is one query label of RandomTriplets that yields triplets:
// its number of anchors and of same-label reference entries.
type labelGroup struct{ nAnchors, nPos int }

// groupLabels returns, for every distinct query label that
// RandomTriplets does not skip, its anchor and positive counts, in O(N+M)
// time and memory (a map; no allocation by the size of a label).
func groupLabels(labels, ref []int, refIsQuery bool) []labelGroup {
	refCount := refCounts(ref)
	queryCount := make(map[int]int)
	for _, l := range labels {
		queryCount[l]++
	}
	minP := 1
	if refIsQuery {
		minP = 2
	}
	out := make([]labelGroup, 0, len(queryCount))
	for l, q := range queryCount {
		p := refCount[l]
		if p < minP || len(ref)-p < 1 {
			continue
		}
		if refIsQuery {
			q = p
		}
		out = append(out, labelGroup{nAnchors: q, nPos: p})
	}
	return out
}
