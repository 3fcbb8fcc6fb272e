package reducers

import (
	"math"

	"github.com/gometric/gometric/internal/check"
)

// Threshold mirrors PML's ThresholdReducer: the mean of the values that are
// strictly greater than Low and strictly smaller than High, or 0 (with a
// zero gradient) when none is. The survivors get gradient 1/k, the others
// 0.
//
// math.Inf(-1) for Low and math.Inf(1) for High mean "no bound" (PML's
// None); at least one bound must be set and neither may be NaN, else
// ReduceOne returns an error wrapping gometric.ErrSetting. Low >= High is
// accepted as PML does: nothing passes and the result is 0.
//
// PML's ThresholdReducer has no default bounds, and a zero bound is not
// "no bound" (that is ±Inf): a Threshold that NewThreshold did not make,
// the zero value among them, is refused with an error wrapping
// gometric.ErrSetting that names NewThreshold. A Threshold is safe for
// concurrent use while its fields are not being changed.
type Threshold struct {
	// Low is PML's low: values <= Low are dropped.
	Low float64
	// High is PML's high: values >= High are dropped.
	High float64

	made bool // by NewThreshold
}

// NewThreshold returns a Threshold reducer (ThresholdReducer(low, high));
// pass math.Inf(-1) or math.Inf(1) for a bound PML would leave as None.
func NewThreshold(low, high float64) *Threshold {
	return &Threshold{Low: low, High: high, made: true}
}

// check reports a nil or literal Threshold.
func (t *Threshold) check() error {
	const component = "reducers.Threshold"
	if t == nil {
		return check.Settingf(component, "nil receiver")
	}
	if !t.made {
		return check.Settingf(component, "not made by NewThreshold: the zero value has no bounds (a zero bound is not PML's None, which is ±Inf); use NewThreshold(low, high)")
	}
	return nil
}

// ReduceOne implements Reducer.
func (t *Threshold) ReduceOne(l SubLoss, _ Batch) (float64, []float64, error) {
	if err := t.check(); err != nil {
		return 0, nil, err
	}
	return threshold("reducers.Threshold", t.Low, t.High, l)
}

// AvgNonZero mirrors PML's AvgNonZeroReducer (a ThresholdReducer with
// low=0): the mean of the strictly positive values, or 0 when there is
// none.
//
// The zero value is PML's AvgNonZeroReducer(), as NewAvgNonZero returns
// it. An AvgNonZero is safe for concurrent use.
type AvgNonZero struct{}

// NewAvgNonZero returns an AvgNonZero reducer (AvgNonZeroReducer()).
func NewAvgNonZero() *AvgNonZero { return &AvgNonZero{} }

// ReduceOne implements Reducer.
func (r *AvgNonZero) ReduceOne(l SubLoss, _ Batch) (float64, []float64, error) {
	if r == nil {
		return 0, nil, check.Settingf("reducers.AvgNonZero", "nil receiver")
	}
	return threshold("reducers.AvgNonZero", 0, math.Inf(1), l)
}

// threshold is ThresholdReducer's element_reduction_helper, used for every
// kind but AlreadyReduced (BaseReducer's pass-through).
func threshold(component string, low, high float64, l SubLoss) (float64, []float64, error) {
	if math.IsNaN(low) || math.IsNaN(high) {
		return 0, nil, check.Settingf(component, "low = %v, high = %v: a bound is NaN", low, high)
	}
	if math.IsInf(low, -1) && math.IsInf(high, 1) {
		return 0, nil, check.Settingf(component, "neither low nor high is set (low = -Inf, high = +Inf)")
	}
	v, g, done, err := base(component, l, false)
	if done || err != nil {
		return v, g, err
	}
	g = make([]float64, len(l.Values))
	var acc [4]float64
	k := bandSum(&acc, 0, l.Values, low, high)
	s := laneTotal(&acc)
	if k == 0 {
		return 0, g, nil
	}
	for i, x := range l.Values {
		if x > low && x < high {
			g[i] = 1 / float64(k)
		}
	}
	return finish(component, s/float64(k), g)
}
