package testers

import (
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// TrunkEmbedder is PML's pair of models given to a tester, trunk_model and
// embedder_model, as one Embedder: Embed runs Trunk and then Embedder (a
// nil Embedder is PML's default torch.nn.Identity). With a tester's
// UseTrunkOutput (PML's use_trunk_output) only Trunk runs.
//
// The zero value has no Trunk: Embed refuses it with an error wrapping
// gometric.ErrSetting. A TrunkEmbedder is as safe for concurrent use as
// its two models.
type TrunkEmbedder struct {
	Trunk    Embedder
	Embedder Embedder
}

// Embed returns Embedder(Trunk(x)), or Trunk(x) when Embedder is nil.
func (t TrunkEmbedder) Embed(x gometric.Matrix) (gometric.Matrix, error) {
	if check.Nil(t.Trunk) {
		return gometric.Matrix{}, fmt.Errorf("testers.TrunkEmbedder: no Trunk: %w", gometric.ErrSetting)
	}
	y, err := t.Trunk.Embed(x)
	if err != nil {
		return gometric.Matrix{}, fmt.Errorf("testers.TrunkEmbedder: trunk: %w", err)
	}
	if check.Nil(t.Embedder) {
		return y, nil
	}
	z, err := t.Embedder.Embed(y)
	if err != nil {
		return gometric.Matrix{}, fmt.Errorf("testers.TrunkEmbedder: embedder: %w", err)
	}
	return z, nil
}
