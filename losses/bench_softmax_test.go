package losses_test

import (
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/losses"
)

// BenchmarkArcFace is PML's bench case "ArcFaceLoss": 32 classes, 128-d,
// batch 256×128 (classes of 8 consecutive rows), forward and backward
// with the gradients of the embeddings and of W (PML median 0.96 ms).
func BenchmarkArcFace(b *testing.B) {
	l, err := losses.NewArcFace(32, 128, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		b.Fatal(err)
	}
	benchLoss(b, l, benchBatch(256, 128))
}

// BenchmarkNormalizedSoftmax: the same shapes for NormalizedSoftmax.
func BenchmarkNormalizedSoftmax(b *testing.B) {
	l, err := losses.NewNormalizedSoftmax(32, 128, rand.New(rand.NewPCG(2, 2)))
	if err != nil {
		b.Fatal(err)
	}
	benchLoss(b, l, benchBatch(256, 128))
}
