package inference

import (
	"cmp"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Calibration is the result of Calibrate: the chosen threshold and the
// confusion counts and scores of "match" at it. It is plain data, safe
// for concurrent reads; its zero value is no calibration.
type Calibration struct {
	// Threshold is the chosen threshold: one of the given values. A pair
	// is predicted to match when its value is <= Threshold (a distance)
	// or >= Threshold (a similarity, Inverted), as MatchFinder decides.
	Threshold float64
	// Inverted records which comparison Threshold is for.
	Inverted bool
	// F1 is 2·TP / (2·TP + FP + FN) at Threshold (the harmonic mean of
	// Precision and Recall), the largest over all thresholds.
	F1 float64
	// Precision is TP / (TP + FP) and Recall is TP / (TP + FN).
	Precision, Recall float64
	// TP, FP, FN and TN count true and false positives and negatives,
	// "positive" meaning "predicted to match".
	TP, FP, FN, TN int
}

type calPair struct {
	v    float64
	same bool
}

// Calibrate chooses the threshold that maximises the F1 score of "match"
// on labelled validation pairs; PML has no counterpart. values[i] is the
// distance (or, with inverted, the similarity) of pair i and same[i]
// whether the pair truly matches.
//
// Every distinct value is a candidate, used inclusively as MatchFinder
// does, so pairs with equal values always fall on the same side; the
// sweep over the sorted values is exact and takes O(n log n). Among
// thresholds with the same F1 the strictest (fewest predicted matches)
// wins. A threshold that matches nothing has F1 = 0 and is never chosen,
// as at least one true match is required.
//
// Errors wrap gometric.ErrShape (no pairs), gometric.ErrLabels (len(same)
// differs from len(values), or no pair has same[i] true) or
// gometric.ErrNonFinite (a NaN or ±Inf value).
func Calibrate(values []float64, same []bool, inverted bool) (Calibration, error) {
	return calibrate("inference.Calibrate", values, same, inverted)
}

func calibrate(name string, values []float64, same []bool, inverted bool) (Calibration, error) {
	if len(values) == 0 {
		return Calibration{}, check.Errorf(name, gometric.ErrShape, "no pairs to calibrate on")
	}
	if len(same) != len(values) {
		return Calibration{}, check.Errorf(name, gometric.ErrLabels, "%d labels for %d pairs", len(same), len(values))
	}
	if err := check.Floats(name, "values", values); err != nil {
		return Calibration{}, err
	}
	pos := 0
	pairs := make([]calPair, len(values))
	for i, v := range values {
		pairs[i] = calPair{v, same[i]}
		if same[i] {
			pos++
		}
	}
	if pos == 0 {
		return Calibration{}, check.Errorf(name, gometric.ErrLabels, "none of the %d pairs is a true match", len(values))
	}
	// Closest first: ascending distances, descending similarities.
	slices.SortFunc(pairs, func(a, b calPair) int {
		if inverted {
			return cmp.Compare(b.v, a.v)
		}
		return cmp.Compare(a.v, b.v)
	})
	best := Calibration{Inverted: inverted}
	bestF1 := -1.0
	tp, fp := 0, 0
	for i := 0; i < len(pairs); {
		v := pairs[i].v
		for ; i < len(pairs) && pairs[i].v == v; i++ {
			if pairs[i].same {
				tp++
			} else {
				fp++
			}
		}
		// F1 = 2TP / (2TP + FP + FN) with FN = pos - TP.
		f1 := 2 * float64(tp) / float64(tp+fp+pos)
		if f1 > bestF1 {
			bestF1 = f1
			best.Threshold, best.TP, best.FP = v, tp, fp
		}
	}
	best.FN = pos - best.TP
	best.TN = len(pairs) - pos - best.FP
	best.F1 = bestF1
	best.Precision = float64(best.TP) / float64(best.TP+best.FP)
	best.Recall = float64(best.TP) / float64(pos)
	return best, nil
}
