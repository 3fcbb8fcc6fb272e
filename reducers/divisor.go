package reducers

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Divisor mirrors PML's DivisorReducer: the sum of the values divided by
// the record's own divisor (SubLoss.Divisor, which PML's losses put in the
// loss dictionary), for every kind but AlreadyReduced.
//
// As in PML a divisor of 0 gives 0 with a zero gradient, and a record of
// any kind but AlreadyReduced without a divisor (HasDivisor false) is an
// error (PML raises KeyError), checked before the zero-loss shortcut as PML
// reads the divisor first. A negative divisor (which PML would accept) is
// an error wrapping gometric.ErrSetting, a NaN or infinite one an error
// wrapping gometric.ErrNonFinite. AlreadyReduced records ignore the
// divisor.
//
// The zero value is PML's DivisorReducer(), as NewDivisor returns it. A
// Divisor is safe for concurrent use.
type Divisor struct{}

// NewDivisor returns a Divisor reducer (DivisorReducer()).
func NewDivisor() *Divisor { return &Divisor{} }

// ReduceOne implements Reducer.
func (r *Divisor) ReduceOne(l SubLoss, _ Batch) (float64, []float64, error) {
	const component = "reducers.Divisor"
	if r == nil {
		return 0, nil, check.Settingf(component, "nil receiver")
	}
	if err := validKind(component, l.Kind); err != nil {
		return 0, nil, err
	}
	if l.Kind != AlreadyReduced {
		switch d := l.Divisor; {
		case !l.HasDivisor:
			return 0, nil, check.Settingf(component, "%s sub-loss %q has no divisor", l.Kind, l.Name)
		case math.IsNaN(d) || math.IsInf(d, 0):
			return 0, nil, check.Errorf(component, gometric.ErrNonFinite, "sub-loss %q has divisor %v", l.Name, d)
		case d < 0:
			return 0, nil, check.Settingf(component, "sub-loss %q has negative divisor %v", l.Name, d)
		}
	}
	v, g, done, err := base(component, l, false)
	if done || err != nil {
		return v, g, err
	}
	g = make([]float64, len(l.Values))
	if l.Divisor == 0 {
		return 0, g, nil
	}
	for i := range g {
		g[i] = 1 / l.Divisor
	}
	return finish(component, laneSum(l.Values)/l.Divisor, g)
}
