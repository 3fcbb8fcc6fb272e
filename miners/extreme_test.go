package miners_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/miners"
	"gonum.org/v1/gonum/mat"
)

// TestExtremeScaleMiners: the deterministic miners, with their default
// (normalising) distances, mine the same tuples from a batch scaled by
// 1e300, 1e160 or 1e30 as from the batch itself (the row norms used to
// overflow, normalising rows to zero), and AngularMiner, whose pairwise
// distances add torch's 1e-6 to raw rows, the same tuples at every one of
// those scales (where the 1e-6 is negligible).
func TestExtremeScaleMiners(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	emb := testkit.NormalDense(rng, 16, 5)
	labels := make([]int, 16)
	for i := range labels {
		labels[i] = i % 4
	}
	for name, m := range map[string]miners.Miner{
		"Angular": miners.NewAngular(), "BatchEasyHard": miners.NewBatchEasyHard(), "BatchHard": miners.NewBatchHard(),
		"HDC": miners.NewHDC(), "MultiSimilarity": miners.NewMultiSimilarity(), "PairMargin": miners.NewPairMargin(),
		"TripletMargin": miners.NewTripletMargin(),
	} {
		mine := func(s float64) any {
			x := mat.DenseCopyOf(emb)
			x.Scale(s, x)
			tu, err := m.Mine(miners.Input{Embeddings: x, Labels: labels})
			if err != nil {
				t.Fatalf("%s at scale %v: %v", name, s, err)
			}
			return tu
		}
		ref := 1.0
		if name == "Angular" {
			ref = 1e30
		}
		want := mine(ref)
		for _, s := range []float64{1e300, 1e160, 1e30} {
			if got := mine(s); !reflect.DeepEqual(got, want) {
				t.Errorf("%s at scale %v: %+v, want %+v (scale %v)", name, s, got, want, ref)
			}
		}
	}
}
