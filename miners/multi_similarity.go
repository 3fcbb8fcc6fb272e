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
	// keepPos and keepNeg are the selection rules given the extremes of
	// the row's negatives and positives.
	keepPos := func(v float64, ex *[4]float64) bool {
		return (inverted && v-eps < ex[3]) || (!inverted && v+eps > ex[2])
	}
	keepNeg := func(v float64, ex *[4]float64) bool {
		return (inverted && v+eps > ex[0]) || (!inverted && v-eps < ex[1])
	}
	// First pass: per row, the extremes over its positives and negatives
	// (minPos, maxPos, minNeg, maxNeg; an empty set gives the ±Inf that
	// PML's ignore values produce) and how many pairs it keeps, so the
	// output is allocated once.
	extremes := make([][4]float64, len(b.labels))
	nPos, nNeg := 0, 0
	for i, l := range b.labels {
		r := row(m, i)
		ex := [4]float64{math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)}
		for j, rl := range b.refLabels {
			v := r[j]
			if l == rl {
				if b.self && i == j {
					continue
				}
				ex[0], ex[1] = min(ex[0], v), max(ex[1], v)
			} else {
				ex[2], ex[3] = min(ex[2], v), max(ex[3], v)
			}
		}
		extremes[i] = ex
		for j, rl := range b.refLabels {
			v := r[j]
			if l == rl {
				if !(b.self && i == j) && keepPos(v, &ex) {
					nPos++
				}
			} else if keepNeg(v, &ex) {
				nNeg++
			}
		}
	}
	out.A1, out.P = make([]int, 0, nPos), make([]int, 0, nPos)
	out.A2, out.N = make([]int, 0, nNeg), make([]int, 0, nNeg)
	var pos, neg []keyed
	var sc keyedScratch
	for i, l := range b.labels {
		r := row(m, i)
		ex := &extremes[i]
		pos, neg = pos[:0], neg[:0]
		for j, rl := range b.refLabels {
			v := r[j]
			if l == rl {
				if b.self && i == j {
					continue
				}
				if keepPos(v, ex) {
					pos = append(pos, keyed{key: floatKey(v), pos: j})
				}
			} else if keepNeg(v, ex) {
				neg = append(neg, keyed{key: floatKey(v), pos: j})
			}
		}
		// torch.sort's ascending order (equal values in index order).
		sc.sort(pos)
		sc.sort(neg)
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
