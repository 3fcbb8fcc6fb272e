package trainers_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// ExampleMetricLossOnly trains an MLP head with TripletMargin loss and a
// MultiSimilarity miner on feature vectors of four classes, testing it at
// the end of every epoch.
func ExampleMetricLossOnly() {
	// 4 classes of 8-dimensional features, 40 samples each.
	rng := rand.New(rand.NewPCG(1, 2))
	var data []float32
	var labels []int
	for i := 0; i < 160; i++ {
		c := i % 4
		for j := 0; j < 8; j++ {
			v := 1.2 * rng.NormFloat64()
			if j == c || j == c+4 {
				v += 2
			}
			data = append(data, float32(v))
		}
		labels = append(labels, c)
	}
	ds, err := datasets.NewFeatures(8, data, labels)
	if err != nil {
		fmt.Println(err)
		return
	}

	enc, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 32, 16}, Seed: 0})
	opt, _ := models.NewOptimizer("adam", 1e-2)
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1
	t := trainers.NewMetricLossOnly(enc, opt, 32, loss, ds)
	t.Miner = miners.NewMultiSimilarity()
	t.Sampler = &samplers.MPerClass{Labels: labels, M: 8, BatchSize: 32, LengthBeforeNewIter: len(labels)}

	tester := testers.NewGlobalEmbeddingSpace()
	tester.Calculator = &accuracy.Calculator{K: accuracy.KMaxBinCount()}
	mapAtR := func() float64 {
		res, err := tester.Test(context.Background(), enc, map[string]datasets.Dataset{"train": ds})
		if err != nil {
			return -1
		}
		return res["train"][accuracy.NameMeanAveragePrecisionAtR].Scalar
	}
	before := mapAtR()
	var after float64
	t.EndOfEpochHook = func(_ *trainers.MetricLossOnly, ep trainers.EpochInfo) error {
		after = mapAtR()
		if after >= 0.95 {
			return trainers.ErrStopTraining // stop early once retrieval is nearly perfect
		}
		return nil
	}
	epochs, err := t.Train(context.Background(), 1, 20)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("iterations per epoch: %d\n", epochs[0].IterationsPerEpoch)
	fmt.Printf("MAP@R improved by more than 0.2: %v\n", after > before+0.2)
	// Output:
	// iterations per epoch: 5
	// MAP@R improved by more than 0.2: true
}

// A trunk and a Linear embedder, each with its own Adam (PML's
// models["trunk"], models["embedder"], trunk_optimizer and
// embedder_optimizer), with a loss weight and a gradient clipper.
func ExampleMetricLossOnly_embedder() {
	train, err := datasets.NewFeatures(2, []float32{0, 0, 0.1, 0, 5, 5, 5.1, 5, 0, 0.2, 0.1, 0.1, 5, 5.2, 5.1, 5.1}, []int{3, 3, 8, 8, 3, 3, 8, 8})
	if err != nil {
		fmt.Println(err)
		return
	}
	trunk, _ := models.NewMLP(models.MLPConfig{Sizes: []int{2, 8, 6}, Seed: 1})
	embedder, _ := models.NewMLP(models.MLPConfig{Sizes: []int{6, 4}, Seed: 2}) // nn.Linear(6, 4)
	trunkOpt, _ := models.NewOptimizer("adam", 1e-2)
	t := trainers.NewMetricLossOnly(trunk, trunkOpt, 4, losses.NewContrastive(), train)
	t.Embedder = embedder
	t.EmbedderOptimizer, _ = models.NewOptimizer("adam", 1e-2)
	t.LossWeights = map[string]float64{"metric_loss": 1}
	t.GradientClippers = []func() error{func() error {
		_, err := models.ClipGradNorm(trunk.Params(), 10, 2)
		return err
	}}
	t.SetMinLabelToZero = true
	epochs, err := t.Train(context.Background(), 1, 2)
	fmt.Println(len(epochs), err, t.LabelMapping())
	// Output: 2 <nil> [3 8]
}
