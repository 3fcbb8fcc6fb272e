package runner

import (
	"fmt"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
// A Run is documented unsafe (it trains its encoder).
func TestConcurrencyClaims(t *testing.T) {
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Options", Run: func(t *testing.T) {
			o := Defaults()
			testkit.Concurrently(t, 4, 20, func(int) error {
				if err := o.Validate(); err != nil || o.Batch != 64 {
					return fmt.Errorf("options %+v: %v", o, err)
				}
				return nil
			})
		}},
		{Type: "LRSchedule", Run: func(t *testing.T) {
			ls, err := ParseLRSchedule("multistep:2,5:0.5")
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if got := ls.String(); got != "multistep:2,5:0.5" {
					return fmt.Errorf("String() = %q", got)
				}
				return nil
			})
		}},
		{Type: "Row", Run: func(t *testing.T) {
			r := Row{Epoch: 1, Train: &trainers.EpochInfo{Epoch: 1}, Metrics: accuracy.Results{accuracy.NamePrecisionAt1: {Scalar: 0.5}}}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if r.Train.Epoch != r.Epoch || r.Metrics[accuracy.NamePrecisionAt1].Scalar != 0.5 || len(r.Metrics.Warnings()) != 0 {
					return fmt.Errorf("row %+v", r)
				}
				return nil
			})
		}},
	})
}
