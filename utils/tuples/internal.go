package tuples

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// The package's documented size limits, so that absurd sizes give an error
// naming the size and the limit instead of a run-time panic in make or an
// allocation that exhausts memory.
const (
	// maxTuples bounds a list of pairs or an N×M mask: at most what an
	// N×M distance matrix of the batch holds (2^32 entries, 32 GiB of
	// float64).
	maxTuples = 1 << 32
	// maxCount bounds the counts of CountAllTriplets, which allocates
	// nothing by them.
	maxCount = 1 << 40
	// maxTriplets bounds a materialised triplet list (AllTriplets, the
	// join of ToTriplets, RandomTriplets): 2^28 triplets, 6 GiB of
	// indices. EachAnchor streams any number.
	maxTriplets = 1 << 28
	// minDrawBound is the number of random triplets RandomTriplets always
	// allows, however small the batch: it allows max(N·M, minDrawBound).
	minDrawBound = 1 << 22
	// maxBatch bounds a batch size given as a number (Weights's n): 2^24
	// elements.
	maxBatch = 1 << 24
)

// resolveRef returns the reference labels for (labels, refLabels,
// refIsQuery), checking that the flag and the slices agree.
func resolveRef(component string, labels, refLabels []int, refIsQuery bool) ([]int, error) {
	if refIsQuery {
		if refLabels == nil {
			return labels, nil
		}
		if len(refLabels) != len(labels) {
			return nil, check.Errorf(component, gometric.ErrLabels,
				"refIsQuery is true but there are %d refLabels for %d labels", len(refLabels), len(labels))
		}
		for i, v := range refLabels {
			if v != labels[i] {
				return nil, check.Errorf(component, gometric.ErrLabels,
					"refIsQuery is true but refLabels[%d] = %d differs from labels[%d] = %d", i, v, i, labels[i])
			}
		}
		return labels, nil
	}
	if refLabels == nil {
		return nil, check.Errorf(component, gometric.ErrLabels,
			"refLabels is nil but refIsQuery is false (use a non-nil empty slice for an empty reference set)")
	}
	return refLabels, nil
}

// split returns the concrete value of a non-nil Tuples. A typed nil pointer
// is an ErrShape error and a foreign implementation an ErrUnsupported one.
func split(component string, t Tuples) (*Pairs, *Triplets, error) {
	switch v := t.(type) {
	case *Pairs:
		if v == nil {
			return nil, nil, check.Errorf(component, gometric.ErrShape, "tuples is a nil *Pairs")
		}
		return v, nil, nil
	case *Triplets:
		if v == nil {
			return nil, nil, check.Errorf(component, gometric.ErrShape, "tuples is a nil *Triplets")
		}
		return nil, v, nil
	default:
		return nil, nil, check.Errorf(component, gometric.ErrUnsupported, "unsupported Tuples type %T", t)
	}
}

// wrapValidate prefixes a Validate error with the calling component; the
// sentinel is preserved.
func wrapValidate(component string, t Tuples, nQuery, nRef int) error {
	if err := t.Validate(nQuery, nRef); err != nil {
		return fmt.Errorf("%s: %w", component, err)
	}
	return nil
}

// mulCheck returns a*b (a, b >= 0) and whether it stays within maxTuples.
func mulCheck(a, b int) (int, bool) { return mulWithin(a, b, maxTuples) }

// addCheck returns a+b (a, b >= 0) and whether it stays within maxTuples.
func addCheck(a, b int) (int, bool) { return addWithin(a, b, maxTuples) }

// mulWithin returns a*b (a, b >= 0) and whether it stays within limit.
func mulWithin(a, b, limit int) (int, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > uint64(limit) {
		return 0, false
	}
	return int(lo), true
}

// addWithin returns a+b (a, b >= 0) and whether it stays within limit.
func addWithin(a, b, limit int) (int, bool) {
	if a > limit-b {
		return 0, false
	}
	return a + b, true
}

// refCounts counts each label value in ref.
func refCounts(ref []int) map[int]int {
	c := make(map[int]int)
	for _, v := range ref {
		c[v]++
	}
	return c
}

// anyRef is the "unknown size" bound used where only non-negativity of an
// index can be checked.
const anyRef = math.MaxInt
