package trainers_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// exampleTwoStream is 160 pairs of 8-dimensional features of 4 classes:
// anchor i and positive i are two noisy views of the same class.
func exampleTwoStream(seed uint64) datasets.TwoStream {
	rng := rand.New(rand.NewPCG(seed, 2))
	view := func() *datasets.Features {
		var data []float32
		var labels []int
		for i := 0; i < 160; i++ {
			c := i % 4
			for j := 0; j < 8; j++ {
				v := 1.5 * rng.NormFloat64()
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
	ts, _ := datasets.NewTwoStream(view(), view())
	return ts
}

// ExampleTwoStreamMetricLoss trains an MLP trunk on anchor–positive pairs
// with TripletMargin loss, the anchors against the positives, as PML's
// TwoStreamMetricLoss, and tests held-out anchors retrieving their
// positives with GlobalTwoStreamEmbeddingSpace.
func ExampleTwoStreamMetricLoss() {
	train, test := exampleTwoStream(1), exampleTwoStream(2)
	enc, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 32, 16}, Seed: 0})
	opt, _ := models.NewOptimizer("adam", 1e-2)
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1

	tester := testers.NewGlobalTwoStreamEmbeddingSpace()
	tester.Calculator = &accuracy.Calculator{Include: []string{accuracy.NameMeanAveragePrecisionAtR}}
	mapAtR := func() float64 {
		r, _ := tester.Test(context.Background(), enc, map[string]testers.TwoStreamSplit{"test": testers.TwoStreamSplit(test)})
		return r["test"][accuracy.NameMeanAveragePrecisionAtR].Scalar
	}
	before := mapAtR()

	t := trainers.NewTwoStreamMetricLoss(enc, opt, 32, loss, train)
	t.Sampler = &samplers.MPerClass{Labels: train.Labels(), M: 8, BatchSize: 32, LengthBeforeNewIter: train.Len()}
	epochs, err := t.Train(context.Background(), 1, 5)
	fmt.Println(len(epochs), err)
	fmt.Println("MAP@R rose:", mapAtR() > before+0.1)
	// Output:
	// 5 <nil>
	// MAP@R rose: true
}
