package reducers_test

import (
	"fmt"
	"math"
	"reflect"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/reducers"
)

// concurrentReducer shares r, the sub-loss, the stream and the batch
// between goroutines (run with -race): ReduceOne, Reduce and the streamed
// reduction (PlanStream, and ReduceBand of a banded plan) give every
// goroutine the result of a lone call.
func concurrentReducer(t *testing.T, r reducers.Reducer) {
	l, s, b := zeroCase()
	b.Labels = []int{1, 3}
	wantV, wantG, wantErr := r.ReduceOne(l, b)
	wantS, _, wantOK, err := reducers.ReduceStream(r, s, b)
	if err != nil {
		t.Fatalf("%T: %v", r, err)
	}
	testkit.Concurrently(t, 8, 20, func(int) error {
		v, g, err := r.ReduceOne(l, b)
		if (err == nil) != (wantErr == nil) || v != wantV || !reflect.DeepEqual(g, wantG) {
			return fmt.Errorf("%T: ReduceOne %v, %v, %v", r, v, g, err)
		}
		vs, _, ok, err := reducers.ReduceStream(r, s, b)
		if err != nil || ok != wantOK || vs != wantS {
			return fmt.Errorf("%T: ReduceStream %v, %v, %v", r, vs, ok, err)
		}
		if p, ok, err := reducers.PlanStream(r, s, b); err != nil {
			return err
		} else if ok && p.Finish != nil {
			if v, _, err := p.ReduceBand(s); err != nil || v != wantS {
				return fmt.Errorf("%T: ReduceBand %v, %v", r, v, err)
			}
		}
		return nil
	})
}

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
func TestConcurrencyClaims(t *testing.T) {
	each := func(rs ...reducers.Reducer) func(t *testing.T) {
		return func(t *testing.T) {
			for _, r := range rs {
				concurrentReducer(t, r)
			}
		}
	}
	all := func(t *testing.T) {
		for _, nr := range allReducers() {
			concurrentReducer(t, nr.r)
		}
		concurrentReducer(t, reducers.NewDoNothing())
	}
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Mean", Run: each(reducers.NewMean())},
		{Type: "Sum", Run: each(reducers.NewSum())},
		{Type: "AvgNonZero", Run: each(reducers.NewAvgNonZero())},
		{Type: "Divisor", Run: each(reducers.NewDivisor())},
		{Type: "Threshold", Run: each(reducers.NewThreshold(0.3, 1.5), reducers.NewThreshold(math.Inf(-1), 1))},
		{Type: "ClassWeighted", Run: each(reducers.NewClassWeighted([]float64{0.5, 1, 2, 3}))},
		{Type: "PerAnchor", Run: each(reducers.NewPerAnchor(), &reducers.PerAnchor{Reducer: reducers.NewClassWeighted([]float64{2, 0.5, 1, 3})})},
		{Type: "Multiple", Run: each(&reducers.Multiple{
			Reducers: map[string]reducers.Reducer{"loss": reducers.NewThreshold(0.3, 1.5)},
			Default:  reducers.NewAvgNonZero(),
		})},
		{Type: "DoNothing", Run: each(reducers.NewDoNothing())},
		// The interfaces' claims are about this package's implementations.
		{Type: "Reducer", Run: all},
		{Type: "StreamPlanner", Run: all},
		{Type: "StreamPlan", Run: all},
		// Plain data shared by the goroutines above (the sub-loss, the
		// stream, whose Each may be called concurrently, and the batch),
		// and the data types read here.
		{Type: "SubLoss", Run: all},
		{Type: "Stream", Run: all},
		{Type: "Batch", Run: all},
		{Type: "Output", Run: func(t *testing.T) {
			l, _, b := zeroCase()
			out, err := reducers.Reduce(reducers.NewMean(), []reducers.SubLoss{l, l}, b)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 50, func(int) error {
				if s := out.Parts[0] + out.Parts[1]; s != out.Loss || len(out.Grads[1]) != len(l.Values) {
					return fmt.Errorf("output %+v", out)
				}
				return nil
			})
		}},
		{Type: "Kind", Run: func(t *testing.T) {
			k := reducers.NegPair
			testkit.Concurrently(t, 4, 50, func(int) error {
				if got, err := reducers.ParseKind(k.String()); err != nil || got != k {
					return fmt.Errorf("kind %v: %v, %v", k, got, err)
				}
				return nil
			})
		}},
		{Type: "Band", Run: func(t *testing.T) {
			band := reducers.Band{Low: 0, High: 2, Weight: 0.25}
			testkit.Concurrently(t, 4, 50, func(int) error {
				if band.At(1) != 0.25 || band.At(2) != 0 {
					return fmt.Errorf("band %+v", band)
				}
				return nil
			})
		}},
	})
}
