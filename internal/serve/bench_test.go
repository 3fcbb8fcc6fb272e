package serve

import (
	"fmt"
	"testing"

	"github.com/gometric/gometric/utils/inference"
)

// BenchmarkSearch100k is the search behind a request: a batch of B query
// vectors against a 100k×128 index, k 10.
func BenchmarkSearch100k(b *testing.B) {
	path, x := writeIndex(b, b.TempDir(), 100000, 128, 7, 0.9)
	m := inference.NewModel(inference.Rows)
	if err := m.Load(path); err != nil {
		b.Fatal(err)
	}
	for _, nq := range []int{1, 16, 64} {
		q := make([][]float32, nq)
		for i := range q {
			q[i] = x.Data[i*128 : (i+1)*128]
		}
		b.Run(fmt.Sprint(nq), func(b *testing.B) {
			for b.Loop() {
				if _, err := m.NearestNeighbors(q, 10); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
