package trainers_test

import (
	"context"
	"fmt"

	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/trainers"
)

// ExampleCascadedEmbeddings trains an MLP trunk whose 16-value embeddings
// are cut into blocks of 8 and 8, as PML's CascadedEmbeddings with
// embedding_sizes [8, 8]: block 0 has TripletMargin loss with the
// MultiSimilarity miner, block 1 TripletMargin loss with an HDC miner that
// keeps the harder half of block 0's pairs, and a linear classifier
// (classifier_1) with CrossEntropy.
func ExampleCascadedEmbeddings() {
	ds := exampleFeatures()
	enc, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 32, 16}, Seed: 0})
	opt, _ := models.NewOptimizer("adam", 1e-2)
	l0, l1 := losses.NewTripletMargin(), losses.NewTripletMargin()
	l0.Margin, l1.Margin = 0.1, 0.1
	classifier, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 4}, Seed: 1}) // nn.Linear(8, 4)
	classifierOpt, _ := models.NewOptimizer("adam", 1e-2)

	t := trainers.NewCascadedEmbeddings([]int{8, 8}, enc, opt, 32, []losses.Loss{l0, l1}, ds)
	t.Miners = []miners.Miner{miners.NewMultiSimilarity(), miners.NewHDC()}
	t.Classifiers = []models.InputGradStepper{nil, classifier}
	t.ClassifierOptimizers = []*models.Optimizer{nil, classifierOpt}
	t.LossWeights = map[string]float64{"metric_loss_0": 1, "metric_loss_1": 1, "classifier_loss_1": 0.5}
	t.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 8, BatchSize: 32, LengthBeforeNewIter: ds.Len()}
	var first, last float64
	t.EndOfIterationHook = func(_ *trainers.CascadedEmbeddings, it trainers.IterationInfo) error {
		if it.GlobalIteration == 0 {
			first = it.Parts["classifier_loss_1"]
		}
		last = it.Parts["classifier_loss_1"]
		return nil
	}
	epochs, err := t.Train(context.Background(), 1, 10)
	fmt.Println(len(epochs), err)
	fmt.Println("the classifier of block 1 learned:", last < first/2)
	// Output:
	// 10 <nil>
	// the classifier of block 1 learned: true
}
