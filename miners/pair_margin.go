package miners

import (
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/utils/tuples"
)

// PairMargin mirrors PML's PairMarginMiner: it returns the positive pairs
// farther apart than PosMargin and the negative pairs closer than
// NegMargin (for a similarity: positives with s < PosMargin, negatives with
// s > NegMargin), each list in the row-major order of the pair mask.
//
// Margins of 0 are legal settings, so the zero value cannot mean PML's
// defaults: make a PairMargin with NewPairMargin and set its fields; Mine
// refuses a zero value or a literal with an error wrapping
// gometric.ErrSetting. Mine is safe for concurrent use as long as the
// fields are not changed meanwhile and Distance is safe for concurrent
// use.
type PairMargin struct {
	// Distance is nil for PML's default, LpDistance (normalised, p = 2).
	Distance distances.Distance
	// PosMargin is PML's pos_margin (default 0.2).
	PosMargin float64
	// NegMargin is PML's neg_margin (default 0.8).
	NegMargin float64

	made bool
}

// NewPairMargin returns a PairMargin miner with PML's defaults
// (PairMarginMiner(): pos_margin 0.2, neg_margin 0.8).
func NewPairMargin() *PairMargin {
	return &PairMargin{PosMargin: 0.2, NegMargin: 0.8, made: true}
}

// Mine returns the selected pairs (a *tuples.Pairs).
func (pm *PairMargin) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.PairMargin"
	if pm == nil {
		return nil, nilReceiver(name)
	}
	if !pm.made {
		return nil, notMade(name, "NewPairMargin", "pos_margin 0.2, neg_margin 0.8")
	}
	if err := finiteSetting(name, "PosMargin", pm.PosMargin); err != nil {
		return nil, err
	}
	if err := finiteSetting(name, "NegMargin", pm.NegMargin); err != nil {
		return nil, err
	}
	b, err := prepare(name, in, false)
	if err != nil {
		return nil, err
	}
	dist := distanceOr(pm.Distance, defaultLp)
	m, err := b.matrix(name, dist)
	if err != nil {
		return nil, err
	}
	inverted := dist.Settings().Inverted
	out := emptyPairs()
	for i, l := range b.labels {
		r := row(m, i)
		for j, rl := range b.refLabels {
			v := r[j]
			if l == rl {
				if b.self && i == j {
					continue
				}
				if (inverted && v < pm.PosMargin) || (!inverted && v > pm.PosMargin) {
					out.A1 = append(out.A1, i)
					out.P = append(out.P, j)
				}
			} else if (inverted && v > pm.NegMargin) || (!inverted && v < pm.NegMargin) {
				out.A2 = append(out.A2, i)
				out.N = append(out.N, j)
			}
		}
	}
	return out, nil
}
