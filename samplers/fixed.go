package samplers

import (
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/utils/tuples"
)

// FixedSetOfTriplets mirrors PML's FixedSetOfTriplets: a set of random
// triplets drawn once, at construction, whose flattened rows
// (a0, p0, n0, a1, p1, n1, ...) every epoch yields in a new random row
// order. It lets an experiment use a fixed set of triplets as the only
// ground truth instead of the labels.
//
// Each triplet is drawn as PML draws it: an ordered pair of distinct
// labels (anchor label, negative label) uniformly, then anchor and
// positive from the anchor label's indices by c_f.safe_random_choice
// (two distinct indices, or the same index twice when the class has a
// single sample), and the negative uniformly from the negative label's
// indices.
//
// The triplets are drawn by NewFixedSetOfTriplets, so the zero value holds
// none: Epoch refuses it with an error wrapping gometric.ErrSetting that
// names the constructor. A FixedSetOfTriplets does not change once made
// and is safe for concurrent use (with Sampler's rule for rng).
type FixedSetOfTriplets struct {
	a, p, n []int
}

const compFixed = "samplers.FixedSetOfTriplets"

// NewFixedSetOfTriplets draws numTriplets triplets from labels with rng: a
// seeded *rand.Rand gives the same set for the same seed; nil means
// math/rand/v2's process-wide generator, a new set at every call (PML
// draws from numpy's global generator). It needs at least two distinct
// labels (PML raises there too) and a positive numTriplets.
func NewFixedSetOfTriplets(labels []int, numTriplets int, rng *rand.Rand) (*FixedSetOfTriplets, error) {
	rng = randsrc.Or(rng)
	if err := checkLabels(compFixed, "labels", labels); err != nil {
		return nil, err
	}
	if numTriplets <= 0 {
		return nil, check.Settingf(compFixed, "num_triplets = %d is not positive", numTriplets)
	}
	if _, ok := mul(numTriplets, 3); !ok {
		return nil, check.Settingf(compFixed, "num_triplets = %d gives more than %d indices per epoch", numTriplets, maxEpochLen)
	}
	ci := groupByLabel(labels)
	nc := len(ci.labels)
	if nc < 2 {
		return nil, check.Errorf(compFixed, gometric.ErrLabels, "labels hold %d distinct value, triplets need 2", nc)
	}
	pools := make([][]int, nc)
	for c, mem := range ci.members {
		pools[c] = append([]int(nil), mem...)
	}
	f := &FixedSetOfTriplets{
		a: make([]int, numTriplets),
		p: make([]int, numTriplets),
		n: make([]int, numTriplets),
	}
	var ap [2]int
	for i := range numTriplets {
		ac := rng.IntN(nc)
		nc2 := rng.IntN(nc - 1)
		if nc2 >= ac {
			nc2++
		}
		safeChoice(rng, pools[ac], 2, ap[:0])
		neg := ci.members[nc2]
		f.a[i], f.p[i], f.n[i] = ap[0], ap[1], neg[rng.IntN(len(neg))]
	}
	return f, nil
}

// Len implements Sampler: 3 × the number of triplets (PML's __len__).
func (f *FixedSetOfTriplets) Len() int {
	if f == nil {
		return 0
	}
	return 3 * len(f.a)
}

// Triplets returns a copy of the fixed set, in the order it was drawn (nil
// for a nil receiver).
func (f *FixedSetOfTriplets) Triplets() *tuples.Triplets {
	if f == nil {
		return nil
	}
	return &tuples.Triplets{
		A: append([]int(nil), f.a...),
		P: append([]int(nil), f.p...),
		N: append([]int(nil), f.n...),
	}
}

// Epoch implements Sampler: the triplets in a random row order drawn with
// rng (nil: the process-wide generator), flattened to anchor, positive,
// negative, anchor, ... The fixed set itself is left as it is, so an epoch
// depends only on rng.
func (f *FixedSetOfTriplets) Epoch(rng *rand.Rand) ([]int, error) {
	if f == nil {
		return nil, nilReceiver(compFixed)
	}
	if len(f.a) == 0 {
		return nil, check.Settingf(compFixed, "no triplets: not made by NewFixedSetOfTriplets (the zero value holds none); use NewFixedSetOfTriplets(labels, numTriplets, rng)")
	}
	rng = randsrc.Or(rng)
	out := make([]int, 0, 3*len(f.a))
	for _, i := range rng.Perm(len(f.a)) {
		out = append(out, f.a[i], f.p[i], f.n[i])
	}
	return out, nil
}
