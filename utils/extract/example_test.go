package extract_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/extract"
)

// ExampleFeatures extracts the features of a data set through a frozen
// encoder (here a function that keeps the first two values of each
// sample; a models.Encoder such as a pretrained trunk is used the same
// way), then reuses the file on the next call.
func ExampleFeatures() {
	ds, err := datasets.NewFeatures(3, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []int{0, 0, 1, 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	trunk := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		y := gometric.Matrix{Rows: x.Rows, Cols: 2}
		for i := range x.Rows {
			y.Data = append(y.Data, x.Data[i*x.Cols:i*x.Cols+2]...)
		}
		return y, nil
	})
	dir, err := os.MkdirTemp("", "extract")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "features-train.gmfeats")
	opts := extract.Options{BatchSize: 2, Key: "first-two v1"}
	for range 2 {
		res, err := extract.Features(context.Background(), trunk, ds, path, opts)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(res.Features.Len(), res.Features.Dim(), res.Features.Row(3), "reused:", res.Reused)
	}
	// Output:
	// 4 2 [10 11] reused: false
	// 4 2 [10 11] reused: true
}
