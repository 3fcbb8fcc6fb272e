package miners_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
)

// benchInput is PML's benchmark batch (shared/bench): 256 random normal
// embeddings of dimension 128, 32 classes of 8.
func benchInput() miners.Input {
	rng := rand.New(rand.NewPCG(42, 7))
	const n, d, classes = 256, 128, 32
	emb := testkit.NormalDense(rng, n, d)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i % classes
	}
	return miners.Input{Embeddings: emb, Labels: labels}
}

func benchMiner(b *testing.B, m miners.Miner) {
	in := benchInput()
	b.ReportAllocs()
	var count miners.Counts
	for b.Loop() {
		t, err := m.Mine(in)
		if err != nil {
			b.Fatal(err)
		}
		count = miners.CountOf(t)
	}
	b.ReportMetric(float64(count.Triplets+count.PosPairs+count.NegPairs), "tuples")
}

// BenchmarkTripletMarginMinerAll: TripletMarginMiner(margin 0.2,
// type_of_triplets "all") over the 444,416 triplets of the batch.
func BenchmarkTripletMarginMinerAll(b *testing.B) { benchMiner(b, miners.NewTripletMargin()) }

// BenchmarkMultiSimilarityMiner: MultiSimilarityMiner(epsilon 0.1).
func BenchmarkMultiSimilarityMiner(b *testing.B) { benchMiner(b, miners.NewMultiSimilarity()) }

func BenchmarkBatchHardMiner(b *testing.B) { benchMiner(b, miners.NewBatchHard()) }

func BenchmarkPairMarginMiner(b *testing.B) { benchMiner(b, miners.NewPairMargin()) }

func BenchmarkHDCMiner(b *testing.B) { benchMiner(b, miners.NewHDC()) }

func BenchmarkAngularMiner(b *testing.B) { benchMiner(b, miners.NewAngular()) }

func BenchmarkDistanceWeightedMiner(b *testing.B) {
	m := miners.NewDistanceWeighted()
	m.Rand = rand.New(rand.NewPCG(1, 2))
	benchMiner(b, m)
}

func BenchmarkUniformHistogramMiner(b *testing.B) {
	m := miners.NewUniformHistogram()
	m.Rand = rand.New(rand.NewPCG(1, 2))
	benchMiner(b, m)
}

// BenchmarkMinerThenTripletMarginLoss is the end-to-end step PML's
// shared/bench times as "TripletMarginLoss + MultiSimilarityMiner"
// (forward and backward, 300 ms median there): mine, then the loss and
// its gradient on the mined pairs, which the loss joins into triplets.
func BenchmarkMinerThenTripletMarginLoss(b *testing.B) {
	for _, tc := range []struct {
		name  string
		miner miners.Miner
	}{
		{"MultiSimilarity", miners.NewMultiSimilarity()},
		{"TripletMarginAll", miners.NewTripletMargin()},
	} {
		b.Run(tc.name, func(b *testing.B) {
			in := benchInput()
			loss := losses.NewTripletMargin()
			b.ReportAllocs()
			for b.Loop() {
				t, err := tc.miner.Mine(in)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := loss.Compute(losses.Batch{Embeddings: in.Embeddings, Labels: in.Labels, Tuples: t}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
