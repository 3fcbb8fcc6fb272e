package trainers_test

import (
	"context"
	"fmt"

	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/trainers"
)

// ExampleDeepAdversarialMetricLearning trains an MLP trunk with PML's
// DeepAdversarialMetricLearning: one epoch of the metric loss alone, one
// of the generator alone (it learns to turn real triplets of trunk
// outputs into hard synthetic negatives), then both, the synthetic
// triplets adding the synth loss to the metric loss.
func ExampleDeepAdversarialMetricLearning() {
	ds := exampleFeatures()
	enc, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 32, 16}, Seed: 0})
	// The generator maps [anchor, positive, negative] (3×16) to 16 values.
	generator, _ := models.NewMLP(models.MLPConfig{Sizes: []int{48, 32, 16}, Seed: 1})
	opt, _ := models.NewOptimizer("adam", 1e-2)
	generatorOpt, _ := models.NewOptimizer("adam", 1e-2)
	margin := func(m float64) *losses.TripletMargin {
		l := losses.NewTripletMargin()
		l.Margin = m
		return l
	}

	t := trainers.NewDeepAdversarialMetricLearning(enc, opt, 32, margin(0.1), margin(0.1), margin(0.1), generator, generatorOpt, ds)
	t.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 8, BatchSize: 32, LengthBeforeNewIter: ds.Len()}
	t.MetricAloneEpochs, t.GAloneEpochs = 1, 1
	t.GTripletsPerAnchor = 8 // 256 synthetic triplets per batch of 32
	for e := 1; e <= 3; e++ {
		w := t.LossWeightsAt(e)
		fmt.Printf("epoch %d: metric_loss %g, synth_loss %g, g_adv_loss %g\n", e, w["metric_loss"], w["synth_loss"], w["g_adv_loss"])
	}
	var parts []string
	t.EndOfEpochHook = func(t *trainers.DeepAdversarialMetricLearning, ep trainers.EpochInfo) error {
		parts = append(parts, fmt.Sprintf("epoch %d complete: %v", ep.Epoch, ep.Complete()))
		return nil
	}
	epochs, err := t.Train(context.Background(), 1, 3)
	fmt.Println(len(epochs), err)
	for _, p := range parts {
		fmt.Println(p)
	}
	// Output:
	// epoch 1: metric_loss 1, synth_loss 0, g_adv_loss 0
	// epoch 2: metric_loss 0, synth_loss 0, g_adv_loss 1
	// epoch 3: metric_loss 1, synth_loss 1, g_adv_loss 1
	// 3 <nil>
	// epoch 1 complete: true
	// epoch 2 complete: true
	// epoch 3 complete: true
}
