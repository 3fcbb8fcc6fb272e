package logging_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/logging"
)

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
// A HookContainer is documented unsafe (it is one run's state).
func TestConcurrencyClaims(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"HookContainer", "EpochRecord", "IterationRecord", "EarlierRunError", "ComponentError"})
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "EpochRecord", Run: func(t *testing.T) {
			r := logging.EpochRecord{Epoch: 2, Train: &trainers.EpochInfo{Epoch: 2}, Metrics: accuracy.Results{accuracy.NameMeanAveragePrecisionAtR: {Scalar: 0.5}}}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if v, ok := r.Primary(accuracy.NameMeanAveragePrecisionAtR); !ok || v != 0.5 || r.Train.Epoch != r.Epoch {
					return fmt.Errorf("record %+v", r)
				}
				return nil
			})
		}},
		{Type: "IterationRecord", Run: func(t *testing.T) {
			r := logging.IterationRecord{GlobalIteration: 3, Parts: map[string]float64{"a": 1}}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if r.Parts["a"] != 1 || r.GlobalIteration != 3 {
					return fmt.Errorf("record %+v", r)
				}
				return nil
			})
		}},
		{Type: "EarlierRunError", Run: func(t *testing.T) {
			e := &logging.EarlierRunError{Dir: "d", Files: []string{"checkpoint.gmw"}}
			want := e.Error()
			testkit.Concurrently(t, 4, 20, func(int) error {
				if e.Error() != want || !errors.Is(e, gometric.ErrSetting) {
					return fmt.Errorf("error %v", e)
				}
				return nil
			})
		}},
		{Type: "ComponentError", Run: func(t *testing.T) {
			e := &logging.ComponentError{Role: "trunk", Path: "p", Err: gometric.ErrShape}
			want := e.Error()
			testkit.Concurrently(t, 4, 20, func(int) error {
				if e.Error() != want || !errors.Is(e, gometric.ErrShape) {
					return fmt.Errorf("error %v", e)
				}
				return nil
			})
		}},
	})
}
