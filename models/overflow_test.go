package models

import (
	"errors"
	"strings"
	"testing"

	"github.com/gometric/gometric"
)

// TestEmbeddingOverflow: finite inputs whose embeddings overflow float32
// are an error wrapping ErrNonFinite from Embed and TrainStep (the loss
// is not called), never ±Inf or NaN embeddings.
func TestEmbeddingOverflow(t *testing.T) {
	m, err := NewMLP(MLPConfig{Sizes: []int{64, 2}, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := m.Params()[0].Float32s() // 2×64
	tests := []struct {
		name  string
		scale float32
	}{{"3e38 aligned with the weights", 3e38}, {"1e38", 1e38}, {"-3e38", -3e38}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			x := gometric.Matrix{Rows: 2, Cols: 64, Data: make([]float32, 128)}
			for j := range 64 {
				s := tc.scale
				if w[j] < 0 {
					s = -s
				}
				x.Data[64+j] = s // row 1 overflows, row 0 is zero
			}
			if _, err := m.Embed(x); !errors.Is(err, gometric.ErrNonFinite) || !strings.Contains(err.Error(), "sample 1") {
				t.Errorf("Embed: %v, want ErrNonFinite naming sample 1", err)
			}
			called := false
			_, err := m.TrainStep(x, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
				called = true
				return 0, e.Clone(), nil
			})
			if !errors.Is(err, gometric.ErrNonFinite) || called {
				t.Errorf("TrainStep: %v (loss called: %v), want ErrNonFinite", err, called)
			}
		})
	}
}
