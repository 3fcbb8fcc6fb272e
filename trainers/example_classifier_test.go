package trainers_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/trainers"
)

// exampleFeatures is 160 8-dimensional features of 4 classes.
func exampleFeatures() *datasets.Features {
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
	ds, _ := datasets.NewFeatures(8, data, labels)
	return ds
}

// ExampleTrainWithClassifier trains an MLP trunk with TripletMargin loss
// and a linear classifier on its embeddings with CrossEntropy, as PML's
// TrainWithClassifier with loss_weights {"metric_loss": 1,
// "classifier_loss": 1}.
func ExampleTrainWithClassifier() {
	ds := exampleFeatures()
	enc, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 32, 16}, Seed: 0})
	classifier, _ := models.NewMLP(models.MLPConfig{Sizes: []int{16, 4}, Seed: 1}) // nn.Linear(16, 4)
	opt, _ := models.NewOptimizer("adam", 1e-2)
	classifierOpt, _ := models.NewOptimizer("adam", 1e-2)
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1

	t := trainers.NewTrainWithClassifier(enc, opt, 32, loss, classifier, classifierOpt, ds)
	t.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 8, BatchSize: 32, LengthBeforeNewIter: ds.Len()}
	t.LossWeights = map[string]float64{"metric_loss": 1, "classifier_loss": 1}
	var first, last float64
	t.EndOfIterationHook = func(_ *trainers.TrainWithClassifier, it trainers.IterationInfo) error {
		if it.GlobalIteration == 0 {
			first = it.Parts["classifier_loss"]
		}
		last = it.Parts["classifier_loss"]
		return nil
	}
	epochs, err := t.Train(context.Background(), 1, 10)
	fmt.Println(len(epochs), err)
	fmt.Println("the classifier learned:", last < first/2)
	// Output:
	// 10 <nil>
	// the classifier learned: true
}

// ExampleBase writes a trainer of one's own, as PML users subclass
// BaseTrainer and override calculate_loss: here, a metric loss through a
// losses.Objective plus a penalty on the embeddings' squared norm, both
// weighted. Base runs the trunk (and embedder), the loop, the hooks, the
// clippers, the schedulers and the trunk's optimizer.
func ExampleBase() {
	ds := exampleFeatures()
	enc, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 32, 16}, Seed: 0})
	opt, _ := models.NewOptimizer("adam", 1e-2)
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1
	obj := losses.Objective{Loss: loss}

	const penalty = 1e-3
	var grad []float32
	calculateLoss := func(emb gometric.Matrix, labels []int) (trainers.BatchLoss, error) {
		l, g, err := obj.Compute(emb, labels)
		if err != nil {
			return trainers.BatchLoss{}, err
		}
		// d/de of penalty·Σe²/N is 2·penalty·e/N, added to the metric
		// loss's gradient.
		grad = append(grad[:0], g.Data...)
		var sq float64
		for i, v := range emb.Data {
			sq += float64(v) * float64(v)
			grad[i] += float32(2 * penalty * float64(v) / float64(emb.Rows))
		}
		reg := penalty * sq / float64(emb.Rows)
		return trainers.BatchLoss{
			Loss:  float64(l) + reg,
			Grad:  gometric.Matrix{Rows: emb.Rows, Cols: emb.Cols, Data: grad},
			Parts: map[string]float64{"metric_loss": float64(l), "norm_penalty": reg},
		}, nil
	}
	b := trainers.NewBase(enc, opt, 32, ds, calculateLoss)
	b.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 8, BatchSize: 32, LengthBeforeNewIter: ds.Len()}
	epochs, err := b.Train(context.Background(), 1, 3)
	fmt.Println(len(epochs), err, epochs[2].Complete())
	// Output:
	// 3 <nil> true
}
