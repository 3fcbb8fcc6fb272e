package testers_test

import (
	"context"
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// ExampleGlobalEmbeddingSpace evaluates a fixed linear embedding of two
// clearly separated classes of feature vectors: test samples retrieved
// against themselves, as PML's tester does by default.
//
// Any models.Encoder is a testers.Embedder and can be passed to Test in
// place of the EmbedFunc here; a plain function is enough for the tester,
// which never needs to know how embeddings are made.
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
	// The embedding (x0 + x1, x2): 3 features to 2 dimensions.
	embed := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		y := gometric.Matrix{Rows: x.Rows, Cols: 2, Data: make([]float32, 2*x.Rows)}
		for i := range x.Rows {
			r := x.Row(i)
			y.Data[2*i], y.Data[2*i+1] = r[0]+r[1], r[2]
		}
		return y, nil
	})

	tester := testers.NewGlobalEmbeddingSpace()
	tester.Calculator = &accuracy.Calculator{
		K:       accuracy.KMaxBinCount(),
		Include: []string{accuracy.NamePrecisionAt1, accuracy.NameMeanAveragePrecisionAtR},
	}
	res, err := tester.Test(context.Background(), embed, map[string]datasets.Dataset{"test": ds})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, name := range res["test"].Names() {
		fmt.Printf("%s %.2f\n", name, res["test"][name].Scalar)
	}
	fmt.Println("warnings:", len(res["test"].Warnings()))
	// Output:
	// mean_average_precision_at_r 1.00
	// precision_at_1 1.00
	// warnings: 0
}

// ExampleGlobalEmbeddingSpace_Embeddings embeds a split without computing
// metrics (PML's get_all_embeddings): normalised rows and their labels.
func ExampleGlobalEmbeddingSpace_Embeddings() {
	ds, err := datasets.NewFeatures(2, []float32{3, 4, 0, 2}, []int{7, 9})
	if err != nil {
		fmt.Println(err)
		return
	}
	identity := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) { return x, nil })
	emb, labels, err := testers.NewGlobalEmbeddingSpace().Embeddings(context.Background(), identity, ds)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(emb.Data, labels)
	// Output:
	// [0.6 0.8 0 1] [7 9]
}
