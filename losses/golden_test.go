package losses_test

import (
	"strings"
	"testing"

	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/pmlcase"
)

// pending lists the PML loss classes whose Go port belongs to a later
// issue (losses with learnable parameters and the wrappers). Their cases
// are reported as skipped, by name, until they are built; every other
// class without a builder fails.
var pending = map[string]bool{
	"ArcFaceLoss": true, "CosFaceLoss": true, "SphereFaceLoss": true, "LargeMarginSoftmaxLoss": true,
	"NormalizedSoftmaxLoss": true, "ProxyAnchorLoss": true, "ProxyNCALoss": true, "SoftTripleLoss": true,
	"SubCenterArcFaceLoss": true, "ManifoldLoss": true, "P2SGradLoss": true, "MarginLoss": true,
	"CrossBatchMemory": true, "MultipleLosses": true, "SelfSupervisedLoss": true,
}

// TestGolden runs every loss case of testdata/pml/losses (and
// $GOMETRIC_GOLDEN_DIR/losses): the loss and its gradients with respect to
// the embeddings and the ref embeddings, at 1e-6 relative / 1e-9 absolute.
func TestGolden(t *testing.T) {
	cases, err := pmlcase.Cases("losses")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			loss, err := pmlcase.Loss(&pmlcase.Spec{Class: c.Class, Args: c.Config})
			if err != nil {
				if pending[c.Class] && strings.Contains(err.Error(), "not implemented") {
					t.Skipf("%s is not ported yet (losses with parameters and wrappers)", c.Class)
				}
				t.Fatal(err)
			}
			b, err := c.Batch()
			if err != nil {
				t.Fatal(err)
			}
			res, err := loss.Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			var want float64
			if _, err := c.Output("loss", &want); err != nil {
				t.Fatal(err)
			}
			if err := fdiff.CompareSlices([]float64{res.Loss}, []float64{want}, 1e-6, 1e-9); err != nil {
				t.Errorf("loss: %v", err)
			}
			wantGrad, err := c.OutputMatrix("grad_embeddings")
			if err != nil {
				t.Fatal(err)
			}
			if err := fdiff.Compare(res.Grad, wantGrad, 1e-6, 1e-9); err != nil {
				t.Errorf("grad_embeddings: %v", err)
			}
			wantRef, err := c.OptionalOutputMatrix("grad_ref_emb")
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case wantRef != nil && res.RefGrad == nil:
				t.Errorf("grad_ref_emb: PML has one, the loss returned none")
			case wantRef != nil:
				if err := fdiff.Compare(res.RefGrad, wantRef, 1e-6, 1e-9); err != nil {
					t.Errorf("grad_ref_emb: %v", err)
				}
			}
		})
	}
}
