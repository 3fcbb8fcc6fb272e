package regularizers

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// Regularizer mirrors PML's BaseRegularizer: a penalty on a matrix whose
// rows are embeddings or class weights, reduced to a scalar by the
// regularizer's reducer. This package's regularizers keep no state: each
// is safe for concurrent use as long as its fields are not changed
// meanwhile and its Distance and Reducer are safe for concurrent use.
type Regularizer interface {
	// Compute returns the reduced penalty and its gradient with respect
	// to x (same shape as x). It mirrors BaseRegularizer.forward.
	Compute(x *mat.Dense) (value float64, grad *mat.Dense, err error)
}

// reduce runs the reducer over one element sub-loss the way
// BaseRegularizer.forward does: the labels it passes are 0..N-1.
func reduce(r reducers.Reducer, values []float64, n int, divisor float64, hasDivisor bool) (float64, []float64, error) {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i
	}
	out, err := reducers.Reduce(r, []reducers.SubLoss{{
		Name:       "loss",
		Values:     values,
		Indices:    [][]int{idx},
		Kind:       reducers.Element,
		Divisor:    divisor,
		HasDivisor: hasDivisor,
	}}, reducers.Batch{N: n, Labels: labels})
	if err != nil {
		return 0, nil, err
	}
	return out.Loss, out.Grads[0], nil
}

// nilReceiver is the error of Compute called on a nil regularizer.
func nilReceiver(component string) error {
	return check.Settingf(component, "nil receiver")
}

func orMean(r reducers.Reducer) reducers.Reducer {
	if r == nil {
		return reducers.NewMean()
	}
	return r
}

func validP(component string, p float64) error {
	if !(p >= 1) {
		return check.Settingf(component, "p = %v, want p >= 1", p)
	}
	return nil
}

// finish returns an error wrapping gometric.ErrNonFinite when the value or
// the gradient overflowed (inputs too large for float64), so no NaN or Inf
// leaves a regularizer silently.
func finish(component string, val float64, grad *mat.Dense) (float64, *mat.Dense, error) {
	if math.IsNaN(val) || math.IsInf(val, 0) {
		return 0, nil, check.Errorf(component, gometric.ErrNonFinite, "the penalty is %v (the input is too large)", val)
	}
	r, _ := grad.Dims()
	for i := 0; i < r; i++ {
		for j, v := range grad.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, nil, check.Errorf(component, gometric.ErrNonFinite, "gradient (%d,%d) is %v (the input is too large or has coinciding rows)", i, j, v)
			}
		}
	}
	return val, grad, nil
}
