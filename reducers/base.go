package reducers

import (
	"math"
	"strconv"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// indexCount is the number of index slices PML's assert_sizes_* expect
// for each kind.
func indexCount(k Kind) int {
	switch k {
	case Element:
		return 1
	case PosPair, NegPair:
		return 2
	case Triplet:
		return 3
	}
	return 0
}

// validKind reports an error for a Kind outside the five of PML.
func validKind(component string, k Kind) error {
	if k < Element || k > AlreadyReduced {
		return check.Settingf(component, "unknown reduction type %v", k)
	}
	return nil
}

// base runs the checks and shortcuts of PML's BaseReducer.reduce_the_loss
// that come before the kind-specific reduction: the kind must be known and
// the values finite; a zero loss (no values) gives 0 and an AlreadyReduced
// record its single value with gradient 1 (done is then true). Otherwise
// the indices are checked as assert_sizes_* does; needIndices says whether
// the caller reads them (nil Indices are accepted when it does not).
func base(component string, l SubLoss, needIndices bool) (v float64, g []float64, done bool, err error) {
	if err := validKind(component, l.Kind); err != nil {
		return 0, nil, true, err
	}
	if err := check.Floats(component, "sub-loss "+strconv.Quote(l.Name)+" values", l.Values); err != nil {
		return 0, nil, true, err
	}
	if len(l.Values) == 0 {
		return 0, []float64{}, true, nil
	}
	if l.Kind == AlreadyReduced {
		if len(l.Values) != 1 {
			return 0, nil, true, check.Errorf(component, gometric.ErrShape,
				"already_reduced sub-loss %q has %d values, want 1", l.Name, len(l.Values))
		}
		return l.Values[0], []float64{1}, true, nil
	}
	if len(l.Indices) == 0 && !needIndices {
		return 0, nil, false, nil
	}
	want := indexCount(l.Kind)
	if len(l.Indices) != want {
		return 0, nil, true, check.Errorf(component, gometric.ErrShape,
			"%s sub-loss %q has %d index slices, want %d", l.Kind, l.Name, len(l.Indices), want)
	}
	for j, idx := range l.Indices {
		if len(idx) != len(l.Values) {
			return 0, nil, true, check.Errorf(component, gometric.ErrShape,
				"%s sub-loss %q: index slice %d has %d entries for %d values", l.Kind, l.Name, j, len(idx), len(l.Values))
		}
	}
	return 0, nil, false, nil
}

// finish returns an error wrapping gometric.ErrNonFinite when the reduced
// value or a gradient entry overflowed.
func finish(component string, v float64, g []float64) (float64, []float64, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, nil, check.Errorf(component, gometric.ErrNonFinite, "the reduced value is %v (the values are too large)", v)
	}
	for i, x := range g {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, nil, check.Errorf(component, gometric.ErrNonFinite, "gradient entry %d is %v", i, x)
		}
	}
	return v, g, nil
}

// mean returns the mean of vals and its gradient 1/n.
func mean(vals []float64) (float64, []float64) {
	s := laneSum(vals)
	n := float64(len(vals))
	g := make([]float64, len(vals))
	for i := range g {
		g[i] = 1 / n
	}
	return s / n, g
}

// sum returns the sum of vals and its gradient 1.
func sum(vals []float64) (float64, []float64) {
	g := make([]float64, len(vals))
	for i := range g {
		g[i] = 1
	}
	return laneSum(vals), g
}
