//go:build !faiss

package knn_test

import (
	"errors"
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

// Without the faiss build tag the FAISS backend reports how to get it.
func ExampleNewFaiss_withoutTag() {
	_, err := knn.NewFaiss("Flat", 128, knn.L2)
	fmt.Println(knn.FaissBuilt, errors.Is(err, gometric.ErrUnsupported))
	fmt.Println(err)
	// Output:
	// false true
	// knn.Faiss: built without the faiss tag: run scripts/install-faiss.sh and build with -tags faiss: unsupported
}
