package testers_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/testers"
)

// linear returns a fixed random linear map from d to e dimensions as an
// Embedder: the tests need an embedding, not a model (and so no Gorgonia).
func linear(d, e int) testers.EmbedFunc {
	rng := rand.New(rand.NewPCG(5, 5))
	w := make([]float32, d*e)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	return func(x gometric.Matrix) (gometric.Matrix, error) {
		if err := x.CheckShape("linear", "input"); err != nil {
			return gometric.Matrix{}, err
		}
		if x.Cols != d {
			return gometric.Matrix{}, fmt.Errorf("linear: input has %d columns, want %d: %w", x.Cols, d, gometric.ErrShape)
		}
		y := gometric.Matrix{Rows: x.Rows, Cols: e, Data: make([]float32, x.Rows*e)}
		for i := range x.Rows {
			row, out := x.Row(i), y.Row(i)
			for j := range e {
				var s float32
				for l, v := range row {
					s += v * w[l*e+j]
				}
				out[j] = s
			}
		}
		return y, nil
	}
}
