package inference_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/utils/inference"
	"gonum.org/v1/gonum/mat"
)

func ExampleMatchFinder() {
	query := mat.NewDense(2, 2, []float64{
		1, 0,
		0, 3,
	})
	ref := mat.NewDense(3, 2, []float64{
		2, 0.1, // cosine to query 0: 0.9988
		1, 1, //   cosine 0.7071 to both
		0, -1,
	})
	f := inference.NewMatchFinder(distances.NewCosineSimilarity(), 0.9)
	matches, err := f.Matches(query, ref)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range matches {
		fmt.Printf("query %d ~ ref %d (cosine %.4f)\n", m.Query, m.Ref, m.Value)
	}
	// Output:
	// query 0 ~ ref 0 (cosine 0.9988)
}

func ExampleCalibrate() {
	// Distances of six validation pairs and whether each pair truly matches.
	dists := []float64{0.2, 0.35, 0.4, 0.4, 0.7, 0.9}
	same := []bool{true, true, false, true, false, false}
	c, err := inference.Calibrate(dists, same, false)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("threshold %.2f: precision %.2f, recall %.2f, F1 %.2f (TP %d, FP %d, FN %d, TN %d)\n",
		c.Threshold, c.Precision, c.Recall, c.F1, c.TP, c.FP, c.FN, c.TN)
	// Output:
	// threshold 0.40: precision 0.75, recall 1.00, F1 0.86 (TP 3, FP 1, FN 0, TN 2)
}

func ExampleModel() {
	// Inputs that already are float32 embeddings: inference.Rows stacks them.
	m := inference.NewModel(inference.Rows)
	refs := [][]float32{{1, 0}, {0.9, 0.2}, {0, 1}, {-1, 0.1}}
	labels := []int{10, 10, 20, 30}
	ctx := context.Background()
	if err := m.Train(ctx, refs, labels); err != nil {
		fmt.Println(err)
		return
	}
	res, err := m.NearestNeighbors([][]float32{{2, 0.1}, {0.1, 5}}, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	for q := range 2 {
		i := res.Indices[q*res.K]
		fmt.Printf("query %d: nearest ref %d (label %d), squared L2 %.4f\n", q, i, labels[i], res.Distances[q*res.K])
	}

	// Save the index with the match threshold, load both into a fresh model.
	dir, err := os.MkdirTemp("", "inference-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "refs.gmidx")
	m.MatchFinder.Threshold = 0.95
	if err := m.Save(path); err != nil {
		fmt.Println(err)
		return
	}
	loaded := inference.NewModel(inference.Rows)
	if err := loaded.Load(path); err != nil {
		fmt.Println(err)
		return
	}
	again, err := loaded.NearestNeighbors([][]float32{{2, 0.1}}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("after load:", again.Indices, loaded.Labels(), "threshold", loaded.MatchFinder.Threshold)

	// Which references match the query? The cosine threshold 0.95 becomes
	// squared L2 <= 2 - 2·0.95 = 0.1 on the index of unit vectors.
	matches, err := loaded.MatchingNeighbors([][]float32{{2, 0.1}}, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, mt := range matches {
		fmt.Printf("match: ref %d (label %d), squared L2 %.4f\n", mt.Ref, labels[mt.Ref], mt.Value)
	}

	// Is each pair the same thing? (cosine >= 0.95 after normalisation)
	same, err := loaded.IsMatch([][]float32{{2, 0.1}, {2, 0.1}}, [][]float32{{0.9, 0.2}, {0, 2}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("is match:", same)
	// Output:
	// query 0: nearest ref 0 (label 10), squared L2 0.0025
	// query 1: nearest ref 2 (label 20), squared L2 0.0004
	// after load: [0] [10 10 20 30] threshold 0.95
	// match: ref 0 (label 10), squared L2 0.0025
	// match: ref 1 (label 10), squared L2 0.0284
	// is match: [true false]
}
