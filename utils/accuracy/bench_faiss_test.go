//go:build faiss

package accuracy_test

import (
	"testing"

	"github.com/gometric/gometric/utils/accuracy"
)

// BenchmarkCalculator10kFaiss is BenchmarkCalculator10k with PML's own
// backends (FAISS IndexFlatL2 and k-means), for a side-by-side figure.
func BenchmarkCalculator10kFaiss(b *testing.B) {
	benchCalculator10k(b, accuracy.FaissKNN, accuracy.FaissKMeans)
}
