package reducers

import (
	"math"
	"strconv"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// ClassWeighted mirrors PML's ClassWeightedReducer: the mean of
// value × Weights[label], where label is the batch label of the record's
// first index (the element for Element records, the anchor for pairs and
// triplets). The gradient of value i is its weight divided by the number
// of values.
//
// It reads Batch.Labels (one per batch element, else an error wrapping
// gometric.ErrLabels) and the record's indices (required; outside
// [0, Batch.N) is an error wrapping gometric.ErrIndex). A label outside
// Weights is an error wrapping gometric.ErrIndex. AlreadyReduced records
// are passed through (BaseReducer) without reading labels.
//
// The zero value has no weights: it is refused with an error wrapping
// gometric.ErrSetting that names NewClassWeighted. A ClassWeighted is safe
// for concurrent use while its fields and the elements of Weights are not
// being changed.
type ClassWeighted struct {
	// Weights holds one weight per class label (PML's weights tensor).
	// It must be non-empty and finite (else gometric.ErrSetting).
	Weights []float64
}

// NewClassWeighted returns a ClassWeighted reducer
// (ClassWeightedReducer(weights)). The slice is used, not copied.
func NewClassWeighted(weights []float64) *ClassWeighted {
	return &ClassWeighted{Weights: weights}
}

// ReduceOne implements Reducer.
func (c *ClassWeighted) ReduceOne(l SubLoss, b Batch) (float64, []float64, error) {
	const component = "reducers.ClassWeighted"
	if c == nil {
		return 0, nil, check.Settingf(component, "nil receiver")
	}
	if len(c.Weights) == 0 {
		return 0, nil, errNoWeights()
	}
	for i, w := range c.Weights {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return 0, nil, check.Settingf(component, "weight %d is %v", i, w)
		}
	}
	v, g, done, err := base(component, l, true)
	if done || err != nil {
		return v, g, err
	}
	if b.Labels == nil {
		return 0, nil, check.Errorf(component, gometric.ErrLabels, "the batch labels are required")
	}
	if err := check.Labels(component, "labels", b.Labels, b.N); err != nil {
		return 0, nil, err
	}
	idx := l.Indices[0]
	what := "sub-loss " + strconv.Quote(l.Name) + " indices"
	if l.Kind != Element {
		what = "sub-loss " + strconv.Quote(l.Name) + " anchor indices"
	}
	if err := check.Indices(component, what, idx, b.N); err != nil {
		return 0, nil, err
	}
	n := float64(len(l.Values))
	g = make([]float64, len(l.Values))
	s := 0.0
	for k, x := range l.Values {
		lab := b.Labels[idx[k]]
		if lab < 0 || lab >= len(c.Weights) {
			return 0, nil, check.Errorf(component, gometric.ErrIndex,
				"label %d of batch element %d (value %d of sub-loss %q) is outside the %d class weights",
				lab, idx[k], k, l.Name, len(c.Weights))
		}
		w := c.Weights[lab]
		s += x * w
		g[k] = w / n
	}
	return finish(component, s/n, g)
}

// errNoWeights is the error of a ClassWeighted without weights.
func errNoWeights() error {
	return check.Settingf("reducers.ClassWeighted", "no class weights (the zero value has none: use NewClassWeighted(weights))")
}
