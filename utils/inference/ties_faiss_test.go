//go:build faiss

package inference

import "github.com/gometric/gometric/utils/knn"

// With the faiss tag the tie tests also run FAISS's IndexFlatL2 (PML's
// default), whose heaps break L2 ties by the smaller index as knn.Exact
// does.
func init() {
	tieIndexes = append(tieIndexes, struct {
		name     string
		newIndex func(dim int, metric knn.Metric) (knn.Index, error)
	}{"Faiss", func(dim int, metric knn.Metric) (knn.Index, error) { return knn.NewFaiss("Flat", dim, metric) }})
}
