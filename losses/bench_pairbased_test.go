package losses_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
)

// BenchmarkNTXent times NTXent's Compute (forward and backward) on a batch
// of 256×128 random normal embeddings, 32 classes × 8, cosine similarity,
// all pairs from the labels (1792 positive and 63488 negative pairs).
func BenchmarkNTXent(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	emb := testkit.NormalDense(rng, 256, 128)
	labels := make([]int, 256)
	for i := range labels {
		labels[i] = i % 32
	}
	loss := losses.NewNTXent()
	batch := losses.Batch{Embeddings: emb, Labels: labels}
	benchLoss(b, loss, batch)
}
