package regularizers_test

import (
	"testing"

	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/pmlcase"
)

// TestGolden runs every PML regularizer case of testdata/pml/regularizers
// (and $GOMETRIC_GOLDEN_DIR/regularizers): the reduced loss and its
// gradient with respect to the weights.
func TestGolden(t *testing.T) {
	pmlcase.Run(t, "regularizers", func(t *testing.T, c *pmlcase.Case) {
		reg, err := pmlcase.Regularizer(&pmlcase.Spec{Class: c.Class, Args: c.Config})
		if err != nil {
			t.Fatal(err)
		}
		x, err := c.Matrix("embeddings")
		if err != nil {
			t.Fatal(err)
		}
		var want float64
		if _, err := c.Output("loss", &want); err != nil {
			t.Fatal(err)
		}
		wantGrad, err := c.OutputMatrix("grad_embeddings")
		if err != nil {
			t.Fatal(err)
		}
		got, grad, err := reg.Compute(x)
		if err != nil {
			t.Fatal(err)
		}
		if err := fdiff.CompareSlices([]float64{got}, []float64{want}, 1e-6, 1e-9); err != nil {
			t.Errorf("loss: %v", err)
		}
		if err := fdiff.Compare(grad, wantGrad, 1e-6, 1e-9); err != nil {
			t.Errorf("gradient: %v", err)
		}
	})
}

// TestGoldenCount guards against the case folder going missing or shrinking.
func TestGoldenCount(t *testing.T) {
	files, err := pmlcase.Files("regularizers")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 12 {
		t.Fatalf("%d regularizer cases, want at least PML's 12", len(files))
	}
}
