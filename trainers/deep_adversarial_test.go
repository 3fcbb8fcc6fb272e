package trainers_test

import (
	"context"
	"errors"
	"maps"
	"math"
	"testing"
	"time"

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

// damlModels are the models of a DAML trainer of the tests.
type damlModels struct {
	trunk, generator, embedder, classifier *models.MLP
}

// damlTrainer is mlpTrainer (trunk 6→16→8) as a DAML trainer with a
// generator 24→16→8, Adam for every role, 4 triplets per anchor; with
// embedder, a Linear(8, 4) embedder; with classes > 0, a Linear
// classifier.
func damlTrainer(t testing.TB, ds *datasets.Features, seed uint64, embedder bool, classes int) (*trainers.DeepAdversarialMetricLearning, damlModels) {
	t.Helper()
	m := mlpTrainer(t, ds, seed)
	adam := func() *models.Optimizer {
		o, err := models.NewOptimizer("adam", 1e-2)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	mlp := func(sizes ...int) *models.MLP {
		n, err := models.NewMLP(models.MLPConfig{Sizes: sizes, Seed: seed + uint64(len(sizes))*7 + uint64(sizes[0])})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	gen := mlp(24, 16, 8)
	synth := losses.NewTripletMargin()
	synth.Margin = 0.1
	adv := losses.NewTripletMargin()
	adv.Margin = 0.1
	tr := trainers.NewDeepAdversarialMetricLearning(m.Encoder, m.Optimizer, m.BatchSize, m.Loss, synth, adv, gen, adam(), ds)
	tr.Sampler, tr.Seed = m.Sampler, m.Seed
	tr.GTripletsPerAnchor = 4
	ms := damlModels{trunk: m.Encoder.(*models.MLP), generator: gen}
	e := 8
	if embedder {
		ms.embedder = mlp(8, 4)
		tr.Embedder, tr.EmbedderOptimizer = ms.embedder, adam()
		e = 4
	}
	if classes > 0 {
		ms.classifier = mlp(e, classes)
		tr.Classifier, tr.ClassifierOptimizer = ms.classifier, adam()
	}
	return tr, ms
}

// TestDeepAdversarialRefused is the table of settings Train refuses.
func TestDeepAdversarialRefused(t *testing.T) {
	ds := blobs(t, 1, 64, 6, 4, 0.3)
	ctx := context.Background()
	type D = trainers.DeepAdversarialMetricLearning
	cases := []struct {
		name string
		set  func(tr *D)
		want error
		says string
	}{
		{"nil generator", func(tr *D) { tr.Generator = nil }, gometric.ErrSetting, "Generator is nil"},
		{"typed nil generator", func(tr *D) { tr.Generator = (*models.MLP)(nil) }, gometric.ErrSetting, "Generator is nil"},
		{"nil g_adv loss", func(tr *D) { tr.GAdvLoss = nil }, gometric.ErrSetting, "GAdvLoss is nil"},
		{"g_adv loss not made", func(tr *D) { tr.GAdvLoss = &losses.TripletMargin{Margin: 0.1} }, gometric.ErrSetting, "NewTripletMargin"},
		{"NaN g_adv margin", func(tr *D) { tr.GAdvLoss.Margin = math.NaN() }, gometric.ErrSetting, "GAdvLoss.Margin = NaN"},
		{"nil synth loss", func(tr *D) { tr.SynthLoss = nil }, gometric.ErrSetting, "SynthLoss is nil"},
		{"typed nil synth loss", func(tr *D) { tr.SynthLoss = (*losses.Contrastive)(nil) }, gometric.ErrSetting, "SynthLoss is nil"},
		{"nil metric loss", func(tr *D) { tr.Loss = nil }, gometric.ErrSetting, "Loss (the metric loss) is nil"},
		{"negative metric-alone epochs", func(tr *D) { tr.MetricAloneEpochs = -1 }, gometric.ErrSetting, "MetricAloneEpochs = -1"},
		{"negative g-alone epochs", func(tr *D) { tr.GAloneEpochs = math.MinInt }, gometric.ErrSetting, "GAloneEpochs = "},
		{"negative triplets per anchor", func(tr *D) { tr.GTripletsPerAnchor = -3 }, gometric.ErrSetting, "GTripletsPerAnchor = -3"},
		{"too many triplets", func(tr *D) { tr.GTripletsPerAnchor = math.MaxInt }, gometric.ErrSetting, "limit of 2048"},
		{"PML default with batch 64", func(tr *D) { tr.GTripletsPerAnchor, tr.BatchSize, tr.Sampler = 0, 64, nil }, gometric.ErrSetting, "GTripletsPerAnchor = 100 with batches of 64"},
		{"generator input", func(tr *D) { tr.Generator, _ = models.NewMLP(models.MLPConfig{Sizes: []int{8, 8}}) }, gometric.ErrShape, "3·8 = 24"},
		{"generator output", func(tr *D) { tr.Generator, _ = models.NewMLP(models.MLPConfig{Sizes: []int{24, 4}}) }, gometric.ErrShape, "outputs 4 values"},
		{"generator is trunk", func(tr *D) { tr.Generator = tr.Encoder.(*models.MLP) }, gometric.ErrSetting, "model of its own"},
		{"no generator optimizer", func(tr *D) { tr.GeneratorOptimizer = nil }, gometric.ErrSetting, "GeneratorOptimizer is nil"},
		{"shared generator optimizer", func(tr *D) { tr.GeneratorOptimizer = tr.Optimizer }, gometric.ErrSetting, "Optimizer of its own"},
		{"subset miner with embedder", func(tr *D) {
			emb, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 4}})
			opt, _ := models.NewOptimizer("adam", 1e-2)
			tr.Embedder, tr.EmbedderOptimizer = emb, opt
			tr.SubsetBatchMiner = func(_ gometric.Matrix, l []int) ([]int, error) { return []int{0, 1}, nil }
		}, gometric.ErrUnsupported, "SubsetBatchMiner with an Embedder"},
		{"loss optimizer", func(tr *D) { tr.LossOptimizer, _ = models.NewOptimizer("sgd", 1) }, gometric.ErrSetting, "LossOptimizer"},
		{"unknown loss weight", func(tr *D) { tr.LossWeights = map[string]float64{"g_loss": 1} }, gometric.ErrSetting, `"g_loss"`},
		{"Inf g_hard weight", func(tr *D) { tr.LossWeights = map[string]float64{"g_hard_loss": math.Inf(1)} }, gometric.ErrSetting, "+Inf"},
		{"unknown freeze", func(tr *D) { tr.FreezeThese = []string{"synth_loss"} }, gometric.ErrSetting, "synth_loss"},
		{"frozen absent classifier", func(tr *D) { tr.FreezeThese = []string{"classifier"} }, gometric.ErrSetting, "Classifier is nil"},
		{"frozen absent embedder", func(tr *D) { tr.FreezeThese = []string{"embedder"} }, gometric.ErrSetting, "Embedder is nil"},
		{"embedder input", func(tr *D) {
			tr.Embedder, _ = models.NewMLP(models.MLPConfig{Sizes: []int{5, 4}})
			tr.EmbedderOptimizer, _ = models.NewOptimizer("adam", 1e-3)
		}, gometric.ErrShape, "embedder takes [5]"},
		{"classifier input", func(tr *D) {
			tr.Classifier, _ = models.NewMLP(models.MLPConfig{Sizes: []int{5, 4}})
			tr.ClassifierOptimizer, _ = models.NewOptimizer("adam", 1e-3)
		}, gometric.ErrShape, "classifier takes [5]"},
		{"classifier too few outputs", func(tr *D) {
			tr.Classifier, _ = models.NewMLP(models.MLPConfig{Sizes: []int{8, 3}})
			tr.ClassifierOptimizer, _ = models.NewOptimizer("adam", 1e-3)
		}, gometric.ErrLabels, "3 outputs"},
		{"embedded hook", func(tr *D) {
			tr.TrainWithClassifier.EndOfEpochHook = func(*trainers.TrainWithClassifier, trainers.EpochInfo) error { return nil }
		}, gometric.ErrSetting, "hook"},
		{"embedded metric hook", func(tr *D) {
			tr.MetricLossOnly.EndOfIterationHook = func(*trainers.MetricLossOnly, trainers.IterationInfo) error { return nil }
		}, gometric.ErrSetting, "hook"},
		{"nil data set", func(tr *D) { tr.Dataset = nil }, gometric.ErrSetting, "Dataset is nil"},
		{"nil encoder", func(tr *D) { tr.Encoder = nil }, gometric.ErrSetting, "Encoder is nil"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := damlTrainer(t, ds, 1, false, 0)
			tc.set(tr)
			_, err := tr.Train(ctx, 1, 1)
			if !errors.Is(err, tc.want) || !containsAll(err.Error(), "trainers.DeepAdversarialMetricLearning: ", tc.says) {
				t.Fatalf("err = %v, want %v naming the trainer and %q", err, tc.want, tc.says)
			}
		})
	}
	var nilT *trainers.DeepAdversarialMetricLearning
	if _, err := nilT.Train(ctx, 1, 1); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil receiver: %v", err)
	}
	if nilT.LossWeightsAt(1) != nil || nilT.LabelMapping() != nil {
		t.Error("nil receiver: non-nil LossWeightsAt or LabelMapping")
	}
	if _, err := new(trainers.DeepAdversarialMetricLearning).Train(ctx, 1, 1); !errors.Is(err, gometric.ErrSetting) || !containsAll(err.Error(), "NewDeepAdversarialMetricLearning") {
		t.Errorf("zero value: %v, want an ErrSetting naming NewDeepAdversarialMetricLearning", err)
	}
	for _, c := range []struct {
		ctx        context.Context
		start, end int
	}{{nil, 1, 1}, {ctx, 0, 1}, {ctx, math.MinInt, 1}} {
		tr, _ := damlTrainer(t, ds, 1, false, 0)
		if _, err := tr.Train(c.ctx, c.start, c.end); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("Train(%v, %d, %d): %v", c.ctx, c.start, c.end, err)
		}
	}
}

// TestDeepAdversarialPhases: with MetricAloneEpochs 1 and GAloneEpochs 1,
// epoch 1 trains the metric alone (the generator keeps its weights),
// epoch 2 the generator alone (trunk, embedder and classifier keep
// theirs), epoch 3 everything; LossWeightsAt zeroes the inactive losses
// as PML's update_loss_weights; the iterations report the active losses;
// and three runs of one epoch each give the weights of one run of three.
func TestDeepAdversarialPhases(t *testing.T) {
	ds := blobs(t, 2, 96, 6, 4, 0.3)
	ctx := context.Background()
	setup := func() (*trainers.DeepAdversarialMetricLearning, damlModels) {
		tr, ms := damlTrainer(t, ds, 3, true, 4)
		tr.MetricAloneEpochs, tr.GAloneEpochs = 1, 1
		tr.LossWeights = map[string]float64{"g_hard_loss": 2, "metric_loss": 0.5}
		tr.IterationsPerEpoch = 3
		return tr, ms
	}
	tr, ms := setup()
	wantWeights := []map[string]float64{
		{"metric_loss": 0.5, "classifier_loss": 1, "synth_loss": 0, "g_adv_loss": 0, "g_hard_loss": 0, "g_reg_loss": 0},
		{"metric_loss": 0, "classifier_loss": 0, "synth_loss": 0, "g_adv_loss": 1, "g_hard_loss": 2, "g_reg_loss": 1},
		{"metric_loss": 0.5, "classifier_loss": 1, "synth_loss": 1, "g_adv_loss": 1, "g_hard_loss": 2, "g_reg_loss": 1},
	}
	wantParts := [][]string{
		{"classifier_loss"},
		{"g_adv_loss", "g_hard_loss", "g_reg_loss"},
		{"classifier_loss", "synth_loss", "g_adv_loss", "g_hard_loss", "g_reg_loss"},
	}
	// Which of trunk, generator, embedder, classifier step in each epoch.
	wantStep := [][4]bool{{true, false, true, true}, {false, true, false, false}, {true, true, true, true}}
	for e := 1; e <= 3; e++ {
		if got := tr.LossWeightsAt(e); !maps.Equal(got, wantWeights[e-1]) {
			t.Errorf("LossWeightsAt(%d) = %v, want %v", e, got, wantWeights[e-1])
		}
		all := []string{"classifier_loss", "synth_loss", "g_adv_loss", "g_hard_loss", "g_reg_loss"}
		tr.EndOfIterationHook = func(_ *trainers.DeepAdversarialMetricLearning, it trainers.IterationInfo) error {
			for _, k := range all {
				_, has := it.Parts[k]
				want := false
				for _, w := range wantParts[e-1] {
					want = want || w == k
				}
				if has != want {
					t.Errorf("epoch %d: Parts %v: %q present %v, want %v", e, it.Parts, k, has, want)
				}
			}
			if math.IsNaN(it.Loss) || it.Loss == 0 {
				t.Errorf("epoch %d: loss %v", e, it.Loss)
			}
			return nil
		}
		before := [4][][]float32{weights(ms.trunk), weights(ms.generator), weights(ms.embedder), weights(ms.classifier)}
		if _, err := tr.Train(ctx, e, e); err != nil {
			t.Fatal(err)
		}
		after := [4][][]float32{weights(ms.trunk), weights(ms.generator), weights(ms.embedder), weights(ms.classifier)}
		for i, role := range []string{"trunk", "generator", "embedder", "classifier"} {
			if got := !sameWeights(before[i], after[i]); got != wantStep[e-1][i] {
				t.Errorf("epoch %d: the %s's weights changed: %v, want %v", e, role, got, wantStep[e-1][i])
			}
		}
	}
	// One run of three epochs: the same weights.
	tr2, ms2 := setup()
	if _, err := tr2.Train(ctx, 1, 3); err != nil {
		t.Fatal(err)
	}
	for i, pair := range [][2]*models.MLP{{ms.trunk, ms2.trunk}, {ms.generator, ms2.generator}, {ms.embedder, ms2.embedder}, {ms.classifier, ms2.classifier}} {
		if !sameWeights(weights(pair[0]), weights(pair[1])) {
			t.Errorf("model %d: epochs run one at a time differ from one run", i)
		}
	}
}

// TestDeepAdversarialGeneratorTrains: in the generator-alone phase the
// generator's weights change and its weighted loss falls, g_adv and
// g_hard move, and the trunk (run forward only) and the embedder keep
// their weights; the caller's g_adv loss is not mutated.
func TestDeepAdversarialGeneratorTrains(t *testing.T) {
	ds := blobs(t, 4, 96, 6, 4, 0.3)
	tr, ms := damlTrainer(t, ds, 5, true, 0)
	tr.GAloneEpochs = 100
	tr.IterationsPerEpoch = 6
	tr.GTripletsPerAnchor = 8
	var adv, hard, total []float64
	tr.EndOfIterationHook = func(_ *trainers.DeepAdversarialMetricLearning, it trainers.IterationInfo) error {
		adv = append(adv, it.Parts["g_adv_loss"])
		hard = append(hard, it.Parts["g_hard_loss"])
		total = append(total, it.Loss)
		return nil
	}
	adv0 := *tr.GAdvLoss
	t0, g0, e0 := weights(ms.trunk), weights(ms.generator), weights(ms.embedder)
	eps, err := tr.Train(context.Background(), 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	if *tr.GAdvLoss != adv0 {
		t.Errorf("GAdvLoss was mutated: %+v, was %+v", *tr.GAdvLoss, adv0)
	}
	if !sameWeights(t0, weights(ms.trunk)) || !sameWeights(e0, weights(ms.embedder)) {
		t.Error("the trunk or the embedder changed in the generator-alone phase")
	}
	if sameWeights(g0, weights(ms.generator)) {
		t.Fatal("the generator did not train")
	}
	first, last := eps[0].LossMean, eps[len(eps)-1].LossMean
	t.Logf("generator loss per epoch: %.4f -> %.4f; g_adv %.4f -> %.4f; g_hard %.4f -> %.4f",
		first, last, adv[0], adv[len(adv)-1], hard[0], hard[len(hard)-1])
	if !(last < 0.9*first) {
		t.Errorf("the generator's mean loss went from %.4f to %.4f; want a fall of 10%%", first, last)
	}
	if adv[0] == adv[len(adv)-1] || hard[0] == hard[len(hard)-1] {
		t.Errorf("g_adv (%v) or g_hard (%v) did not move", adv, hard)
	}
}

// TestLearnsFashionMNISTSampleDAML is TestLearnsFashionMNISTSample with
// DeepAdversarialMetricLearning: the same trunk, metric loss, miner,
// sampler and Adam 1e-3, a generator MLP 192→128→64 (Adam 1e-3),
// TripletMargin(0.1) as synth and g_adv loss, 2 triplets per anchor; one
// metric-alone epoch of 10 iterations, then 10 iterations of both phases.
// MAP@R on the held-out images must rise as the plain trainer's does.
func TestLearnsFashionMNISTSampleDAML(t *testing.T) {
	if raceEnabled {
		t.Skip("training the CNN under -race takes minutes; run without -race")
	}
	const (
		perEpoch = 10
		minGain  = 0.08
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
	d := enc.EmbeddingSize()
	gen, err := models.NewMLP(models.MLPConfig{Sizes: []int{3 * d, 2 * d, d}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := models.NewOptimizer("adam", 1e-3)
	gopt, _ := models.NewOptimizer("adam", 1e-3)
	margin := func() *losses.TripletMargin {
		l := losses.NewTripletMargin()
		l.Margin = 0.1
		return l
	}
	miner := miners.NewMultiSimilarity()
	miner.Epsilon = 0.1
	tr := trainers.NewDeepAdversarialMetricLearning(enc, opt, 64, margin(), margin(), margin(), gen, gopt, train)
	tr.Miner = miner
	tr.Sampler = &samplers.MPerClass{Labels: train.Labels(), M: 8, BatchSize: 64, LengthBeforeNewIter: train.Len()}
	tr.IterationsPerEpoch = perEpoch
	tr.MetricAloneEpochs = 1
	tr.GTripletsPerAnchor = 2
	var synth []float64
	tr.EndOfIterationHook = func(_ *trainers.DeepAdversarialMetricLearning, it trainers.IterationInfo) error {
		if it.Epoch == 2 {
			synth = append(synth, it.Parts["synth_loss"])
		}
		return nil
	}
	start := time.Now()
	eps, err := tr.Train(context.Background(), 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	after := eval()
	t.Logf("DAML, 2×%d iterations in %v: mean loss %.4f, %.4f; synth loss %.4f -> %.4f; MAP@R %.4f -> %.4f",
		perEpoch, time.Since(start).Round(time.Millisecond), eps[0].LossMean, eps[1].LossMean, synth[0], synth[len(synth)-1], before, after)
	if !(after >= before+minGain) {
		t.Errorf("MAP@R went from %.4f to %.4f; want a gain of at least %.2f", before, after, minGain)
	}
}

// TestDeepAdversarialNoTriplets: batches where no triplet can be drawn
// (one class; every sample its own class) train in every phase without
// error: the adversarial losses are 0 and the generator keeps its
// weights. Extreme labels and a repeated FreezeThese name are accepted.
func TestDeepAdversarialNoTriplets(t *testing.T) {
	for _, tc := range []struct {
		name   string
		labels func(i int) int
	}{
		{"one class", func(int) int { return math.MaxInt }},
		{"all distinct", func(i int) int { return 1<<60 + i }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := blobs(t, 6, 32, 6, 1, 0.3)
			labels := make([]int, base.Len())
			for i := range labels {
				labels[i] = tc.labels(i)
			}
			idx := make([]int, base.Len())
			for i := range idx {
				idx[i] = i
			}
			all, _, err := base.Batch(idx, gometric.Matrix{})
			if err != nil {
				t.Fatal(err)
			}
			ds, err := datasets.NewFeatures(6, all.Data, labels)
			if err != nil {
				t.Fatal(err)
			}
			tr, ms := damlTrainer(t, ds, 7, true, 0)
			tr.Sampler = nil
			tr.MetricAloneEpochs, tr.GAloneEpochs = 1, 1
			tr.FreezeThese = []string{"embedder", "embedder"}
			g0 := weights(ms.generator)
			tr.EndOfIterationHook = func(_ *trainers.DeepAdversarialMetricLearning, it trainers.IterationInfo) error {
				for _, k := range []string{"g_adv_loss", "g_hard_loss", "synth_loss"} {
					if it.Parts[k] != 0 {
						t.Errorf("epoch %d: %s = %v without triplets", it.Epoch, k, it.Parts[k])
					}
				}
				return nil
			}
			if _, err := tr.Train(context.Background(), 1, 3); err != nil {
				t.Fatal(err)
			}
			if !sameWeights(g0, weights(ms.generator)) {
				t.Error("the generator changed without triplets")
			}
		})
	}
}

// TestDeepAdversarialRunawaySettings: TestRunawaySettings's classes for
// DAML — extreme batch sizes, epoch counts and phase lengths are refused
// naming the value, or train exactly what they ask.
func TestDeepAdversarialRunawaySettings(t *testing.T) {
	ds := blobs(t, 1, 48, 6, 4, 0.1)
	type D = trainers.DeepAdversarialMetricLearning
	cases := []struct {
		name       string
		set        func(*D)
		start, end int
		want       error
		text       string
		epochs     int
	}{
		{"BatchSize MaxInt", func(tr *D) { tr.BatchSize, tr.Sampler = math.MaxInt, nil }, 1, 1, gometric.ErrSetting, "9223372036854775807", 0},
		{"BatchSize 1e18, 1 triplet per anchor", func(tr *D) { tr.BatchSize, tr.Sampler, tr.GTripletsPerAnchor = 1e18, nil, 1 }, 1, 1, gometric.ErrSetting, "1000000000000000000", 0},
		{"epochs MaxInt of 3 iterations", func(tr *D) { tr.IterationsPerEpoch = 3 }, 1, math.MaxInt, gometric.ErrSetting, "9223372036854775807", 0},
		{"the last epoch is MaxInt", func(tr *D) { tr.IterationsPerEpoch = 1 }, math.MaxInt, math.MaxInt, nil, "", 1},
		{"phases of MaxInt epochs", func(tr *D) {
			tr.IterationsPerEpoch, tr.MetricAloneEpochs, tr.GAloneEpochs = 1, math.MaxInt, math.MaxInt
		}, math.MaxInt - 1, math.MaxInt, nil, "", 2},
		{"generator alone for MaxInt epochs", func(tr *D) { tr.IterationsPerEpoch, tr.GAloneEpochs = 1, math.MaxInt }, math.MaxInt - 1, math.MaxInt, nil, "", 2},
		{"start MinInt", func(*D) {}, math.MinInt, 1, gometric.ErrSetting, "-9223372036854775808", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, _ := damlTrainer(t, ds, 1, false, 0)
			tc.set(tr)
			infos, err := tr.Train(context.Background(), tc.start, tc.end)
			if tc.want == nil {
				if err != nil || len(infos) != tc.epochs {
					t.Fatalf("Train: %d epochs, %v; want %d epochs", len(infos), err, tc.epochs)
				}
				return
			}
			if !errors.Is(err, tc.want) || !containsAll(err.Error(), "trainers.DeepAdversarialMetricLearning", tc.text) {
				t.Fatalf("err = %v; want an error wrapping %v naming the trainer and %s", err, tc.want, tc.text)
			}
		})
	}
}
