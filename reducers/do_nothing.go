package reducers

import (
	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// DoNothing mirrors PML's DoNothingReducer, whose forward returns the loss
// dictionary itself instead of a scalar. It has no scalar: ReduceOne (and
// so Reduce) returns an error wrapping gometric.ErrUnsupported. A loss
// checks Passthrough first and hands its SubLoss records back unreduced.
//
// The zero value is PML's DoNothingReducer(), as NewDoNothing returns it.
// A DoNothing is safe for concurrent use.
type DoNothing struct{}

// NewDoNothing returns a DoNothing reducer (DoNothingReducer()).
func NewDoNothing() *DoNothing { return &DoNothing{} }

// ReduceOne implements Reducer; it always fails, since DoNothingReducer
// returns its input instead of reducing it.
func (r *DoNothing) ReduceOne(l SubLoss, _ Batch) (float64, []float64, error) {
	if r == nil {
		return 0, nil, check.Settingf("reducers.DoNothing", "nil receiver")
	}
	return 0, nil, check.Errorf("reducers.DoNothing", gometric.ErrUnsupported,
		"sub-loss %q: DoNothing returns the records unreduced and has no scalar (check Passthrough before reducing)", l.Name)
}

// Passthrough reports whether r is a DoNothing reducer:
// a loss given such a reducer returns its SubLoss records unchanged, as
// PML's losses return the loss dictionary when their reducer is a
// DoNothingReducer. Reducers that contain a DoNothing (PerAnchor,
// Multiple) are not pass-through: they fail as PML does, and so does a nil
// *DoNothing.
func Passthrough(r Reducer) bool {
	d, ok := r.(*DoNothing)
	return ok && d != nil
}
