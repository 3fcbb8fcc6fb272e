package testers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// hier is a data set with a parent level (PML's 2-D labels).
type hier struct {
	*datasets.Features
	parents []int
}

func (h hier) LabelLevels() int { return 2 }

func (h hier) LabelsAt(level int) ([]int, error) {
	if level == 0 {
		return h.Labels(), nil
	}
	return h.parents, nil
}

func line() hier {
	x := []float32{0, 1, 1.4, 3, 1.2, 100, 101, 110, 112}
	ds, _ := datasets.NewFeatures(1, x, []int{0, 0, 1, 1, 2, 2, 2, 3, 3})
	return hier{ds, []int{0, 0, 0, 0, 1, 1, 1, 1, 1}}
}

var identity = testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) { return x, nil })

// ExampleGlobalEmbeddingSpace_Evaluate evaluates every label level of a
// data set with two (PML's label_hierarchy_level="all"): PML's keys, with
// the average over the levels.
func ExampleGlobalEmbeddingSpace_Evaluate() {
	g := testers.NewGlobalEmbeddingSpace()
	g.Normalize = false
	g.AllLevels = true
	g.Calculator = &accuracy.Calculator{Include: []string{accuracy.NamePrecisionAt1}}
	res, err := g.Evaluate(context.Background(), identity, map[string]datasets.Dataset{"test": line()})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range res["test"].Names() {
		fmt.Printf("%s %.3f\n", k, res["test"][k].Scalar)
	}
	// Output:
	// AVERAGE_precision_at_1 0.667
	// precision_at_1_level0 0.667
	// precision_at_1_level1 0.667
}

// ExampleWithSameParentLabel computes precision@1 at level 0 within each
// parent label (level 1) and averages over the parents: 0.5 and 1.
func ExampleWithSameParentLabel() {
	w := testers.NewWithSameParentLabel()
	w.Normalize = false
	w.Calculator = &accuracy.Calculator{Include: []string{accuracy.NamePrecisionAt1}}
	res, err := w.Evaluate(context.Background(), identity, map[string]datasets.Dataset{"test": line()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res["test"]["precision_at_1_level0"].Scalar)
	// Output:
	// 0.75
}

// ExampleGlobalTwoStreamEmbeddingSpace retrieves each anchor's positive:
// anchors 0, 10, 20, 13 among positives 1, 14, 21, 10.5.
func ExampleGlobalTwoStreamEmbeddingSpace() {
	labels := []int{0, 1, 2, 3}
	anchors, _ := datasets.NewFeatures(1, []float32{0, 10, 20, 13}, labels)
	positives, _ := datasets.NewFeatures(1, []float32{1, 14, 21, 10.5}, labels)
	g := testers.NewGlobalTwoStreamEmbeddingSpace()
	g.Normalize = false
	g.Calculator = &accuracy.Calculator{Include: []string{accuracy.NamePrecisionAt1}}
	res, err := g.Evaluate(context.Background(), identity, map[string]testers.TwoStreamSplit{"test": {Anchors: anchors, Positives: positives}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res["test"]["precision_at_1_level0"].Scalar)
	// Output:
	// 0.5
}

// ExampleTrunkEmbedder evaluates the trunk's output of a trunk and
// embedder pair (PML's use_trunk_output=True): the embedder, which would
// collapse everything to 0, is not run.
func ExampleTrunkEmbedder() {
	ds, _ := datasets.NewFeatures(1, []float32{0, 0.1, 5, 5.1}, []int{0, 0, 1, 1})
	zero := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		return gometric.Matrix{Rows: x.Rows, Cols: 1, Data: make([]float32, x.Rows)}, nil
	})
	g := testers.NewGlobalEmbeddingSpace()
	g.Normalize, g.UseTrunkOutput = false, true
	g.Calculator = &accuracy.Calculator{Include: []string{accuracy.NamePrecisionAt1}}
	res, err := g.Test(context.Background(), testers.TrunkEmbedder{Trunk: identity, Embedder: zero}, map[string]datasets.Dataset{"test": ds})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res["test"][accuracy.NamePrecisionAt1].Scalar)
	// Output:
	// 1
}

// ExampleComparedToTrainingSet builds PML's former
// reference_set="compared_to_training_set" as Evals.
func ExampleComparedToTrainingSet() {
	fmt.Println(testers.ComparedToTrainingSet("train", "train", "val"))
	fmt.Println(testers.ComparedToSetsCombined("train", "val"))
	// Output:
	// [{train [train]} {val [train]}]
	// [{train [train val]} {val [train val]}]
}

// ExamplePNGVisualizer writes a scatter plot of each split's embeddings
// (PCA to 2-D, coloured by label) while testing.
func ExamplePNGVisualizer() {
	dir, err := os.MkdirTemp("", "scatter")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	g := testers.NewGlobalEmbeddingSpace()
	g.Visualize = testers.PNGVisualizer(dir)
	if _, err := g.Test(context.Background(), identity, map[string]datasets.Dataset{"test": line()}); err != nil {
		fmt.Println(err)
		return
	}
	_, err = os.Stat(filepath.Join(dir, "test_PCA_level0.png"))
	fmt.Println(err == nil)
	// Output:
	// true
}
