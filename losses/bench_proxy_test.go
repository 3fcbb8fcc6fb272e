package losses_test

import (
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
)

// BenchmarkProxyAnchor is ProxyAnchor(32 classes, 128) forward + backward
// at batch 256×128 (PML 2.8.1's median: 1.14 ms).
func BenchmarkProxyAnchor(b *testing.B) {
	rng := proxyRng(71)
	l := newProxyAnchor(b, 32, 128, nil)
	batch := losses.Batch{Embeddings: testkit.NormalDense(rng, 256, 128), Labels: randLabels(rng, 256, 32)}
	benchLoss(b, l, batch)
}
