package reducers

// Mean mirrors PML's MeanReducer: the mean of the values, whatever their
// kind (gradient 1/n for each value).
type Mean struct{}

// NewMean returns a Mean reducer (MeanReducer()).
func NewMean() *Mean { return &Mean{} }

// ReduceOne implements Reducer.
func (*Mean) ReduceOne(l SubLoss, _ Batch) (float64, []float64, error) {
	const component = "reducers.Mean"
	v, g, done, err := base(component, l, false)
	if done || err != nil {
		return v, g, err
	}
	v, g = mean(l.Values)
	return finish(component, v, g)
}

// Sum mirrors PML's SumReducer: the sum of the values, whatever their kind
// (gradient 1 for each value).
type Sum struct{}

// NewSum returns a Sum reducer (SumReducer()).
func NewSum() *Sum { return &Sum{} }

// ReduceOne implements Reducer.
func (*Sum) ReduceOne(l SubLoss, _ Batch) (float64, []float64, error) {
	const component = "reducers.Sum"
	v, g, done, err := base(component, l, false)
	if done || err != nil {
		return v, g, err
	}
	v, g = sum(l.Values)
	return finish(component, v, g)
}
