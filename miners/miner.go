package miners

import (
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// Input is what a miner looks at, PML's miner forward(embeddings, labels,
// ref_emb, ref_labels). The zero Input is an empty batch, which every
// miner refuses with an error wrapping gometric.ErrShape. An Input is
// plain data that miners only read: safe for concurrent use by several
// miners.
type Input struct {
	// Embeddings is N×D.
	Embeddings *mat.Dense
	// Labels has N entries.
	Labels []int
	// Ref is M×D reference embeddings; nil means "ref is query" (PML's
	// ref_emb=None), and then self pairs are excluded.
	Ref *mat.Dense
	// RefLabels has M entries; required with Ref.
	RefLabels []int
}

// Miner mirrors PML's BaseMiner: it selects pairs or triplets from a batch.
// The result is a *tuples.Pairs or a *tuples.Triplets, as PML returns a
// 4-tuple or a 3-tuple, with indices into the query (anchors) and the ref
// (positives, negatives).
//
// Each miner's doc says whether it is safe for concurrent use: all of
// this package's are, as long as their fields are not changed meanwhile,
// except HDC (it keeps state) and a random miner holding a seeded Rand.
type Miner interface {
	Mine(in Input) (tuples.Tuples, error)
}

// Counts are the sizes of a miner's output, as PML's miners record them
// (num_pos_pairs, num_neg_pairs, num_triplets), for logging. The zero
// value counts nothing. Counts is a plain value, safe for concurrent use.
type Counts struct {
	PosPairs, NegPairs, Triplets int
}

// CountOf returns the counts of a miner's output.
func CountOf(t tuples.Tuples) Counts {
	switch v := t.(type) {
	case *tuples.Pairs:
		if v != nil {
			return Counts{PosPairs: len(v.A1), NegPairs: len(v.A2)}
		}
	case *tuples.Triplets:
		if v != nil {
			return Counts{Triplets: len(v.A)}
		}
	}
	return Counts{}
}
