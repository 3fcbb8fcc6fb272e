package trainers_test

import (
	"context"
	"testing"

	"github.com/gometric/gometric/models"
)

// TestFrozenEmbedderEvalMode: as PML's set_to_train, a frozen embedder
// runs in eval mode: with dropout it trains the trunk exactly as the same
// embedder without dropout does (a training-mode embedder would drop), and
// an embedder that is not frozen is put back in train mode.
func TestFrozenEmbedderEvalMode(t *testing.T) {
	ds := blobs(t, 3, 64, 6, 4, 0.3)
	run := func(dropout float64, freeze bool) ([][]float32, *models.MLP) {
		tr := mlpTrainer(t, ds, 5)
		emb, err := models.NewMLP(models.MLPConfig{Sizes: []int{8, 12, 4}, Seed: 6, Dropout: dropout})
		if err != nil {
			t.Fatal(err)
		}
		tr.Embedder = emb
		if freeze {
			tr.FreezeThese = []string{"embedder"}
		} else if tr.EmbedderOptimizer, err = models.NewOptimizer("adam", 1e-2); err != nil {
			t.Fatal(err)
		}
		tr.IterationsPerEpoch = 4
		if _, err := tr.Train(context.Background(), 1, 2); err != nil {
			t.Fatal(err)
		}
		return weights(tr.Encoder), emb
	}
	plain, _ := run(0, true)
	frozen, emb := run(0.5, true)
	if !emb.EvalMode() {
		t.Error("a frozen embedder is not in eval mode after training")
	}
	if !sameWeights(plain, frozen) {
		t.Error("a frozen embedder with dropout trained the trunk differently from one without dropout")
	}
	if dropped, emb := run(0.5, false); emb.EvalMode() || sameWeights(plain, dropped) {
		t.Errorf("an embedder that trains: eval mode %v, same trunk as without dropout %v", emb.EvalMode(), sameWeights(plain, dropped))
	}
	// A model put in eval mode by hand goes back to train mode (PML's
	// set_to_train calls train() on every model not frozen).
	tr := mlpTrainer(t, ds, 5)
	enc := tr.Encoder.(*models.MLP)
	if err := enc.SetEvalMode(true); err != nil {
		t.Fatal(err)
	}
	tr.IterationsPerEpoch = 1
	if _, err := tr.Train(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	if enc.EvalMode() {
		t.Error("the trunk stayed in eval mode while training")
	}
}
