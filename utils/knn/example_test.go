package knn_test

import (
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

// An exact L2 index, like FAISS's IndexFlatL2: the two nearest references
// of each query with their squared distances.
func ExampleExact() {
	index := knn.NewExact(2, knn.L2)
	refs := gometric.Matrix{Rows: 4, Cols: 2, Data: []float32{
		0, 0,
		1, 0,
		0, 2,
		5, 5,
	}}
	if err := index.Add(refs); err != nil {
		fmt.Println(err)
		return
	}
	query := gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1, 0.5, 4, 4}}
	res, err := index.Search(query, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for q := range query.Rows {
		fmt.Println(res.Indices[q*res.K:(q+1)*res.K], res.Distances[q*res.K:(q+1)*res.K])
	}
	_, err = index.Search(query, 5)
	fmt.Println(err)
	// Output:
	// [1 0] [0.25 1.25]
	// [3 2] [2 20]
	// knn.Exact: k = 5 is outside [1, 4] (the number of references): invalid setting
}

// Search without building an index, here by inner product (largest
// first), as with FAISS's IndexFlatIP.
func ExampleSearch() {
	ref := gometric.Matrix{Rows: 3, Cols: 2, Data: []float32{1, 0, 0, 1, 0.6, 0.8}}
	query := gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{0.8, 0.6}}
	res, err := knn.Search(query, ref, 3, knn.InnerProduct)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Indices, res.Distances)
	// Output:
	// [2 0 1] [0.96000004 0.8 0.6]
}

// k-means on two obvious groups: the cluster numbers depend on the seed,
// the grouping does not.
func ExampleKMeans() {
	x := gometric.Matrix{Rows: 6, Cols: 2, Data: []float32{
		0, 0, 10, 10, 0, 1, 10, 11, 1, 0, 11, 10,
	}}
	assign, centroids, err := knn.KMeans(x, 2, knn.KMeansOptions{Seed: 1234})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(assign[0] == assign[2] && assign[2] == assign[4], assign[1] == assign[3] && assign[3] == assign[5], assign[0] != assign[1])
	fmt.Println(centroids.Row(assign[0]), centroids.Row(assign[1]))
	// Output:
	// true true true
	// [0.33333334 0.33333334] [10.333333 10.333333]
}
