//go:build faiss

package knn_test

import (
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

// NewFaiss("Flat", dim, knn.L2) is FAISS's IndexFlatL2, PML's default
// FaissKNN index.
func ExampleNewFaiss() {
	idx, err := knn.NewFaiss("Flat", 2, knn.L2)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer idx.Close()
	ref := gometric.Matrix{Rows: 4, Cols: 2, Data: []float32{0, 0, 1, 0, 0, 2, 3, 3}}
	if err := idx.Add(ref); err != nil {
		fmt.Println(err)
		return
	}
	query := gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{1, 0.5}}
	res, err := idx.Search(query, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Indices, res.Distances)
	// Output: [1 0] [0.25 1.25]
}

// FaissKMeans with FAISS's defaults is PML's FaissKMeans(). Here 80 values
// in two groups: 0, 0.5, 1, 1.5, ... and 10, 10.5, 11, 11.5, ...
func ExampleFaissKMeans() {
	x := gometric.Matrix{Rows: 80, Cols: 1, Data: make([]float32, 80)}
	for i := range x.Data {
		x.Data[i] = float32(10*(i%2)) + 0.5*float32((i/2)%4)
	}
	assign, centroids, err := knn.FaissKMeans(x, 2, knn.FaissKMeansIter, knn.FaissKMeansSeed)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(assign[0] == assign[2], assign[1] == assign[3], assign[0] != assign[1])
	fmt.Println(centroids.Data[assign[0]], centroids.Data[assign[1]])
	// Output:
	// true true true
	// 0.75 10.75
}
