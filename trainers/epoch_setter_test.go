package trainers_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gometric/gometric/datasets"
)

// epochRecorder is a data set that records the epochs it is set to.
type epochRecorder struct {
	*datasets.Features
	epochs []int
}

func (e *epochRecorder) SetEpoch(epoch int) { e.epochs = append(e.epochs, epoch) }

// The trainers set a datasets.EpochSetter's epoch before each epoch, a
// resumed run from its start epoch on, so a random augmentation draws by
// epoch.
func TestSetEpoch(t *testing.T) {
	ds := blobs(t, 1, 48, 4, 4, 0.3)
	rec := &epochRecorder{Features: ds}
	tr := mlpTrainer(t, ds, 1)
	tr.Dataset = rec
	tr.IterationsPerEpoch = 1
	if _, err := tr.Train(context.Background(), 2, 4); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.epochs, []int{2, 3, 4}) {
		t.Errorf("SetEpoch calls %v, want [2 3 4]", rec.epochs)
	}
	var f *datasets.ImageFiles
	f.SetEpoch(3) // a nil ImageFiles does nothing
}
