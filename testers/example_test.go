package testers_test

import (
	"context"
	"fmt"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// ExampleGlobalEmbeddingSpace evaluates an (untrained) linear embedding of
// two clearly separated classes of feature vectors: test images retrieved
// against themselves, as PML's tester does by default.
func ExampleGlobalEmbeddingSpace() {
	data := []float32{
		1.0, 0.1, 0.0, 1.1, 0.0, 0.1, 0.9, 0.1, 0.1, // class 0
		0.0, 1.0, 2.0, 0.1, 1.1, 2.1, 0.0, 0.9, 1.9, // class 1
	}
	ds, err := datasets.NewFeatures(3, data, []int{0, 0, 0, 1, 1, 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	enc, _ := models.NewMLP(models.MLPConfig{Sizes: []int{3, 3}, Seed: 1})

	tester := testers.NewGlobalEmbeddingSpace()
	tester.Calculator = &accuracy.Calculator{
		K:       accuracy.KMaxBinCount(),
		Include: []string{accuracy.NamePrecisionAt1, accuracy.NameMeanAveragePrecisionAtR},
	}
	res, err := tester.Test(context.Background(), enc, map[string]datasets.Dataset{"test": ds})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range res["test"].Names() {
		fmt.Printf("%s %.2f\n", name, res["test"][name].Scalar)
	}
	// Output:
	// mean_average_precision_at_r 1.00
	// precision_at_1 1.00
}
