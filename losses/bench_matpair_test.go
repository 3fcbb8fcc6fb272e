package losses_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
)

// BenchmarkMultiSimilarity is PML's bench case "MultiSimilarityLoss": a
// batch of 256 random normal 128-d embeddings, 32 classes × 8, cosine
// similarity, forward and backward (../shared/bench: PML median 12 ms,
// float32, 2 threads).
func BenchmarkMultiSimilarity(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	emb := testkit.NormalDense(rng, 256, 128)
	labels := make([]int, 256)
	for i := range labels {
		labels[i] = i / 8
	}
	loss := losses.NewMultiSimilarity()
	batch := losses.Batch{Embeddings: emb, Labels: labels}
	benchLoss(b, loss, batch)
}
