package reducers

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/streamband"
)

// Stream is a sub-loss too large to hold in memory — all triplets of a
// large batch — whose values a loss produces on demand. It is reduced by
// ReduceStream, in passes over Each, with the same result as reducing the
// materialised SubLoss.
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

// Streamer is implemented by reducers whose gradient for a value depends
// only on that value and on the label of its first index (Mean, Sum,
// AvgNonZero, Threshold, Divisor, ClassWeighted), so a stream can be
// reduced without holding it.
type Streamer interface {
	// ReduceStream returns the reduced value and the gradient of a value
	// v whose first index is anchor.
	ReduceStream(s Stream, b Batch) (value float64, grad func(v float64, anchor int) float64, err error)
}

// ReduceStream reduces s with r when r can stream (a Streamer, or a
// Multiple whose reducer for s.Name is one); ok is false when it cannot and
// the caller must materialise the sub-loss and use Reduce instead.
func ReduceStream(r Reducer, s Stream, b Batch) (value float64, grad func(v float64, anchor int) float64, ok bool, err error) {
	st, isStreamer := resolve(r, s.Name).(Streamer)
	if !isStreamer {
		return 0, nil, false, nil
	}
	value, grad, err = st.ReduceStream(s, b)
	return value, grad, true, err
}

// streamStats is one pass over a stream: the count and sum of the values
// strictly between low and high (±Inf: no bound), with a check that every
// value is finite.
// forStream returns the reducer a Multiple applies to the sub-loss name.
func (m *Multiple) forStream(name string) Reducer {
	sub, found := m.Reducers[name]
	if !found {
		sub = m.Default
		if sub == nil {
			sub = &Mean{}
		}
	}
	return sub
}

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

func constGrad(w float64) func(float64, int) float64 { return func(float64, int) float64 { return w } }

func init() { streamband.Register(reduceBand, planFor) }

// planned is a reducer whose stream reduction is a streamband.Plan.
type planned interface {
	plan(s Stream) (streamband.Plan, error)
}

// resolve returns the reducer r applies to the stream named name.
func resolve(r Reducer, name string) Reducer {
	if m, isMultiple := r.(*Multiple); isMultiple && m != nil {
		return m.forStream(name)
	}
	return r
}

// planFor is the streamband.PlanFunc of this package.
func planFor(r, s any) (streamband.Plan, bool) {
	st, ok := s.(Stream)
	red, isReducer := r.(Reducer)
	if !ok || !isReducer {
		return streamband.Plan{}, false
	}
	pr, ok := resolve(red, st.Name).(planned)
	if !ok {
		return streamband.Plan{}, false
	}
	p, err := pr.plan(st)
	return p, err == nil
}

// reduceBand is the streamband.ReduceFunc of this package: the plan
// carried out over the stream's Each.
func reduceBand(r, s any) (float64, streamband.Band, bool, error) {
	st, ok := s.(Stream)
	red, isReducer := r.(Reducer)
	if !ok || !isReducer {
		return 0, streamband.Band{}, false, nil
	}
	pr, ok := resolve(red, st.Name).(planned)
	if !ok {
		return 0, streamband.Band{}, false, nil
	}
	v, band, err := runPlan(pr, st)
	return v, band, true, err
}

// runPlan reduces s by the plan of r over its Each.
func runPlan(r planned, s Stream) (float64, streamband.Band, error) {
	p, err := r.plan(s)
	if err != nil {
		return 0, streamband.Band{}, err
	}
	n, sum, err := streamStats(p.Component, s, p.Low, p.High)
	if err != nil {
		return 0, streamband.Band{}, err
	}
	v, band := p.Finish(n, sum)
	return v, band, nil
}

// streamGrad is runPlan with the gradient as the function of Streamer.
func streamGrad(r planned, s Stream) (float64, func(float64, int) float64, error) {
	v, b, err := runPlan(r, s)
	if err != nil {
		return 0, nil, err
	}
	return v, func(x float64, _ int) float64 { return b.At(x) }, nil
}

// checkKind rejects the kinds a stream cannot have.
func checkKind(component string, s Stream) error {
	if s.Kind == AlreadyReduced || validKind(component, s.Kind) != nil {
		return check.Settingf(component, "cannot stream a %v sub-loss", s.Kind)
	}
	return nil
}

// all is the band of every finite value.
func all(w float64) streamband.Band {
	return streamband.Band{Low: math.Inf(-1), High: math.Inf(1), Weight: w}
}

// perCount finishes a mean over the counted values: 0, with a zero
// gradient, when there is none.
func perCount(low, high float64) func(int, float64) (float64, streamband.Band) {
	return func(n int, sum float64) (float64, streamband.Band) {
		if n == 0 {
			return 0, all(0)
		}
		return sum / float64(n), streamband.Band{Low: low, High: high, Weight: 1 / float64(n)}
	}
}

// ReduceStream implements Streamer.
func (r *Mean) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	return streamGrad(r, s)
}

func (*Mean) plan(s Stream) (streamband.Plan, error) {
	const component = "reducers.Mean"
	if err := checkKind(component, s); err != nil {
		return streamband.Plan{}, err
	}
	lo, hi := math.Inf(-1), math.Inf(1)
	return streamband.Plan{Component: component, Low: lo, High: hi, Finish: perCount(lo, hi)}, nil
}

// ReduceStream implements Streamer.
func (r *Sum) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	return streamGrad(r, s)
}

func (*Sum) plan(s Stream) (streamband.Plan, error) {
	const component = "reducers.Sum"
	if err := checkKind(component, s); err != nil {
		return streamband.Plan{}, err
	}
	return streamband.Plan{Component: component, Low: math.Inf(-1), High: math.Inf(1),
		Finish: func(_ int, sum float64) (float64, streamband.Band) { return sum, all(1) }}, nil
}

// ReduceStream implements Streamer.
func (r *AvgNonZero) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	return streamGrad(r, s)
}

func (*AvgNonZero) plan(s Stream) (streamband.Plan, error) {
	return thresholdPlan("reducers.AvgNonZero", 0, math.Inf(1), s)
}

// ReduceStream implements Streamer.
func (t *Threshold) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	return streamGrad(t, s)
}

func (t *Threshold) plan(s Stream) (streamband.Plan, error) {
	if t == nil {
		return streamband.Plan{}, check.Settingf("reducers.Threshold", "nil *Threshold")
	}
	return thresholdPlan("reducers.Threshold", t.Low, t.High, s)
}

func thresholdPlan(component string, low, high float64, s Stream) (streamband.Plan, error) {
	if math.IsNaN(low) || math.IsNaN(high) {
		return streamband.Plan{}, check.Settingf(component, "low = %v, high = %v: a bound is NaN", low, high)
	}
	if math.IsInf(low, -1) && math.IsInf(high, 1) {
		return streamband.Plan{}, check.Settingf(component, "neither low nor high is set (low = -Inf, high = +Inf)")
	}
	if err := checkKind(component, s); err != nil {
		return streamband.Plan{}, err
	}
	return streamband.Plan{Component: component, Low: low, High: high, Finish: perCount(low, high)}, nil
}

// ReduceStream implements Streamer.
func (r *Divisor) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	return streamGrad(r, s)
}

func (*Divisor) plan(s Stream) (streamband.Plan, error) {
	const component = "reducers.Divisor"
	switch d := s.Divisor; {
	case !s.HasDivisor:
		return streamband.Plan{}, check.Settingf(component, "%s sub-loss %q has no divisor", s.Kind, s.Name)
	case math.IsNaN(d) || math.IsInf(d, 0):
		return streamband.Plan{}, check.Errorf(component, gometric.ErrNonFinite, "sub-loss %q has divisor %v", s.Name, d)
	case d < 0:
		return streamband.Plan{}, check.Settingf(component, "sub-loss %q has negative divisor %v", s.Name, d)
	}
	if err := checkKind(component, s); err != nil {
		return streamband.Plan{}, err
	}
	d := s.Divisor
	return streamband.Plan{Component: component, Low: math.Inf(-1), High: math.Inf(1),
		Finish: func(_ int, sum float64) (float64, streamband.Band) {
			if d == 0 {
				return 0, all(0)
			}
			return sum / d, all(1 / d)
		}}, nil
}

// ReduceStream implements Streamer.
func (c *ClassWeighted) ReduceStream(s Stream, b Batch) (float64, func(float64, int) float64, error) {
	const component = "reducers.ClassWeighted"
	if c == nil || len(c.Weights) == 0 {
		return 0, nil, check.Settingf(component, "no class weights")
	}
	if err := check.Floats(component, "weights", c.Weights); err != nil {
		return 0, nil, err
	}
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
