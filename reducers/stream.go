package reducers

import (
	"math"
	"reflect"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Stream is a sub-loss too large to hold in memory — all triplets of a
// large batch — whose values a loss produces on demand. It is reduced by
// ReduceStream, in passes over Each, with the same result as reducing the
// materialised SubLoss. The zero Stream has no values (a zero loss, of
// kind Element). A Stream may be reduced by several goroutines at once
// when its Each may be called concurrently.
type Stream struct {
	// Name, Kind, Divisor and HasDivisor are as in SubLoss. Kind must not
	// be AlreadyReduced.
	Name       string
	Kind       Kind
	Divisor    float64
	HasDivisor bool
	// Len is the number of values Each yields.
	Len int
	// Each calls yield with the values in order, in runs that share their
	// first index (the element, or the anchor of a pair or triplet): each
	// call passes a run of values and that index. yield must not retain
	// the slice. Each returns yield's first error.
	Each func(yield func(values []float64, anchor int) error) error
}

// Band is the gradient of a banded reduction with respect to one value v
// (see StreamPlan): Weight when Low < v < High (±Inf: no bound), else 0.
// The zero Band is 0 everywhere. A Band is a plain value, safe for
// concurrent use.
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

// StreamPlan is how a reducer reduces one Stream, as StreamPlanner
// returns it. It is one of:
//
//   - banded (Finish set): the reduction depends only on n, the number of
//     values strictly between Low and High (±Inf: no bound), and their
//     sum in four lanes by position (value k of the stream, counting from
//     0 over the whole stream, added to lane k mod 4; the sum is
//     (l0 + l1) + (l2 + l3)), and its gradient is the Band Finish
//     returns. A loss can then compute n and the sum in the loop that
//     produces the values, and apply the gradient without a call per
//     value; ReduceBand makes the pass over Each instead.
//   - general (Reduce set): Reduce makes its own passes over s.Each and
//     returns the value and the gradient of a value v whose first index
//     is anchor.
//   - none (neither set): the reducer cannot stream s; the caller
//     materialises the sub-loss and uses Reduce.
//
// The zero StreamPlan is a plan of none. The plans of this package's
// reducers are safe for concurrent use.
type StreamPlan struct {
	// Reducer is the reducer the plan is for: the receiver of PlanStream.
	// PlanStream (the function) uses a plan only when it is the very
	// reducer it was given (see StreamPlanner).
	Reducer Reducer
	// Component names the reducer in the errors of a banded plan: a
	// non-finite value is an error wrapping gometric.ErrNonFinite,
	// "<Component>: sub-loss %q value %d is %v".
	Component string
	// Low, High and Finish make a banded plan.
	Low, High float64
	Finish    func(n int, sum float64) (value float64, grad Band)
	// Reduce makes a general plan.
	Reduce func(s Stream, b Batch) (value float64, grad func(v float64, anchor int) float64, err error)
}

// ReduceBand reduces s by the banded plan p: one pass over s.Each for the
// number and the lane sum of the values inside the band, then Finish. A
// non-finite value, or a number of values other than s.Len, is an error.
func (p StreamPlan) ReduceBand(s Stream) (value float64, grad Band, err error) {
	if p.Finish == nil {
		return 0, Band{}, check.Settingf("reducers.StreamPlan", "ReduceBand of a plan that is not banded")
	}
	n, sum, err := streamStats(p.Component, s, p.Low, p.High)
	if err != nil {
		return 0, Band{}, err
	}
	value, grad = p.Finish(n, sum)
	return value, grad, nil
}

// StreamPlanner is the optional interface of a Reducer that can reduce a
// Stream — all triplets of a large batch, produced on demand — without
// holding its values; package losses streams through it. A Reducer of
// your own need not implement it: a loss then materialises the sub-loss
// and calls ReduceOne (the generic path), with the same numbers.
//
// Mean, Sum, AvgNonZero, Threshold and Divisor return banded plans;
// ClassWeighted, whose weight depends on the anchor's label, a general
// one; Multiple the plan of its reducer for the stream's name; PerAnchor
// and DoNothing do not implement it.
//
// PlanStream reads only s's header (Name, Kind, Divisor, HasDivisor, Len)
// and b, never s.Each; the plan it returns must reduce s exactly as
// ReduceOne reduces the materialised sub-loss (to rounding), and its
// Reducer must be the receiver itself, also when PlanStream returns an
// error (the other fields then zero), so that the error is attributed to
// it. PlanStream of this package's reducers is safe for concurrent use.
//
// A type that embeds one of this package's reducers (say *AvgNonZero) and
// overrides ReduceOne inherits its PlanStream, whose plans are for the
// embedded *AvgNonZero. The function PlanStream sees that the plan is not
// for the value it was given and ignores it (and its error): the sub-loss
// is materialised and reduced by the type's own ReduceOne. Define
// PlanStream on such a type (or do not embed) to stream it.
type StreamPlanner interface {
	Reducer
	// PlanStream returns the plan for the stream s of the batch b.
	PlanStream(s Stream, b Batch) (StreamPlan, error)
}

// Streamer is the older, simpler optional interface of a Reducer of your own
// that reduces a Stream itself: PlanStream (the function) wraps it in a
// general plan when the reducer is not a StreamPlanner. Unlike a
// StreamPlanner's plan, ReduceStream does not say which reducer it is for: a
// type that embeds your Streamer inherits it. A loss in concurrent use calls
// ReduceStream from several goroutines at once, so an implementation must be
// safe for concurrent use wherever its losses are. No reducer of this
// package implements it (they are StreamPlanners), so that a type embedding
// one of them does not inherit a ReduceStream method.
type Streamer interface {
	// ReduceStream returns the reduced value and the gradient of a value
	// v whose first index is anchor.
	ReduceStream(s Stream, b Batch) (value float64, grad func(v float64, anchor int) float64, err error)
}

// PlanStream returns the plan of r for the stream s of the batch b: r's
// own when r is a StreamPlanner whose plan is for r itself, a general plan
// around ReduceStream when r is a Streamer, and ok false (no error) when r
// cannot stream s, so that the caller materialises it and uses Reduce.
// An error of r's PlanStream is returned with ok true.
func PlanStream(r Reducer, s Stream, b Batch) (plan StreamPlan, ok bool, err error) {
	if pl, isPlanner := r.(StreamPlanner); isPlanner {
		p, err := pl.PlanStream(s, b)
		switch {
		case p.Reducer == nil && err != nil, p.Reducer != nil && same(p.Reducer, r) && err != nil:
			return StreamPlan{}, true, err
		case p.Reducer != nil && same(p.Reducer, r):
			if p.Finish != nil && p.Reduce != nil {
				return StreamPlan{}, true, check.Settingf("reducers.PlanStream", "reducer %T returned a plan with both Finish and Reduce", r)
			}
			if p.Finish == nil && p.Reduce == nil {
				return StreamPlan{}, false, nil
			}
			if p.Component == "" {
				p.Component = reflect.TypeOf(r).String()
			}
			return p, true, nil
		}
		// A plan for another reducer: inherited through embedding.
	}
	if st, isStreamer := r.(Streamer); isStreamer {
		return StreamPlan{Reducer: r, Component: reflect.TypeOf(r).String(), Reduce: func(s Stream, b Batch) (float64, func(float64, int) float64, error) {
			return st.ReduceStream(s, b)
		}}, true, nil
	}
	return StreamPlan{}, false, nil
}

// ReduceStream reduces s with r when r can stream it (see PlanStream),
// with the same result as Reduce on the materialised sub-loss; ok is
// false when it cannot, and the caller must materialise the sub-loss and
// use Reduce instead.
func ReduceStream(r Reducer, s Stream, b Batch) (value float64, grad func(v float64, anchor int) float64, ok bool, err error) {
	p, ok, err := PlanStream(r, s, b)
	if err != nil || !ok {
		return 0, nil, ok, err
	}
	if p.Finish == nil {
		value, grad, err = p.Reduce(s, b)
		return value, grad, true, err
	}
	value, band, err := p.ReduceBand(s)
	if err != nil {
		return 0, nil, true, err
	}
	return value, func(v float64, _ int) float64 { return band.At(v) }, true, nil
}

// same reports whether a and b are the very same value: of one comparable
// dynamic type, and equal (for pointers: the same pointer). It never
// panics on uncomparable values.
func same(a, b Reducer) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// PlanStream implements StreamPlanner: the plan of the reducer for s.Name
// (see PlanStream, the function), reported as m's.
func (m *Multiple) PlanStream(s Stream, b Batch) (StreamPlan, error) {
	const component = "reducers.Multiple"
	if m == nil {
		return StreamPlan{}, check.Settingf(component, "nil receiver")
	}
	sub, err := m.forName(component, s.Name)
	if err != nil {
		return StreamPlan{Reducer: m}, err
	}
	p, ok, err := PlanStream(sub, s, b)
	if err != nil || !ok {
		return StreamPlan{Reducer: m}, err
	}
	p.Reducer = m
	return p, nil
}

// streamStats is one pass over a stream: the count and sum of the values
// strictly between low and high (±Inf: no bound), with a check that every
// value is finite.
func streamStats(component string, s Stream, low, high float64) (n int, sum float64, err error) {
	if err := checkKind(component, s); err != nil {
		return 0, 0, err
	}
	if s.Each == nil || s.Len == 0 {
		return 0, 0, nil
	}
	i := 0
	var acc [4]float64
	err = s.Each(func(vals []float64, _ int) error {
		if k := check.NonFinite(vals); k >= 0 {
			return check.Errorf(component, gometric.ErrNonFinite, "sub-loss %q value %d is %v", s.Name, i+k, vals[k])
		}
		n += bandSum(&acc, i, vals, low, high)
		i += len(vals)
		return nil
	})
	if err == nil && i != s.Len {
		err = check.Errorf(component, gometric.ErrShape, "sub-loss %q streamed %d values, Len is %d", s.Name, i, s.Len)
	}
	return n, laneTotal(&acc), err
}

// checkKind rejects the kinds a stream cannot have.
func checkKind(component string, s Stream) error {
	if s.Kind == AlreadyReduced || validKind(component, s.Kind) != nil {
		return check.Settingf(component, "cannot stream a %v sub-loss", s.Kind)
	}
	return nil
}

// all is the band of every finite value.
func all(w float64) Band {
	return Band{Low: math.Inf(-1), High: math.Inf(1), Weight: w}
}

// perCount finishes a mean over the counted values: 0, with a zero
// gradient, when there is none.
func perCount(low, high float64) func(int, float64) (float64, Band) {
	return func(n int, sum float64) (float64, Band) {
		if n == 0 {
			return 0, all(0)
		}
		return sum / float64(n), Band{Low: low, High: high, Weight: 1 / float64(n)}
	}
}

// banded returns the banded plan of the reducer r for s, after checking
// the stream's kind.
func banded(r Reducer, component string, s Stream, low, high float64, finish func(int, float64) (float64, Band)) (StreamPlan, error) {
	if err := checkKind(component, s); err != nil {
		return StreamPlan{Reducer: r}, err
	}
	return StreamPlan{Reducer: r, Component: component, Low: low, High: high, Finish: finish}, nil
}

// PlanStream implements StreamPlanner: a banded plan, every value with
// weight 1/n.
func (r *Mean) PlanStream(s Stream, _ Batch) (StreamPlan, error) {
	const component = "reducers.Mean"
	if r == nil {
		return StreamPlan{}, check.Settingf(component, "nil receiver")
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	return banded(r, component, s, lo, hi, perCount(lo, hi))
}

// PlanStream implements StreamPlanner: a banded plan, every value with
// weight 1.
func (r *Sum) PlanStream(s Stream, _ Batch) (StreamPlan, error) {
	if r == nil {
		return StreamPlan{}, check.Settingf("reducers.Sum", "nil receiver")
	}
	return banded(r, "reducers.Sum", s, math.Inf(-1), math.Inf(1),
		func(_ int, sum float64) (float64, Band) { return sum, all(1) })
}

// PlanStream implements StreamPlanner: a banded plan, the values above 0
// with weight 1/n.
func (r *AvgNonZero) PlanStream(s Stream, _ Batch) (StreamPlan, error) {
	if r == nil {
		return StreamPlan{}, check.Settingf("reducers.AvgNonZero", "nil receiver")
	}
	return thresholdPlan(r, "reducers.AvgNonZero", 0, math.Inf(1), s)
}

// PlanStream implements StreamPlanner: a banded plan, the values strictly
// between Low and High with weight 1/n.
func (t *Threshold) PlanStream(s Stream, _ Batch) (StreamPlan, error) {
	if t == nil {
		return StreamPlan{}, t.check()
	}
	if err := t.check(); err != nil {
		return StreamPlan{Reducer: t}, err
	}
	return thresholdPlan(t, "reducers.Threshold", t.Low, t.High, s)
}

func thresholdPlan(r Reducer, component string, low, high float64, s Stream) (StreamPlan, error) {
	if math.IsNaN(low) || math.IsNaN(high) {
		return StreamPlan{Reducer: r}, check.Settingf(component, "low = %v, high = %v: a bound is NaN", low, high)
	}
	if math.IsInf(low, -1) && math.IsInf(high, 1) {
		return StreamPlan{Reducer: r}, check.Settingf(component, "neither low nor high is set (low = -Inf, high = +Inf)")
	}
	return banded(r, component, s, low, high, perCount(low, high))
}

// PlanStream implements StreamPlanner: a banded plan, every value with
// weight 1/s.Divisor.
func (r *Divisor) PlanStream(s Stream, _ Batch) (StreamPlan, error) {
	const component = "reducers.Divisor"
	if r == nil {
		return StreamPlan{}, check.Settingf(component, "nil receiver")
	}
	switch d := s.Divisor; {
	case !s.HasDivisor:
		return StreamPlan{Reducer: r}, check.Settingf(component, "%s sub-loss %q has no divisor", s.Kind, s.Name)
	case math.IsNaN(d) || math.IsInf(d, 0):
		return StreamPlan{Reducer: r}, check.Errorf(component, gometric.ErrNonFinite, "sub-loss %q has divisor %v", s.Name, d)
	case d < 0:
		return StreamPlan{Reducer: r}, check.Settingf(component, "sub-loss %q has negative divisor %v", s.Name, d)
	}
	d := s.Divisor
	return banded(r, component, s, math.Inf(-1), math.Inf(1), func(_ int, sum float64) (float64, Band) {
		if d == 0 {
			return 0, all(0)
		}
		return sum / d, all(1 / d)
	})
}

// PlanStream implements StreamPlanner: a general plan, whose gradient for
// a value is the weight of its anchor's label over the number of values.
func (c *ClassWeighted) PlanStream(s Stream, _ Batch) (StreamPlan, error) {
	const component = "reducers.ClassWeighted"
	if c == nil {
		return StreamPlan{}, check.Settingf(component, "nil receiver")
	}
	if len(c.Weights) == 0 {
		return StreamPlan{Reducer: c}, errNoWeights()
	}
	if err := check.Floats(component, "weights", c.Weights); err != nil {
		return StreamPlan{Reducer: c}, err
	}
	return StreamPlan{Reducer: c, Component: component, Reduce: c.reduceStream}, nil
}

func (c *ClassWeighted) reduceStream(s Stream, b Batch) (float64, func(float64, int) float64, error) {
	const component = "reducers.ClassWeighted"
	if _, _, err := streamStats(component, s, math.Inf(-1), math.Inf(1)); err != nil || s.Len == 0 {
		return 0, constGrad(0), err
	}
	if err := check.Labels(component, "labels", b.Labels, b.N); err != nil {
		return 0, nil, err
	}
	var sum float64
	err := s.Each(func(vals []float64, a int) error {
		if a < 0 || a >= b.N {
			return check.Errorf(component, gometric.ErrIndex, "sub-loss %q anchor %d is outside [0, %d)", s.Name, a, b.N)
		}
		lab := b.Labels[a]
		if lab < 0 || lab >= len(c.Weights) {
			return check.Errorf(component, gometric.ErrIndex, "label %d of batch element %d is outside the %d class weights", lab, a, len(c.Weights))
		}
		for _, v := range vals {
			sum += v * c.Weights[lab]
		}
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	n := float64(s.Len)
	return sum / n, func(_ float64, a int) float64 { return c.Weights[b.Labels[a]] / n }, nil
}

func constGrad(w float64) func(float64, int) float64 { return func(float64, int) float64 { return w } }
