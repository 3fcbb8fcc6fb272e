package reducers

import (
	"fmt"
	"math"
	"strconv"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// posInf is PML's c_f.pos_inf(float64) (torch.finfo(float64).max): the
// value PerAnchorReducer fills its anchor × other table with, so a pair
// loss exactly equal to it counts as absent.
const posInf = math.MaxFloat64

// maxBatch is the largest Batch.N that PerAnchor allocates its per-anchor
// values for (2^24 batch elements).
const maxBatch = 1 << 24

// PerAnchor mirrors PML's PerAnchorReducer (with its default
// aggregation_func): pair losses are first averaged per anchor, then the
// N per-anchor values are reduced by the inner Reducer as an Element
// record with indices 0..N-1 (N = Batch.N).
//
// For PosPair and NegPair records, anchor a's value is the mean of the
// losses of its pairs (a, other), or 0 when it has none. PML writes the
// losses into an N×N table, so PerAnchor reproduces its quirks without
// building the table: when the same (anchor, other) pair occurs several
// times only the last value counts; a loss equal to math.MaxFloat64 (PML's
// pos_inf filler) counts as absent. The gradient is the one PML's autograd
// returns: value k gets the inner gradient of its anchor divided by the
// anchor's number of pairs, or 0 when its table cell holds
// math.MaxFloat64. For a duplicated pair this means every occurrence gets
// the cell's gradient (torch's index_put backward gathers the cell's
// gradient for each write), although only the last occurrence affects the
// value; without duplicates the gradient is d(value)/d(Values).
//
// Element records are handed to the inner reducer unchanged (as PML's
// element_reduction does, under the name "loss" and without a divisor);
// AlreadyReduced records are passed through (BaseReducer); Triplet records
// are an error wrapping gometric.ErrUnsupported, as PML raises
// NotImplementedError. Indices of pair records are required and must lie
// in [0, Batch.N) (gometric.ErrIndex). The per-anchor values have Batch.N
// entries, so Batch.N is limited to 2^24 (a larger one is an error
// wrapping gometric.ErrShape), and must equal len(Batch.Labels) when
// labels are given.
//
// The zero value is PML's PerAnchorReducer(), as NewPerAnchor returns it.
// A PerAnchor is safe for concurrent use when its Reducer is, while its
// fields are not being changed.
type PerAnchor struct {
	// Reducer reduces the per-anchor values. If Reducer is nil, Mean (PML's
	// default MeanReducer) is used.
	Reducer Reducer
}

// NewPerAnchor returns a PerAnchor reducer with PML's default inner
// reducer, Mean (PerAnchorReducer()).
func NewPerAnchor() *PerAnchor { return &PerAnchor{Reducer: NewMean()} }

// ReduceOne implements Reducer.
func (p *PerAnchor) ReduceOne(l SubLoss, b Batch) (float64, []float64, error) {
	const component = "reducers.PerAnchor"
	if p == nil {
		return 0, nil, check.Settingf(component, "nil receiver")
	}
	pair := l.Kind == PosPair || l.Kind == NegPair
	v, g, done, err := base(component, l, pair)
	if done || err != nil {
		return v, g, err
	}
	inner := p.Reducer
	if inner == nil {
		inner = &Mean{}
	}
	switch l.Kind {
	case Element:
		return p.inner(component, inner, SubLoss{Name: "loss", Values: l.Values, Indices: l.Indices, Kind: Element}, b)
	case Triplet:
		return 0, nil, check.Errorf(component, gometric.ErrUnsupported, "triplet sub-loss %q: triplet reduction is not supported", l.Name)
	}
	n := b.N
	if n < 0 || n > maxBatch {
		return 0, nil, check.Errorf(component, gometric.ErrShape, "batch size %d is outside [0, %d]", n, maxBatch)
	}
	if b.Labels != nil && len(b.Labels) != n {
		return 0, nil, check.Errorf(component, gometric.ErrShape, "batch size %d with %d labels", n, len(b.Labels))
	}
	anchors, others := l.Indices[0], l.Indices[1]
	if err := check.Indices(component, "sub-loss "+strconv.Quote(l.Name)+" anchor indices", anchors, n); err != nil {
		return 0, nil, err
	}
	what := "positive"
	if l.Kind == NegPair {
		what = "negative"
	}
	if err := check.Indices(component, "sub-loss "+strconv.Quote(l.Name)+" "+what+" indices", others, n); err != nil {
		return 0, nil, err
	}

	// last[cell] is the index of the last value written to the cell, which
	// is the one PML's table keeps.
	last := make(map[[2]int]int, len(l.Values))
	for k := range l.Values {
		last[[2]int{anchors[k], others[k]}] = k
	}
	sums := make([]float64, n)
	counts := make([]int, n)
	for k, x := range l.Values {
		if last[[2]int{anchors[k], others[k]}] != k || x == posInf {
			continue
		}
		sums[anchors[k]] += x
		counts[anchors[k]]++
	}
	perAnchor := make([]float64, n)
	arange := make([]int, n)
	for a := range perAnchor {
		arange[a] = a
		if counts[a] > 0 {
			perAnchor[a] = sums[a] / float64(counts[a])
		}
	}
	v, ga, err := p.inner(component, inner, SubLoss{Name: "loss", Values: perAnchor, Indices: [][]int{arange}, Kind: Element}, b)
	if err != nil {
		return 0, nil, err
	}
	g = make([]float64, len(l.Values))
	for k := range l.Values {
		if l.Values[last[[2]int{anchors[k], others[k]}]] == posInf {
			continue
		}
		a := anchors[k]
		g[k] = ga[a] / float64(counts[a])
	}
	return finish(component, v, g)
}

// inner runs the inner reducer and checks that its gradient has one entry
// per value.
func (*PerAnchor) inner(component string, r Reducer, l SubLoss, b Batch) (float64, []float64, error) {
	v, g, err := r.ReduceOne(l, b)
	if err != nil {
		return 0, nil, fmt.Errorf("%s: inner reducer: %w", component, err)
	}
	if len(g) != len(l.Values) {
		return 0, nil, check.Errorf(component, gometric.ErrShape,
			"inner reducer %T returned %d gradient entries for %d values", r, len(g), len(l.Values))
	}
	return finish(component, v, g)
}
