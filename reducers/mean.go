package reducers

import "github.com/gometric/gometric/internal/check"

// Mean mirrors PML's MeanReducer: the mean of the values, whatever their
// kind (gradient 1/n for each value).
//
// The zero value is PML's MeanReducer(), as NewMean returns it. A Mean is
// safe for concurrent use.
type Mean struct{}

// NewMean returns a Mean reducer (MeanReducer()).
func NewMean() *Mean { return &Mean{} }

// ReduceOne implements Reducer.
func (r *Mean) ReduceOne(l SubLoss, _ Batch) (float64, []float64, error) {
	const component = "reducers.Mean"
	if r == nil {
		return 0, nil, check.Settingf(component, "nil receiver")
	}
	v, g, done, err := base(component, l, false)
	if done || err != nil {
		return v, g, err
	}
	v, g = mean(l.Values)
	return finish(component, v, g)
}

// Sum mirrors PML's SumReducer: the sum of the values, whatever their kind
// (gradient 1 for each value).
//
// The zero value is PML's SumReducer(), as NewSum returns it. A Sum is
// safe for concurrent use.
type Sum struct{}

// NewSum returns a Sum reducer (SumReducer()).
func NewSum() *Sum { return &Sum{} }

// ReduceOne implements Reducer.
func (r *Sum) ReduceOne(l SubLoss, _ Batch) (float64, []float64, error) {
	const component = "reducers.Sum"
	if r == nil {
		return 0, nil, check.Settingf(component, "nil receiver")
	}
	v, g, done, err := base(component, l, false)
	if done || err != nil {
		return v, g, err
	}
	v, g = sum(l.Values)
	return finish(component, v, g)
}
