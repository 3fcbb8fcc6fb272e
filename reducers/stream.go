package reducers

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
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
	if m, isMultiple := r.(*Multiple); isMultiple && m != nil {
		sub, found := m.Reducers[s.Name]
		if !found {
			sub = m.Default
			if sub == nil {
				sub = &Mean{}
			}
		}
		r = sub
	}
	st, isStreamer := r.(Streamer)
	if !isStreamer {
		return 0, nil, false, nil
	}
	value, grad, err = st.ReduceStream(s, b)
	return value, grad, true, err
}

// streamStats is one pass over a stream: the count and sum of the values
// strictly between low and high (±Inf: no bound), with a check that every
// value is finite.
func streamStats(component string, s Stream, low, high float64) (n int, sum float64, err error) {
	if s.Kind == AlreadyReduced || validKind(component, s.Kind) != nil {
		return 0, 0, check.Settingf(component, "cannot stream a %v sub-loss", s.Kind)
	}
	if s.Each == nil || s.Len == 0 {
		return 0, 0, nil
	}
	i := 0
	err = s.Each(func(vals []float64, _ int) error {
		for k, v := range vals {
			if v != v || v > math.MaxFloat64 || v < -math.MaxFloat64 {
				return check.Errorf(component, gometric.ErrNonFinite, "sub-loss %q value %d is %v", s.Name, i+k, v)
			}
			if v > low && v < high {
				n++
				sum += v
			}
		}
		i += len(vals)
		return nil
	})
	if err == nil && i != s.Len {
		err = check.Errorf(component, gometric.ErrShape, "sub-loss %q streamed %d values, Len is %d", s.Name, i, s.Len)
	}
	return n, sum, err
}

func constGrad(w float64) func(float64, int) float64 { return func(float64, int) float64 { return w } }

// ReduceStream implements Streamer.
func (*Mean) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	n, sum, err := streamStats("reducers.Mean", s, math.Inf(-1), math.Inf(1))
	if err != nil || n == 0 {
		return 0, constGrad(0), err
	}
	return sum / float64(n), constGrad(1 / float64(n)), nil
}

// ReduceStream implements Streamer.
func (*Sum) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	_, sum, err := streamStats("reducers.Sum", s, math.Inf(-1), math.Inf(1))
	return sum, constGrad(1), err
}

// ReduceStream implements Streamer.
func (*AvgNonZero) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	return thresholdStream("reducers.AvgNonZero", 0, math.Inf(1), s)
}

// ReduceStream implements Streamer.
func (t *Threshold) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	if t == nil {
		return 0, nil, check.Settingf("reducers.Threshold", "nil *Threshold")
	}
	return thresholdStream("reducers.Threshold", t.Low, t.High, s)
}

func thresholdStream(component string, low, high float64, s Stream) (float64, func(float64, int) float64, error) {
	if math.IsNaN(low) || math.IsNaN(high) {
		return 0, nil, check.Settingf(component, "low = %v, high = %v: a bound is NaN", low, high)
	}
	if math.IsInf(low, -1) && math.IsInf(high, 1) {
		return 0, nil, check.Settingf(component, "neither low nor high is set (low = -Inf, high = +Inf)")
	}
	keep := func(v float64) bool { return v > low && v < high }
	n, sum, err := streamStats(component, s, low, high)
	if err != nil || n == 0 {
		return 0, constGrad(0), err
	}
	w := 1 / float64(n)
	return sum / float64(n), func(v float64, _ int) float64 {
		if keep(v) {
			return w
		}
		return 0
	}, nil
}

// ReduceStream implements Streamer.
func (*Divisor) ReduceStream(s Stream, _ Batch) (float64, func(float64, int) float64, error) {
	const component = "reducers.Divisor"
	switch d := s.Divisor; {
	case !s.HasDivisor:
		return 0, nil, check.Settingf(component, "%s sub-loss %q has no divisor", s.Kind, s.Name)
	case math.IsNaN(d) || math.IsInf(d, 0):
		return 0, nil, check.Errorf(component, gometric.ErrNonFinite, "sub-loss %q has divisor %v", s.Name, d)
	case d < 0:
		return 0, nil, check.Settingf(component, "sub-loss %q has negative divisor %v", s.Name, d)
	}
	_, sum, err := streamStats(component, s, math.Inf(-1), math.Inf(1))
	if err != nil || s.Divisor == 0 {
		return 0, constGrad(0), err
	}
	return sum / s.Divisor, constGrad(1 / s.Divisor), nil
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
