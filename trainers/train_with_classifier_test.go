package trainers_test

import (
	"context"
	"errors"
	"math"
	"strings"
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

// classifierTrainer is mlpTrainer with a Linear(8, classes) classifier and
// its own Adam.
func classifierTrainer(t testing.TB, ds *datasets.Features, seed uint64, classes int) (*trainers.TrainWithClassifier, *models.MLP) {
	t.Helper()
	m := mlpTrainer(t, ds, seed)
	cl, err := models.NewMLP(models.MLPConfig{Sizes: []int{m.Encoder.EmbeddingSize(), classes}, Seed: seed + 100})
	if err != nil {
		t.Fatal(err)
	}
	copt, err := models.NewOptimizer("adam", 1e-2)
	if err != nil {
		t.Fatal(err)
	}
	tr := trainers.NewTrainWithClassifier(m.Encoder, m.Optimizer, m.BatchSize, m.Loss, cl, copt, ds)
	tr.Sampler, tr.Seed = m.Sampler, m.Seed
	return tr, cl
}

// TestTrainWithClassifierRefused is the table of settings Train refuses.
func TestTrainWithClassifierRefused(t *testing.T) {
	ds := blobs(t, 1, 64, 6, 4, 0.3)
	ctx := context.Background()
	cases := []struct {
		name string
		set  func(tr *trainers.TrainWithClassifier)
		want error
		says string
	}{
		{"nil classifier", func(tr *trainers.TrainWithClassifier) { tr.Classifier = nil }, gometric.ErrSetting, "Classifier is nil"},
		{"classifier input", func(tr *trainers.TrainWithClassifier) {
			tr.Classifier, _ = models.NewMLP(models.MLPConfig{Sizes: []int{5, 4}})
		}, gometric.ErrShape, "takes [5]"},
		{"classifier input with embedder", func(tr *trainers.TrainWithClassifier) {
			withEmbedder(t, &tr.MetricLossOnly, 3) // embeddings of 3, classifier takes 8
		}, gometric.ErrShape, "have 3 values"},
		{"unknown loss weight", func(tr *trainers.TrainWithClassifier) { tr.LossWeights = map[string]float64{"classifier": 1} }, gometric.ErrSetting, `"classifier"`},
		{"unknown loss weight total", func(tr *trainers.TrainWithClassifier) { tr.LossWeights = map[string]float64{"total_loss": 1} }, gometric.ErrSetting, "total_loss"},
		{"NaN classifier weight", func(tr *trainers.TrainWithClassifier) {
			tr.LossWeights = map[string]float64{"classifier_loss": math.NaN()}
		}, gometric.ErrSetting, "NaN"},
		{"unknown freeze", func(tr *trainers.TrainWithClassifier) { tr.FreezeThese = []string{"generator"} }, gometric.ErrSetting, "generator"},
		{"no classifier optimizer", func(tr *trainers.TrainWithClassifier) { tr.ClassifierOptimizer = nil }, gometric.ErrSetting, "ClassifierOptimizer is nil"},
		{"shared optimizer", func(tr *trainers.TrainWithClassifier) { tr.ClassifierOptimizer = tr.Optimizer }, gometric.ErrSetting, "of its own"},
		{"classifier is trunk", func(tr *trainers.TrainWithClassifier) { tr.Classifier = tr.Encoder.(*models.MLP) }, gometric.ErrSetting, "trunk"},
		{"too few outputs", func(tr *trainers.TrainWithClassifier) {
			tr.Classifier, _ = models.NewMLP(models.MLPConfig{Sizes: []int{8, 3}})
		}, gometric.ErrLabels, "3 outputs"},
		{"too few outputs relabelled", func(tr *trainers.TrainWithClassifier) {
			tr.Classifier, _ = models.NewMLP(models.MLPConfig{Sizes: []int{8, 2}})
			tr.SetMinLabelToZero = true
		}, gometric.ErrLabels, "4 classes"},
		{"embedded hook", func(tr *trainers.TrainWithClassifier) {
			tr.MetricLossOnly.EndOfEpochHook = func(*trainers.MetricLossOnly, trainers.EpochInfo) error { return nil }
		}, gometric.ErrSetting, "hook"},
		{"nil metric loss", func(tr *trainers.TrainWithClassifier) { tr.Loss = nil }, gometric.ErrSetting, "Loss is nil"},
		{"nil data set", func(tr *trainers.TrainWithClassifier) { tr.Dataset = nil }, gometric.ErrSetting, "Dataset is nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := classifierTrainer(t, ds, 1, 4)
			tc.set(tr)
			_, err := tr.Train(ctx, 1, 1)
			if !errors.Is(err, tc.want) || !containsAll(err.Error(), "trainers.TrainWithClassifier: ", tc.says) {
				t.Fatalf("err = %v, want %v naming the trainer and %q", err, tc.want, tc.says)
			}
		})
	}
	var nilT *trainers.TrainWithClassifier
	if _, err := nilT.Train(ctx, 1, 1); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil receiver: %v", err)
	}
	if _, err := new(trainers.TrainWithClassifier).Train(ctx, 1, 1); !errors.Is(err, gometric.ErrSetting) || !containsAll(err.Error(), "NewTrainWithClassifier") {
		t.Errorf("zero value: %v, want an ErrSetting naming NewTrainWithClassifier", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestTrainWithClassifierRoles: the classifier trains with its own
// optimizer and reports its loss; a frozen classifier keeps its weights;
// a classifier weight of 0 is MetricLossOnly step for step (PML runs no
// classifier then).
func TestTrainWithClassifierRoles(t *testing.T) {
	ds := blobs(t, 2, 96, 6, 4, 0.3)
	ctx := context.Background()
	t.Run("trains", func(t *testing.T) {
		tr, cl := classifierTrainer(t, ds, 3, 4)
		w0, c0 := weights(tr.Encoder), weights(cl)
		var ce []float64
		tr.EndOfIterationHook = func(_ *trainers.TrainWithClassifier, it trainers.IterationInfo) error {
			v, ok := it.Parts["classifier_loss"]
			if !ok || !(it.Loss >= v) {
				t.Errorf("iteration %d: loss %v, parts %v", it.GlobalIteration, it.Loss, it.Parts)
			}
			ce = append(ce, v)
			return nil
		}
		if _, err := tr.Train(ctx, 1, 6); err != nil {
			t.Fatal(err)
		}
		if !changed(w0, weights(tr.Encoder)) || !changed(c0, weights(cl)) {
			t.Fatal("trunk or classifier did not change")
		}
		if n := len(ce); !(ce[n-1] < 0.5*ce[0]) {
			t.Errorf("cross-entropy %v then %v: the classifier did not learn", ce[0], ce[n-1])
		}
	})
	t.Run("freeze classifier", func(t *testing.T) {
		tr, cl := classifierTrainer(t, ds, 3, 4)
		tr.FreezeThese = []string{"classifier"}
		tr.ClassifierOptimizer = nil
		w0, c0 := weights(tr.Encoder), weights(cl)
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if !changed(w0, weights(tr.Encoder)) || changed(c0, weights(cl)) {
			t.Fatal("the trunk did not change or the frozen classifier did")
		}
	})
	t.Run("weight 0 is MetricLossOnly", func(t *testing.T) {
		tr, cl := classifierTrainer(t, ds, 5, 4)
		tr.LossWeights = map[string]float64{"classifier_loss": 0}
		c0 := weights(cl)
		var l1 []float64
		tr.EndOfIterationHook = func(_ *trainers.TrainWithClassifier, it trainers.IterationInfo) error {
			l1 = append(l1, it.Loss)
			return nil
		}
		if _, err := tr.Train(ctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		m := mlpTrainer(t, ds, 5)
		var l2 []float64
		m.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
			l2 = append(l2, it.Loss)
			return nil
		}
		if _, err := m.Train(ctx, 1, 2); err != nil {
			t.Fatal(err)
		}
		if changed(c0, weights(cl)) || !sameWeights(weights(tr.Encoder), weights(m.Encoder)) || len(l1) != len(l2) {
			t.Fatal("weight 0: the classifier changed or the trunk differs from MetricLossOnly's")
		}
		for i := range l1 {
			if l1[i] != l2[i] {
				t.Fatalf("iteration %d: loss %v, MetricLossOnly's %v", i, l1[i], l2[i])
			}
		}
	})
	t.Run("relabelled", func(t *testing.T) {
		shifted := make([]int, ds.Len())
		for i, l := range ds.Labels() {
			shifted[i] = 1000 + 7*l
		}
		ds2, err := datasets.NewFeatures(ds.Dim(), ds.Data(), shifted)
		if err != nil {
			t.Fatal(err)
		}
		tr, _ := classifierTrainer(t, ds2, 3, 4)
		tr.Sampler = &samplers.MPerClass{Labels: shifted, M: 4, BatchSize: 16, LengthBeforeNewIter: ds2.Len()}
		if _, err := tr.Train(ctx, 1, 1); !errors.Is(err, gometric.ErrLabels) {
			t.Fatalf("labels 1000.. without SetMinLabelToZero: %v, want ErrLabels", err)
		}
		tr.SetMinLabelToZero = true
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if m := tr.LabelMapping(); len(m) != 4 || m[0] != 1000 {
			t.Fatalf("LabelMapping = %v", m)
		}
	})
}

// TestLearnsFashionMNISTSampleWithClassifier is TestLearnsFashionMNISTSample
// with TrainWithClassifier: the same protocol plus a Linear(64, 10)
// classifier trained with CrossEntropy (weights 1 and 1, Adam 1e-3 for
// both), as the issue's `-trainer withclassifier -classifier-loss-weight 1`.
func TestLearnsFashionMNISTSampleWithClassifier(t *testing.T) {
	if raceEnabled {
		t.Skip("training the CNN under -race takes minutes; run without -race")
	}
	const (
		iters   = 20
		minGain = 0.08
	)
	train, test, err := datasets.FashionMNISTSample()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := models.NewConvNet(models.ReferenceConvNetConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	tester := testers.NewGlobalEmbeddingSpace()
	tester.BatchSize = 250
	tester.Calculator = &accuracy.Calculator{K: accuracy.KMaxBinCount(), Include: []string{accuracy.NameMeanAveragePrecisionAtR}}
	eval := func() float64 {
		t.Helper()
		r, err := tester.Test(context.Background(), enc, map[string]datasets.Dataset{"test": test})
		if err != nil {
			t.Fatal(err)
		}
		return r["test"][accuracy.NameMeanAveragePrecisionAtR].Scalar
	}
	before := eval()
	opt, _ := models.NewOptimizer("adam", 1e-3)
	copt, _ := models.NewOptimizer("adam", 1e-3)
	cl, err := models.NewMLP(models.MLPConfig{Sizes: []int{enc.EmbeddingSize(), 10}})
	if err != nil {
		t.Fatal(err)
	}
	loss := losses.NewTripletMargin()
	loss.Margin = 0.1
	miner := miners.NewMultiSimilarity()
	miner.Epsilon = 0.1
	tr := trainers.NewTrainWithClassifier(enc, opt, 64, loss, cl, copt, train)
	tr.Miner = miner
	tr.Sampler = &samplers.MPerClass{Labels: train.Labels(), M: 8, BatchSize: 64, LengthBeforeNewIter: train.Len()}
	tr.IterationsPerEpoch = iters
	tr.LossWeights = map[string]float64{"metric_loss": 1, "classifier_loss": 1}
	var ce []float64
	tr.EndOfIterationHook = func(_ *trainers.TrainWithClassifier, it trainers.IterationInfo) error {
		ce = append(ce, it.Parts["classifier_loss"])
		return nil
	}
	eps, err := tr.Train(context.Background(), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	after := eval()
	t.Logf("TrainWithClassifier, %d iterations: mean loss %.4f, cross-entropy %.4f -> %.4f, MAP@R %.4f -> %.4f",
		iters, eps[0].LossMean, ce[0], ce[len(ce)-1], before, after)
	if !(after >= before+minGain) {
		t.Errorf("MAP@R went from %.4f to %.4f; want a gain of at least %.2f", before, after, minGain)
	}
	if !(ce[len(ce)-1] < ce[0]) {
		t.Errorf("cross-entropy %v then %v: the classifier did not learn", ce[0], ce[len(ce)-1])
	}
}
