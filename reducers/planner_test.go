package reducers_test

import (
	"errors"
	"math"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/reducers"
)

// halfAvg embeds *reducers.AvgNonZero and overrides ReduceOne (half the
// mean of the positive values): it inherits AvgNonZero's PlanStream, whose
// plan is for the embedded reducer and must not be used for it.
type halfAvg struct{ *reducers.AvgNonZero }

func (h halfAvg) ReduceOne(l reducers.SubLoss, b reducers.Batch) (float64, []float64, error) {
	v, g, err := h.AvgNonZero.ReduceOne(l, b)
	for i := range g {
		g[i] /= 2
	}
	return v / 2, g, err
}

// brokenThreshold embeds a Threshold without bounds, whose PlanStream
// fails, and overrides ReduceOne: the error is not its own.
type brokenThreshold struct{ *reducers.Threshold }

func (brokenThreshold) ReduceOne(l reducers.SubLoss, b reducers.Batch) (float64, []float64, error) {
	return reducers.NewSum().ReduceOne(l, b)
}

// ownPlan plans its own stream: a banded plan that sums the values above
// 1.
type ownPlan struct{ planned *int }

func (o ownPlan) ReduceOne(l reducers.SubLoss, b reducers.Batch) (float64, []float64, error) {
	return reducers.NewThreshold(1, math.Inf(1)).ReduceOne(l, b)
}

func (o ownPlan) PlanStream(s reducers.Stream, b reducers.Batch) (reducers.StreamPlan, error) {
	*o.planned++
	p, _, err := reducers.PlanStream(reducers.NewThreshold(1, math.Inf(1)), s, b)
	p.Reducer = o
	return p, err
}

// oldStreamer implements the older Streamer interface.
type oldStreamer struct{}

func (oldStreamer) ReduceOne(l reducers.SubLoss, b reducers.Batch) (float64, []float64, error) {
	return reducers.NewMean().ReduceOne(l, b)
}

func (oldStreamer) ReduceStream(s reducers.Stream, b reducers.Batch) (float64, func(float64, int) float64, error) {
	v, g, _, err := reducers.ReduceStream(reducers.NewMean(), s, b)
	return v, g, err
}

// TestPlanStreamPaths checks which path PlanStream takes for the reducers
// of this package and for user reducers, and that every streamed path
// gives the numbers of Reduce on the materialised sub-loss.
func TestPlanStreamPaths(t *testing.T) {
	vals := []float64{0.5, 0, 2, -1, 3, 0.25, 1.5}
	sl := reducers.SubLoss{Name: "loss", Values: vals, Indices: [][]int{make([]int, len(vals))}, Kind: reducers.Element, Divisor: 4, HasDivisor: true}
	s := reducers.Stream{Name: "loss", Kind: reducers.Element, Len: len(vals), Divisor: 4, HasDivisor: true,
		Each: func(yield func([]float64, int) error) error { return yield(vals, 0) }}
	b := reducers.Batch{N: 1, Labels: []int{0}}
	planned := 0
	const (
		banded = iota
		general
		none
	)
	for _, tc := range []struct {
		name string
		r    reducers.Reducer
		path int
	}{
		{"Mean", reducers.NewMean(), banded},
		{"Sum", reducers.NewSum(), banded},
		{"AvgNonZero", reducers.NewAvgNonZero(), banded},
		{"Threshold", reducers.NewThreshold(0, 2), banded},
		{"Divisor", reducers.NewDivisor(), banded},
		{"ClassWeighted", reducers.NewClassWeighted([]float64{3}), general},
		{"Multiple", reducers.NewMultiple(map[string]reducers.Reducer{"loss": reducers.NewSum()}), banded},
		{"PerAnchor", reducers.NewPerAnchor(), none},
		{"embeds AvgNonZero", halfAvg{reducers.NewAvgNonZero()}, none},
		{"Multiple of an embedder", reducers.NewMultiple(map[string]reducers.Reducer{"loss": halfAvg{reducers.NewAvgNonZero()}}), none},
		{"embeds a failing Threshold", brokenThreshold{&reducers.Threshold{Low: math.NaN()}}, none},
		{"own PlanStream", ownPlan{&planned}, banded},
		{"Streamer", oldStreamer{}, general},
		{"plain", struct{ reducers.Reducer }{reducers.NewMean()}, none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, ok, err := reducers.PlanStream(tc.r, s, b)
			if err != nil {
				t.Fatal(err)
			}
			path := none
			switch {
			case ok && p.Finish != nil:
				path = banded
			case ok:
				path = general
			}
			if path != tc.path {
				t.Fatalf("path %d, want %d", path, tc.path)
			}
			if ok && p.Reducer != tc.r {
				t.Errorf("plan for %v", p.Reducer)
			}
			want, err := reducers.Reduce(tc.r, []reducers.SubLoss{sl}, b)
			if err != nil {
				t.Fatal(err)
			}
			v, grad, ok, err := reducers.ReduceStream(tc.r, s, b)
			if err != nil || ok != (tc.path != none) {
				t.Fatalf("ReduceStream: ok %v, err %v", ok, err)
			}
			if !ok {
				return
			}
			if v != want.Loss {
				t.Errorf("streamed %v, Reduce %v", v, want.Loss)
			}
			for i, x := range vals {
				if g := grad(x, 0); g != want.Grads[0][i] {
					t.Errorf("gradient %d: %v, want %v", i, g, want.Grads[0][i])
				}
			}
		})
	}
	if planned == 0 {
		t.Error("ownPlan's PlanStream was not called")
	}
	// A plan with both Finish and Reduce, and an error of the reducer's
	// own plan.
	p, ok, err := reducers.PlanStream(reducers.NewThreshold(math.NaN(), 1), s, b)
	if !ok || !errors.Is(err, gometric.ErrSetting) || p.Reducer != nil {
		t.Errorf("Threshold with a NaN bound: %v, %v, %v", p.Reducer, ok, err)
	}
	if _, _, err := (reducers.StreamPlan{}).ReduceBand(s); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("ReduceBand of an empty plan: %v", err)
	}
	if _, ok, err := reducers.PlanStream(bothPlan{}, s, b); !ok || !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("a plan with Finish and Reduce: %v, %v", ok, err)
	}
}

// bothPlan returns an invalid plan, both banded and general.
type bothPlan struct{}

func (bothPlan) ReduceOne(l reducers.SubLoss, b reducers.Batch) (float64, []float64, error) {
	return reducers.NewMean().ReduceOne(l, b)
}

func (p bothPlan) PlanStream(reducers.Stream, reducers.Batch) (reducers.StreamPlan, error) {
	return reducers.StreamPlan{Reducer: p, Finish: func(int, float64) (float64, reducers.Band) { return 0, reducers.Band{} },
		Reduce: func(reducers.Stream, reducers.Batch) (float64, func(float64, int) float64, error) { return 0, nil, nil }}, nil
}
