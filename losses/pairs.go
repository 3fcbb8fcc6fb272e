package losses

import (
	"math/rand/v2"

	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// pairs converts the batch's tuples to pairs as PML's convert_to_pairs.
// Mined tuples need no labels (prepare has checked them against the
// embeddings); without tuples, all pairs come from the labels.
func (in *input) pairs(name string) (*tuples.Pairs, error) {
	switch t := in.tuples.(type) {
	case *tuples.Pairs:
		return t, nil
	case *tuples.Triplets:
		return &tuples.Pairs{A1: t.A, P: t.P, A2: t.A, N: t.N}, nil
	}
	p, err := tuples.ToPairs(nil, in.labels, in.refLabels, in.refIsQuery)
	return p, wrap(name, err)
}

// triplets converts the batch's tuples to triplets as PML's
// convert_to_triplets: mined triplets as they are, mined pairs joined on
// their anchors (for each positive pair in order, every negative pair of
// the same anchor in order), and without tuples all triplets or perAnchor
// random ones per anchor (labels needed).
func (in *input) triplets(name string, perAnchor int, rng *rand.Rand) (*tuples.Triplets, error) {
	switch t := in.tuples.(type) {
	case *tuples.Triplets:
		return t, nil
	case *tuples.Pairs:
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
	tr, err := tuples.ToTriplets(nil, in.labels, in.refLabels, in.refIsQuery, perAnchor, rng)
	return tr, wrap(name, err)
}

// tooFewPairs is GenericPairLoss's early exit: every index list has at most
// one entry (so one positive and one negative pair give PML's zero loss).
func tooFewPairs(p *tuples.Pairs) bool {
	return len(p.A1) <= 1 && len(p.P) <= 1 && len(p.A2) <= 1 && len(p.N) <= 1
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
