package losses

import (
	"math/rand/v2"

	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// pairs converts the batch's tuples to pairs as PML's convert_to_pairs.
// Mined tuples need no labels (prepare has checked them against the
// embeddings); without tuples, all pairs come from the labels
// (tuples.ToPairs). Mined triplets (a, p, n) give the pairs (a, p) and
// (a, n) sharing the triplets' slices, which the losses only read.
func (in *input) pairs() (*tuples.Pairs, error) {
	switch t := in.tuples.(type) {
	case *tuples.Pairs:
		return t, nil
	case *tuples.Triplets:
		return &tuples.Pairs{A1: t.A, P: t.P, A2: t.A, N: t.N}, nil
	}
	return tuples.ToPairs(nil, in.labels, in.refLabels, in.refIsQuery)
}

// triplets converts the batch's tuples to triplets as PML's
// convert_to_triplets: mined triplets as they are, mined pairs joined on
// their anchors (for each positive pair in order, every negative pair of
// the same anchor in order), and without tuples all triplets or perAnchor
// random ones per anchor drawn with rng (tuples.ToTriplets; labels
// needed).
func (in *input) triplets(perAnchor int, rng *rand.Rand) (*tuples.Triplets, error) {
	switch t := in.tuples.(type) {
	case *tuples.Triplets:
		return t, nil
	case *tuples.Pairs:
		// tuples.ToTriplets joins the same way, but validates the
		// tuples against label counts, and mined tuples come without
		// labels here as in PML.
		byAnchor := make(map[int][]int)
		for j, a := range t.A2 {
			byAnchor[a] = append(byAnchor[a], j)
		}
		out := &tuples.Triplets{}
		for i, a := range t.A1 {
			for _, j := range byAnchor[a] {
				out.A = append(out.A, a)
				out.P = append(out.P, t.P[i])
				out.N = append(out.N, t.N[j])
			}
		}
		return out, nil
	}
	return tuples.ToTriplets(nil, in.labels, in.refLabels, in.refIsQuery, perAnchor, rng)
}

// pairMatrix is GenericPairLoss's preamble after its early exit (done by
// the pipeline, decl.pairRule): the batch's pairs and the distance matrix.
func (in *input) pairMatrix() (*tuples.Pairs, *mat.Dense, error) {
	pairs, err := in.pairs()
	if err != nil {
		return nil, nil, err
	}
	m, err := in.matrix()
	if err != nil {
		return nil, nil, err
	}
	return pairs, m, nil
}

// gather returns m[a[i], b[i]] for every i.
func gather(m *mat.Dense, a, b []int) []float64 {
	raw := m.RawMatrix()
	out := make([]float64, len(a))
	for i := range a {
		out[i] = raw.Data[a[i]*raw.Stride+b[i]]
	}
	return out
}

// scatter adds w[i] to gm[a[i], b[i]] for every i.
func scatter(gm *mat.Dense, a, b []int, w []float64) {
	raw := gm.RawMatrix()
	for i := range a {
		raw.Data[a[i]*raw.Stride+b[i]] += w[i]
	}
}

// relu returns max(x, 0) and its derivative (0 at 0, as torch).
func relu(x float64) (float64, float64) {
	if x > 0 {
		return x, 1
	}
	return 0, 0
}

// allPairs describes PML's get_all_pairs_indices without listing the
// pairs: for anchor a, same[a] holds the ascending reference indices with
// a's label (a itself among them when ref is query). The positives of a
// are same[a] without a; its negatives are the complement of same[a] in
// [0, m). Both are in PML's order (by anchor, then by reference index).
type allPairs struct {
	same       [][]int
	m          int
	refIsQuery bool
	nPos, nNeg int
}

// allPairs describes all pairs of the batch from sameLabels. A ref
// without labels is the error tuples.ToPairs reports.
func (in *input) allPairs() (*allPairs, error) {
	if !in.refIsQuery && in.refLabels == nil {
		_, err := tuples.ToPairs(nil, in.labels, in.refLabels, in.refIsQuery)
		return nil, err
	}
	same := in.sameLabels()
	in.countPairs() // from same, unless counted before
	return &allPairs{same: same, m: in.m, refIsQuery: in.refIsQuery, nPos: in.nPos, nNeg: in.nNeg}, nil
}

// pos returns the number of positives of anchor a, whose same-label list
// is s.
func (ap *allPairs) pos(a int, s []int) int {
	if ap.refIsQuery {
		return len(s) - 1
	}
	return len(s)
}

// sameLabel returns, for every label of labels, the ascending indices of
// refLabels equal to it (nil when there is none); entries for equal labels
// share one slice.
func sameLabel(labels, refLabels []int) [][]int {
	same := make([][]int, len(labels))
	if len(refLabels) == 0 {
		return same
	}
	lo, hi := refLabels[0], refLabels[0]
	for _, l := range refLabels {
		lo, hi = min(lo, l), max(hi, l)
	}
	if span := uint(hi - lo); span < uint(4*len(refLabels)+64) {
		// Small label range: a counting sort.
		start := make([]int, span+2)
		for _, l := range refLabels {
			start[l-lo+1]++
		}
		for k := 1; k < len(start); k++ {
			start[k] += start[k-1]
		}
		// start[k] is the first position of label lo+k in flat; it is
		// the cursor of the fill, after which it is the end of the label
		// (and start[k-1] its first position).
		flat := make([]int, len(refLabels))
		for j, l := range refLabels {
			flat[start[l-lo]] = j
			start[l-lo]++
		}
		for i, l := range labels {
			if l >= lo && l <= hi {
				k := l - lo
				begin := 0
				if k > 0 {
					begin = start[k-1]
				}
				if begin < start[k] {
					same[i] = flat[begin:start[k]:start[k]]
				}
			}
		}
		return same
	}
	byLabel := make(map[int][]int)
	for j, l := range refLabels {
		byLabel[l] = append(byLabel[l], j)
	}
	for i, l := range labels {
		same[i] = byLabel[l]
	}
	return same
}

// sameCount returns the number of pairs (i, j) with labels[i] ==
// refLabels[j], the sum of the lengths of sameLabel's lists, without
// listing them.
func sameCount(labels, refLabels []int) int {
	if len(refLabels) == 0 {
		return 0
	}
	lo, hi := refLabels[0], refLabels[0]
	for _, l := range refLabels {
		lo, hi = min(lo, l), max(hi, l)
	}
	total := 0
	if span := uint(hi - lo); span < uint(4*len(refLabels)+64) {
		counts := make([]int, span+1)
		for _, l := range refLabels {
			counts[l-lo]++
		}
		for _, l := range labels {
			if l >= lo && l <= hi {
				total += counts[l-lo]
			}
		}
		return total
	}
	counts := make(map[int]int)
	for _, l := range refLabels {
		counts[l]++
	}
	for _, l := range labels {
		total += counts[l]
	}
	return total
}

// eachTripletAnchor calls fn(a, pos, neg) for every anchor a with at least
// one positive and one negative, in order, with its positives and
// negatives ascending: PML's all triplets are (a, p, n) for p in pos, n in
// neg. The slices are reused from call to call.
func (ap *allPairs) eachTripletAnchor(fn func(a int, pos, neg []int) error) error {
	pos := make([]int, 0, ap.m)
	neg := make([]int, 0, ap.m)
	for a, same := range ap.same {
		if len(same) == ap.m || ap.pos(a, same) == 0 {
			continue
		}
		pos, neg = pos[:0], neg[:0]
		lo := 0
		for _, j := range same {
			for ; lo < j; lo++ {
				neg = append(neg, lo)
			}
			lo = j + 1
			if j != a || !ap.refIsQuery {
				pos = append(pos, j)
			}
		}
		for ; lo < ap.m; lo++ {
			neg = append(neg, lo)
		}
		if err := fn(a, pos, neg); err != nil {
			return err
		}
	}
	return nil
}
