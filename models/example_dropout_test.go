package models_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
)

// An embedder head with dropout, torch's
// nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 4)):
// dropout acts in TrainStep only, Embed is deterministic, and a checkpoint
// keeps the step count so that a resumed run draws the same masks.
func ExampleMLPConfig_dropout() {
	m, err := models.NewMLP(models.MLPConfig{Sizes: []int{16, 8, 4}, Seed: 1, Dropout: 0.5})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := gometric.Matrix{Rows: 2, Cols: 16, Data: make([]float32, 32)}
	for i := range x.Data {
		x.Data[i] = float32(i%5) - 2
	}
	sumSq := func(e gometric.Matrix) (float32, gometric.Matrix, error) { // ½Σe²
		var l float32
		g := gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}
		for i, v := range e.Data {
			l += v * v / 2
			g.Data[i] = v
		}
		return l, g, nil
	}
	opt, _ := models.NewOptimizer("sgd", 0.01)
	for range 3 {
		if _, err := m.TrainStep(x, sumSq); err != nil {
			fmt.Println(err)
			return
		}
		_ = m.Step(opt)
	}
	e1, _ := m.Embed(x)
	e2, _ := m.Embed(x)
	fmt.Println("Embed deterministic:", slices.Equal(e1.Data, e2.Data))

	dir, _ := os.MkdirTemp("", "dropout")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "embedder.gmw")
	if err := m.Save(path); err != nil {
		fmt.Println(err)
		return
	}
	resumed, err := models.LoadEncoder(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	l1, _ := m.TrainStep(x, sumSq)
	l2, _ := resumed.TrainStep(x, sumSq)
	fmt.Println("dropout:", resumed.(*models.MLP).Config().Dropout, "same next step:", l1 == l2)
	// Output:
	// Embed deterministic: true
	// dropout: 0.5 same next step: true
}
