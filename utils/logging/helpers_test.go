package logging_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// blobs makes n feature vectors of dim d in k classes.
func blobs(t testing.TB, seed uint64, n, d, k int) *datasets.Features {
	t.Helper()
	centres := make([][]float64, k)
	for c := range centres {
		centres[c] = make([]float64, d)
		for j := c; j < d; j += k {
			centres[c][j] = 2
		}
	}
	x, labels := testkit.Blobs(rand.New(rand.NewPCG(seed, 1)), centres, n, 1)
	f, err := datasets.NewFeatures(d, x.Data, labels)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mlpTrainer is a MetricLossOnly on an MLP with 4 iterations per epoch.
func mlpTrainer(t testing.TB, ds datasets.Dataset) *trainers.MetricLossOnly {
	t.Helper()
	enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{8, 16, 8}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := models.NewOptimizer("adam", 1e-3)
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1
	tr := trainers.NewMetricLossOnly(enc, opt, 16, loss, ds)
	tr.Miner = miners.NewMultiSimilarity()
	tr.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 4, BatchSize: 16, LengthBeforeNewIter: ds.Len()}
	return tr
}

// scripted is a Tester returning the next of its MAP@R values at each
// call for every split.
type scripted struct {
	values []float64
	calls  int
}

func (s *scripted) Test(_ context.Context, _ testers.Embedder, splits map[string]datasets.Dataset, _ ...testers.Eval) (map[string]accuracy.Results, error) {
	if s.calls >= len(s.values) {
		return nil, fmt.Errorf("scripted: call %d of %d", s.calls+1, len(s.values))
	}
	v := s.values[s.calls]
	s.calls++
	out := map[string]accuracy.Results{}
	for name := range splits {
		out[name] = accuracy.Results{
			accuracy.NameMeanAveragePrecisionAtR: {Scalar: v},
			accuracy.NamePrecisionAt1:            {Scalar: v / 2},
		}
	}
	return out, nil
}
