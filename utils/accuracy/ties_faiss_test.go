//go:build faiss

package accuracy_test

import "github.com/gometric/gometric/utils/accuracy"

// With the faiss tag the tie tests also run PML's FaissKNN (IndexFlatL2),
// whose L2 heaps break ties by the smaller index as knn.Exact does.
func init() {
	tieKNN = append(tieKNN, struct {
		name string
		fn   accuracy.KNNFunc
	}{"FaissKNN", accuracy.FaissKNN})
}
