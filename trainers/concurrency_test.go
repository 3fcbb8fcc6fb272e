package trainers_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/trainers"
)

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
// MetricLossOnly is documented unsafe (one Train at a time).
func TestConcurrencyClaims(t *testing.T) {
	ds := blobs(t, 1, 48, 4, 4, 0.1)
	tr := mlpTrainer(t, ds, 1)
	tr.IterationsPerEpoch = 2
	var iters []trainers.IterationInfo
	tr.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
		iters = append(iters, it)
		return nil
	}
	epochs, err := tr.Train(context.Background(), 1, 2)
	if err != nil || len(epochs) != 2 || len(iters) != 4 {
		t.Fatalf("Train: %d epochs, %d iterations, %v", len(epochs), len(iters), err)
	}
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "EpochInfo", Run: func(t *testing.T) {
			testkit.Concurrently(t, 4, 20, func(int) error {
				for k, e := range epochs {
					if e.Epoch != k+1 || !e.Complete() || e.LossMean != e.LossMean {
						return fmt.Errorf("epoch %+v", e)
					}
				}
				return nil
			})
		}},
		{Type: "BatchLoss", Run: func(t *testing.T) {
			bl := trainers.BatchLoss{Loss: 1, Parts: map[string]float64{"loss": 1}}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if bl.Loss != bl.Parts["loss"] {
					return fmt.Errorf("batch loss %+v", bl)
				}
				return nil
			})
		}},
		{Type: "IterationInfo", Run: func(t *testing.T) {
			testkit.Concurrently(t, 4, 20, func(int) error {
				for k, it := range iters {
					if it.GlobalIteration != k || it.BatchSize != 16 || len(it.Parts) == 0 {
						return fmt.Errorf("iteration %+v", it)
					}
				}
				return nil
			})
		}},
	})
}
