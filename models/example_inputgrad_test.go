package models_test

import (
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
)

// A trunk and a Linear embedder chained by role, each with its own
// parameters and optimizer, as PML's models["trunk"] and
// models["embedder"]: the trunk's loss function runs the embedder's step
// and returns its gradient with respect to the trunk's output.
func ExampleMLP_TrainStepInput() {
	trunk, _ := models.NewMLP(models.MLPConfig{Sizes: []int{4, 8, 6}, Seed: 1})
	embedder, _ := models.NewMLP(models.MLPConfig{Sizes: []int{6, 2}, Seed: 2}) // nn.Linear(6, 2)
	trunkOpt, _ := models.NewOptimizer("adam", 1e-3)
	embOpt, _ := models.NewOptimizer("adam", 1e-3)
	x := gometric.Matrix{Rows: 2, Cols: 4, Data: []float32{1, 0, -1, 2, 0.5, 1, 0, -1}}
	sumSq := func(e gometric.Matrix) (float32, gometric.Matrix, error) { // ½Σe²
		var l float32
		g := gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}
		for i, v := range e.Data {
			l += v * v / 2
			g.Data[i] = v
		}
		return l, g, nil
	}
	_, err := trunk.TrainStep(x, func(h gometric.Matrix) (float32, gometric.Matrix, error) {
		return embedder.TrainStepInput(h, sumSq) // the loss and d(loss)/d(h)
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(trunk.Step(trunkOpt), embedder.Step(embOpt))
	// Output: <nil> <nil>
}
