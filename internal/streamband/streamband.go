// Package streamband lets a loss reduce a streamed sub-loss faster when
// the reducer is one of package reducers' own (Mean, Sum, AvgNonZero,
// Threshold, Divisor): their reduction only needs the count and the sum
// of the values inside a band, and their gradient with respect to a value
// is one constant weight on that band and 0 elsewhere. A loss can then
// compute the statistics in the loop that produces the values (PlanFor)
// and apply the gradient without a function call per value (Band).
//
// Package reducers registers its implementation with Register from an
// init function; package losses calls PlanFor or Reduce and falls back to
// reducers.ReduceStream when they report that the reducer is not one they
// know (a user-defined Streamer, or ClassWeighted, whose weight depends on
// the anchor).
//
// Sums of stream values are taken in four interleaved lanes: value k of
// the stream (counting from 0 over the whole stream) is added to lane
// k mod 4, and the sum is (l0 + l1) + (l2 + l3). A loss computing a
// plan's statistics itself sums the same way, so that both paths give the
// same bits.
package streamband

import "math"

// Bit is 1 for true and 0 for false (compiled to a SETcc, no branch): the
// lane loops of losses and reducers count values inside a band with it.
func Bit(b bool) uint64 {
	var k uint64
	if b {
		k = 1
	}
	return k
}

// Mask returns v when k is 1 and +0 when k is 0, without a branch.
func Mask(v float64, k uint64) float64 {
	return math.Float64frombits(math.Float64bits(v) & -k)
}

// Band is the gradient of a reduction with respect to a value v: Weight
// when Low < v < High (±Inf: no bound), else 0.
type Band struct {
	Low, High, Weight float64
}

// At returns the gradient for the value v.
func (b Band) At(v float64) float64 {
	if v > b.Low && v < b.High {
		return b.Weight
	}
	return 0
}

// ReduceFunc is the signature of the function package reducers registers:
// it reduces the stream s (a reducers.Stream) with r (a reducers.Reducer)
// exactly as reducers.ReduceStream does and returns the gradient as a
// Band, or ok false, before reading the stream, when r has no Plan.
type ReduceFunc func(r, s any) (value float64, band Band, ok bool, err error)

// Plan is how a reducer reduces a stream from its statistics: n, the
// number of values strictly between Low and High (±Inf: no bound), and
// their lane sum. Finish returns the reduced value and the gradient.
// Component names the reducer in errors: a non-finite value is an error
// wrapping gometric.ErrNonFinite, "<Component>: sub-loss %q value %d is
// %v", as reducers.ReduceStream reports it.
type Plan struct {
	Component string
	Low, High float64
	Finish    func(n int, sum float64) (value float64, band Band)
}

// PlanFunc is the signature of the function package reducers registers:
// the plan of r (a reducers.Reducer) for the stream s (a reducers.Stream),
// or ok false when r has none or its settings are invalid (the caller
// then uses Reduce or reducers.ReduceStream, which report the error).
type PlanFunc func(r, s any) (p Plan, ok bool)

var (
	reduce ReduceFunc
	plan   PlanFunc
)

// Register installs the functions Reduce and PlanFor call. Package
// reducers calls it once, from an init function.
func Register(r ReduceFunc, p PlanFunc) { reduce, plan = r, p }

// PlanFor returns the plan of the reducer r for the stream s (see
// PlanFunc).
func PlanFor(r, s any) (Plan, bool) {
	if plan == nil {
		return Plan{}, false
	}
	return plan(r, s)
}

// Reduce reduces the stream s with r (see ReduceFunc).
func Reduce(r, s any) (value float64, band Band, ok bool, err error) {
	if reduce == nil {
		return 0, Band{}, false, nil
	}
	return reduce(r, s)
}
