package trainers_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
)

// withEmbedder adds a Linear(8, e) embedder with its own Adam.
func withEmbedder(t testing.TB, tr *trainers.MetricLossOnly, e int) *models.MLP {
	t.Helper()
	emb, err := models.NewMLP(models.MLPConfig{Sizes: []int{tr.Encoder.EmbeddingSize(), e}, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := models.NewOptimizer("adam", 1e-2)
	if err != nil {
		t.Fatal(err)
	}
	tr.Embedder, tr.EmbedderOptimizer = emb, opt
	return emb
}

func changed(a, b [][]float32) bool {
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return true
		}
	}
	return false
}

// TestRolesRefused is the table of settings of the roles Train refuses.
func TestRolesRefused(t *testing.T) {
	ds := blobs(t, 1, 64, 6, 4, 0.3)
	otherOpt, _ := models.NewOptimizer("sgd", 0.1)
	cases := []struct {
		name string
		set  func(tr *trainers.MetricLossOnly)
		want error
	}{
		{"unknown freeze", func(tr *trainers.MetricLossOnly) { tr.FreezeThese = []string{"classifier"} }, gometric.ErrSetting},
		{"freeze nil embedder", func(tr *trainers.MetricLossOnly) { tr.FreezeThese = []string{"embedder"} }, gometric.ErrSetting},
		{"too many freeze", func(tr *trainers.MetricLossOnly) { tr.FreezeThese = make([]string, 1000) }, gometric.ErrSetting},
		{"unknown weight", func(tr *trainers.MetricLossOnly) { tr.LossWeights = map[string]float64{"classifier_loss": 1} }, gometric.ErrSetting},
		{"NaN weight", func(tr *trainers.MetricLossOnly) { tr.LossWeights = map[string]float64{"metric_loss": math.NaN()} }, gometric.ErrSetting},
		{"Inf weight", func(tr *trainers.MetricLossOnly) { tr.LossWeights = map[string]float64{"metric_loss": math.Inf(-1)} }, gometric.ErrSetting},
		{"nil clipper", func(tr *trainers.MetricLossOnly) { tr.GradientClippers = []func() error{nil} }, gometric.ErrSetting},
		{"nil scheduler", func(tr *trainers.MetricLossOnly) { tr.LRSchedulersByEpoch = []models.LRScheduler{nil} }, gometric.ErrSetting},
		{"nil iteration scheduler", func(tr *trainers.MetricLossOnly) { tr.LRSchedulersByIteration = []models.LRScheduler{nil} }, gometric.ErrSetting},
		{"embedder is trunk", func(tr *trainers.MetricLossOnly) {
			tr.Embedder, tr.EmbedderOptimizer = tr.Encoder.(*models.MLP), otherOpt
		}, gometric.ErrSetting},
		{"embedder without optimizer", func(tr *trainers.MetricLossOnly) { withEmbedder(t, tr, 4).Config(); tr.EmbedderOptimizer = nil }, gometric.ErrSetting},
		{"embedder shares optimizer", func(tr *trainers.MetricLossOnly) { withEmbedder(t, tr, 4); tr.EmbedderOptimizer = tr.Optimizer }, gometric.ErrSetting},
		{"embedder wrong input", func(tr *trainers.MetricLossOnly) {
			e, _ := models.NewMLP(models.MLPConfig{Sizes: []int{5, 3}})
			tr.Embedder, tr.EmbedderOptimizer = e, otherOpt
		}, gometric.ErrShape},
		{"failing clipper", func(tr *trainers.MetricLossOnly) {
			tr.GradientClippers = []func() error{func() error { return gometric.ErrNonFinite }}
		}, gometric.ErrNonFinite},
		{"nil optimizer", func(tr *trainers.MetricLossOnly) { tr.Optimizer = nil }, gometric.ErrSetting},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := mlpTrainer(t, ds, 1)
			tc.set(tr)
			_, err := tr.Train(context.Background(), 1, 1)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRoles checks each role's semantics on blobs: the embedder trains
// with its own optimizer, a frozen role keeps its weights, a loss weight
// w scales the loss by w, clippers and schedulers run as PML's, and
// SetMinLabelToZero keeps the mapping.
func TestRoles(t *testing.T) {
	ds := blobs(t, 2, 96, 6, 4, 0.3)
	ctx := context.Background()

	t.Run("embedder", func(t *testing.T) {
		tr := mlpTrainer(t, ds, 3)
		emb := withEmbedder(t, tr, 4)
		w0, e0 := weights(tr.Encoder), weights(emb)
		if _, err := tr.Train(ctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		if !changed(w0, weights(tr.Encoder)) || !changed(e0, weights(emb)) {
			t.Fatal("trunk or embedder did not change")
		}
	})
	t.Run("freeze trunk", func(t *testing.T) {
		tr := mlpTrainer(t, ds, 3)
		emb := withEmbedder(t, tr, 4)
		tr.FreezeThese = []string{"trunk"}
		tr.Optimizer = nil
		w0, e0 := weights(tr.Encoder), weights(emb)
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if changed(w0, weights(tr.Encoder)) || !changed(e0, weights(emb)) {
			t.Fatal("the frozen trunk changed or the embedder did not")
		}
	})
	t.Run("freeze embedder", func(t *testing.T) {
		tr := mlpTrainer(t, ds, 3)
		emb := withEmbedder(t, tr, 4)
		tr.FreezeThese = []string{"embedder"}
		w0, e0 := weights(tr.Encoder), weights(emb)
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if !changed(w0, weights(tr.Encoder)) || changed(e0, weights(emb)) {
			t.Fatal("the trunk did not change or the frozen embedder did")
		}
	})
	t.Run("loss weight", func(t *testing.T) {
		// SGD: weight 2 at lr 0.05 is weight 1 at lr 0.1, step for step.
		run := func(w, lr float64) ([]trainers.EpochInfo, [][]float32) {
			tr := mlpTrainer(t, ds, 4)
			tr.Optimizer, _ = models.NewOptimizer("sgd", lr)
			if w != 1 {
				tr.LossWeights = map[string]float64{"metric_loss": w}
			}
			eps, err := tr.Train(ctx, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			return eps, weights(tr.Encoder)
		}
		e1, w1 := run(1, 0.1)
		e2, w2 := run(2, 0.05)
		if e1[0].LossMean == 0 {
			t.Fatal("zero loss: the test shows nothing")
		}
		if math.Abs(e2[0].LossMean-2*e1[0].LossMean) > 1e-5*math.Abs(e1[0].LossMean)+1e-7 {
			t.Errorf("weighted loss %v, want 2×%v", e2[0].LossMean, e1[0].LossMean)
		}
		for i := range w1 {
			for j := range w1[i] {
				if math.Abs(float64(w1[i][j]-w2[i][j])) > 1e-5 {
					t.Fatalf("param %d[%d]: %v vs %v", i, j, w1[i][j], w2[i][j])
				}
			}
		}
	})
	t.Run("clippers and schedulers", func(t *testing.T) {
		tr := mlpTrainer(t, ds, 5)
		tr.IterationsPerEpoch = 3
		clipped := 0
		tr.GradientClippers = []func() error{func() error {
			clipped++
			_, err := models.ClipGradNorm(tr.Encoder.Params(), 0.5, 2)
			return err
		}}
		it, err := models.NewExponentialLR(tr.Optimizer, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		epOpt, _ := models.NewOptimizer("adam", 1)
		ep, err := models.NewStepLR(epOpt, 1, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		tr.LRSchedulersByIteration = []models.LRScheduler{it}
		tr.LRSchedulersByEpoch = []models.LRScheduler{ep}
		var lrSeen []float64
		tr.EndOfEpochHook = func(*trainers.MetricLossOnly, trainers.EpochInfo) error {
			lrSeen = append(lrSeen, ep.LastLR())
			return nil
		}
		if _, err := tr.Train(ctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		if clipped != 6 {
			t.Errorf("clipper ran %d times, want 6", clipped)
		}
		if got := it.LastLR(); math.Abs(got-1e-2/64) > 1e-12 {
			t.Errorf("per-iteration rate %v, want %v", got, 1e-2/64)
		}
		if len(lrSeen) != 2 || math.Abs(lrSeen[0]-0.1) > 1e-12 || math.Abs(lrSeen[1]-0.01) > 1e-12 {
			t.Errorf("per-epoch rates seen by the hook %v, want [0.1 0.01]", lrSeen)
		}
	})
	t.Run("set min label to zero", func(t *testing.T) {
		labels := ds.Labels()
		shifted := make([]int, len(labels))
		for i, l := range labels {
			shifted[i] = 1000 + 7*l
		}
		x, _, err := ds.Batch(seq(ds.Len()), gometric.Matrix{})
		if err != nil {
			t.Fatal(err)
		}
		sds, err := datasets.NewFeatures(ds.Dim(), x.Data, shifted)
		if err != nil {
			t.Fatal(err)
		}
		tr := mlpTrainer(t, sds, 6)
		tr.SetMinLabelToZero = true
		var seen []int
		tr.Loss = recordLabels{tr.Loss, &seen}
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if m := tr.LabelMapping(); !slices.Equal(m, []int{1000, 1007, 1014, 1021}) {
			t.Errorf("mapping %v", m)
		}
		if slices.Min(seen) != 0 || slices.Max(seen) != 3 {
			t.Errorf("the loss saw labels %d..%d, want 0..3", slices.Min(seen), slices.Max(seen))
		}
		if (*trainers.MetricLossOnly)(nil).LabelMapping() != nil {
			t.Error("nil receiver")
		}
	})
}

// TestLearnsFashionMNISTSampleEmbedder is the second protocol on
// the sample: trunk CNN→64 and embedder Linear(64, 32), Adam 1e-3 each.
func TestLearnsFashionMNISTSampleEmbedder(t *testing.T) {
	if raceEnabled {
		t.Skip("training the CNN under -race takes minutes; run without -race")
	}
	train, test, err := datasets.FashionMNISTSample()
	if err != nil {
		t.Fatal(err)
	}
	trunk, err := models.NewConvNet(models.ReferenceConvNetConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	emb, err := models.NewMLP(models.MLPConfig{Sizes: []int{trunk.EmbeddingSize(), 32}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tester := testers.NewGlobalEmbeddingSpace()
	tester.BatchSize = 250
	tester.Calculator = &accuracy.Calculator{K: accuracy.KMaxBinCount(), Include: []string{accuracy.NameMeanAveragePrecisionAtR}}
	both := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		h, err := trunk.Embed(x)
		if err != nil {
			return h, err
		}
		return emb.Embed(h)
	})
	eval := func() float64 {
		r, err := tester.Test(context.Background(), both, map[string]datasets.Dataset{"test": test})
		if err != nil {
			t.Fatal(err)
		}
		return r["test"][accuracy.NameMeanAveragePrecisionAtR].Scalar
	}
	m0 := eval()
	tr := fashionTrainer(t, trunk, train)
	tr.Embedder = emb
	tr.EmbedderOptimizer, _ = models.NewOptimizer("adam", 1e-3)
	if _, err := tr.Train(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	m1 := eval()
	t.Logf("trunk+embedder MAP@R %.4f -> %.4f", m0, m1)
	if !(m1 >= m0+0.08) {
		t.Errorf("MAP@R went from %.4f to %.4f; want a gain of at least 0.08", m0, m1)
	}
}

// recordLabels records the labels the loss sees.
type recordLabels struct {
	losses.Loss
	seen *[]int
}

func (r recordLabels) Compute(b losses.Batch) (losses.Result, error) {
	*r.seen = append(*r.seen, b.Labels...)
	return r.Loss.Compute(b)
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// fashionTrainer is the README's protocol on the sample (TripletMargin
// 0.1, MS miner ε 0.1, MPerClass m 8, batch 64, Adam 1e-3), 20 iterations.
func fashionTrainer(t testing.TB, enc models.Encoder, train datasets.Dataset) *trainers.MetricLossOnly {
	t.Helper()
	opt, err := models.NewOptimizer("adam", 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1
	miner := miners.NewMultiSimilarity()
	miner.Epsilon = 0.1
	tr := trainers.NewMetricLossOnly(enc, opt, 64, loss, train)
	tr.Miner = miner
	tr.Sampler = &samplers.MPerClass{Labels: train.Labels(), M: 8, BatchSize: 64, LengthBeforeNewIter: train.Len()}
	tr.IterationsPerEpoch = 20
	return tr
}
