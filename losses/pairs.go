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
