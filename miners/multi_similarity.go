package miners

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/utils/tuples"
)

// MultiSimilarity mirrors PML's MultiSimilarityMiner (the pair mining of
// the Multi-Similarity loss paper). For a similarity s, anchor a keeps
// the positives p with s(a, p) − Epsilon < max over its negatives of
// s(a, n), and the negatives n with s(a, n) + Epsilon > min over its
// positives of s(a, p); for a distance the inequalities are mirrored
// (d(a, p) + Epsilon > min negative distance, d(a, n) − Epsilon < max
// positive distance). If the batch has no positive pair or no negative
// pair, nothing is returned.
//
// The order is PML's: by anchor, then by ascending value of the pair (the
// order of torch.sort over the row); equal values keep index order.
//
// An Epsilon of 0 is a legal setting, so the zero value cannot mean PML's
// default of 0.1: make a MultiSimilarity with NewMultiSimilarity and set
// its fields; Mine refuses a zero value or a literal with an error
// wrapping gometric.ErrSetting. Mine is safe for concurrent use as long as
// the fields are not changed meanwhile and Distance is safe for concurrent
// use.
type MultiSimilarity struct {
	// Distance is nil for PML's default for this miner, CosineSimilarity.
	Distance distances.Distance
	// Epsilon is PML's epsilon (default 0.1).
	Epsilon float64

	made bool
}

// NewMultiSimilarity returns a MultiSimilarity miner with PML's defaults
// (MultiSimilarityMiner(): epsilon 0.1, CosineSimilarity).
func NewMultiSimilarity() *MultiSimilarity {
	return &MultiSimilarity{Epsilon: 0.1, made: true}
}

// Mine returns the selected pairs (a *tuples.Pairs).
func (ms *MultiSimilarity) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.MultiSimilarity"
	if ms == nil {
		return nil, nilReceiver(name)
	}
	if !ms.made {
		return nil, notMade(name, "NewMultiSimilarity", "epsilon 0.1")
	}
	if err := finiteSetting(name, "Epsilon", ms.Epsilon); err != nil {
		return nil, err
	}
	b, err := prepare(name, in, false)
	if err != nil {
		return nil, err
	}
	dist := distanceOr(ms.Distance, func() distances.Distance { return distances.NewCosineSimilarity() })
	m, err := b.matrix(name, dist)
	if err != nil {
		return nil, err
	}
	out := emptyPairs()
	// PML returns nothing at all when the batch lacks either kind of pair.
	hasPos, hasNeg := false, false
	for i, l := range b.labels {
		for j, rl := range b.refLabels {
			if l == rl {
				if !(b.self && i == j) {
					hasPos = true
				}
			} else {
				hasNeg = true
			}
		}
		if hasPos && hasNeg {
			break
		}
	}
	if !hasPos || !hasNeg {
		return out, nil
	}
	inverted := dist.Settings().Inverted
	eps := ms.Epsilon
	var pos, neg []keyed
	for i, l := range b.labels {
		r := row(m, i)
		// Extremes over the row's positives and negatives; an empty set
		// gives the ±Inf that PML's ignore values produce.
		minPos, maxPos := math.Inf(1), math.Inf(-1)
		minNeg, maxNeg := math.Inf(1), math.Inf(-1)
		for j, rl := range b.refLabels {
			v := r[j]
			if l == rl {
				if b.self && i == j {
					continue
				}
				minPos, maxPos = min(minPos, v), max(maxPos, v)
			} else {
				minNeg, maxNeg = min(minNeg, v), max(maxNeg, v)
			}
		}
		pos, neg = pos[:0], neg[:0]
		for j, rl := range b.refLabels {
			v := r[j]
			if l == rl {
				if b.self && i == j {
					continue
				}
				if (inverted && v-eps < maxNeg) || (!inverted && v+eps > minNeg) {
					pos = append(pos, keyed{key: floatKey(v), pos: j})
				}
			} else if (inverted && v+eps > minPos) || (!inverted && v-eps < maxPos) {
				neg = append(neg, keyed{key: floatKey(v), pos: j})
			}
		}
		// torch.sort's ascending order (equal values in index order).
		sortKeyed(pos)
		sortKeyed(neg)
		for _, k := range pos {
			out.A1 = append(out.A1, i)
			out.P = append(out.P, k.pos)
		}
		for _, k := range neg {
			out.A2 = append(out.A2, i)
			out.N = append(out.N, k.pos)
		}
	}
	return out, nil
}
