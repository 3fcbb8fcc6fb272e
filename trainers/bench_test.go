package trainers_test

import (
	"context"
	"testing"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/trainers"
)

// BenchmarkIteration times one iteration of the benchmark protocol
// (reference ConvNet, batch 64 of Fashion-MNIST images, MultiSimilarity
// miner, TripletMargin(0.1), Adam): load, forward, mine, loss, backward,
// update. PML's epoch of 937 iterations took 18.2 s on this kind of machine
// (19.4 ms per iteration).
func BenchmarkIteration(b *testing.B) {
	train, _, err := datasets.FashionMNISTSample()
	if err != nil {
		b.Fatal(err)
	}
	enc, err := models.NewConvNet(models.ReferenceConvNetConfig(0))
	if err != nil {
		b.Fatal(err)
	}
	opt, _ := models.NewOptimizer("adam", 1e-3)
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1
	tr := trainers.NewMetricLossOnly(enc, opt, 64, loss, train)
	tr.Miner = miners.NewMultiSimilarity()
	tr.Sampler = &samplers.MPerClass{Labels: train.Labels(), M: 8, BatchSize: 64, LengthBeforeNewIter: train.Len()}
	tr.IterationsPerEpoch = 1
	if _, err := tr.Train(context.Background(), 1, 1); err != nil { // compile the graph
		b.Fatal(err)
	}
	tr.IterationsPerEpoch = b.N
	b.ResetTimer()
	if _, err := tr.Train(context.Background(), 2, 2); err != nil {
		b.Fatal(err)
	}
}
