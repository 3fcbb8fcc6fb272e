package trainers_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// cascadedTrainer is a CascadedEmbeddings on ds with an MLP trunk of 8
// outputs cut into blocks of 4 and 4, TripletMargin(0.1) on each, Adam
// and an MPerClass sampler (m 4, batch 16).
func cascadedTrainer(t testing.TB, ds *datasets.Features, seed uint64) *trainers.CascadedEmbeddings {
	t.Helper()
	m := mlpTrainer(t, ds, seed)
	l1 := losses.NewTripletMargin()
	l1.Margin = 0.1
	tr := trainers.NewCascadedEmbeddings([]int{4, 4}, m.Encoder, m.Optimizer, m.BatchSize, []losses.Loss{m.Loss, l1}, ds)
	tr.Sampler, tr.Seed = m.Sampler, m.Seed
	return tr
}

// linear is an nn.Linear(in, out) with its own Adam.
func linear(t testing.TB, in, out int, seed uint64) (*models.MLP, *models.Optimizer) {
	t.Helper()
	c, err := models.NewMLP(models.MLPConfig{Sizes: []int{in, out}, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	opt, err := models.NewOptimizer("adam", 1e-2)
	if err != nil {
		t.Fatal(err)
	}
	return c, opt
}

// TestCascadedEmbeddingsRefused is the table of settings Train refuses.
func TestCascadedEmbeddingsRefused(t *testing.T) {
	ds := blobs(t, 1, 64, 6, 4, 0.3)
	ctx := context.Background()
	withClassifier := func(t testing.TB, tr *trainers.CascadedEmbeddings, outs int) *models.MLP {
		c, opt := linear(t, 4, outs, 7)
		tr.Classifiers = []models.InputGradStepper{nil, c}
		tr.ClassifierOptimizers = []*models.Optimizer{nil, opt}
		return c
	}
	cases := []struct {
		name string
		set  func(tr *trainers.CascadedEmbeddings)
		want error
		says string
	}{
		{"sizes sum", func(tr *trainers.CascadedEmbeddings) { tr.EmbeddingSizes = []int{4, 3} }, gometric.ErrShape, "sum to 7"},
		{"sizes beyond", func(tr *trainers.CascadedEmbeddings) { tr.EmbeddingSizes = []int{4, 5} }, gometric.ErrShape, "EmbeddingSizes[1] = 5"},
		{"sizes empty", func(tr *trainers.CascadedEmbeddings) { tr.EmbeddingSizes = nil }, gometric.ErrSetting, "EmbeddingSizes is empty"},
		{"size 0", func(tr *trainers.CascadedEmbeddings) { tr.EmbeddingSizes = []int{0, 8} }, gometric.ErrShape, "EmbeddingSizes[0] = 0"},
		{"size negative", func(tr *trainers.CascadedEmbeddings) { tr.EmbeddingSizes = []int{-4, 12} }, gometric.ErrShape, "EmbeddingSizes[0] = -4"},
		{"size MaxInt", func(tr *trainers.CascadedEmbeddings) { tr.EmbeddingSizes = []int{math.MaxInt, math.MinInt} }, gometric.ErrShape, "EmbeddingSizes[0]"},
		{"too many sizes", func(tr *trainers.CascadedEmbeddings) { tr.EmbeddingSizes = make([]int, 1<<20) }, gometric.ErrShape, "1048576 EmbeddingSizes"},
		{"too many losses", func(tr *trainers.CascadedEmbeddings) { tr.Losses = append(tr.Losses, tr.Losses[0]) }, gometric.ErrSetting, "Losses has 3 entries"},
		{"too many miners", func(tr *trainers.CascadedEmbeddings) { tr.Miners = make([]miners.Miner, 3) }, gometric.ErrSetting, "Miners has 3"},
		{"no loss", func(tr *trainers.CascadedEmbeddings) { tr.Losses = []losses.Loss{nil, nil} }, gometric.ErrSetting, "no block has a loss"},
		{"typed nil loss", func(tr *trainers.CascadedEmbeddings) { tr.Losses[1] = (*losses.TripletMargin)(nil) }, gometric.ErrSetting, "Losses[1] is a nil"},
		{"typed nil miner", func(tr *trainers.CascadedEmbeddings) {
			tr.Miners = []miners.Miner{(*miners.MultiSimilarity)(nil)}
		}, gometric.ErrSetting, "Miners[0] is a nil"},
		{"nil encoder", func(tr *trainers.CascadedEmbeddings) { tr.Encoder = nil }, gometric.ErrSetting, "Encoder is nil"},
		{"nil optimizer", func(tr *trainers.CascadedEmbeddings) { tr.Optimizer = nil }, gometric.ErrSetting, "Optimizer is nil"},
		{"nil data set", func(tr *trainers.CascadedEmbeddings) { tr.Dataset = nil }, gometric.ErrSetting, "Dataset is nil"},
		{"classifier input", func(tr *trainers.CascadedEmbeddings) {
			c, opt := linear(t, 8, 4, 1)
			tr.Classifiers, tr.ClassifierOptimizers = []models.InputGradStepper{c}, []*models.Optimizer{opt}
		}, gometric.ErrShape, "Classifiers[0] takes [8] but block 0 has 4 columns"},
		{"classifier no optimizer", func(tr *trainers.CascadedEmbeddings) {
			withClassifier(t, tr, 4)
			tr.ClassifierOptimizers = nil
		}, gometric.ErrSetting, "ClassifierOptimizers[1] is nil"},
		{"classifier shared optimizer", func(tr *trainers.CascadedEmbeddings) {
			withClassifier(t, tr, 4)
			tr.ClassifierOptimizers[1] = tr.Optimizer
		}, gometric.ErrSetting, "of its own"},
		{"classifier is trunk", func(tr *trainers.CascadedEmbeddings) {
			withClassifier(t, tr, 4)
			tr.Classifiers[1] = tr.Encoder.(*models.MLP)
		}, gometric.ErrSetting, "trunk"},
		{"classifier twice", func(tr *trainers.CascadedEmbeddings) {
			c := withClassifier(t, tr, 4)
			_, opt := linear(t, 4, 4, 2)
			tr.Classifiers[0], tr.ClassifierOptimizers[0] = c, opt
		}, gometric.ErrSetting, "Classifiers[1] is Classifiers[0]"},
		{"classifier optimizer without classifier", func(tr *trainers.CascadedEmbeddings) {
			_, opt := linear(t, 4, 4, 2)
			tr.ClassifierOptimizers = []*models.Optimizer{opt}
		}, gometric.ErrSetting, "Classifiers[0] is nil"},
		{"classifier loss without classifier", func(tr *trainers.CascadedEmbeddings) {
			tr.ClassifierLosses = []*losses.CrossEntropy{nil, losses.NewCrossEntropy()}
		}, gometric.ErrSetting, "Classifiers[1] is nil"},
		{"classifier too few outputs", func(tr *trainers.CascadedEmbeddings) { withClassifier(t, tr, 3) }, gometric.ErrLabels, "3 outputs"},
		{"classifier too few outputs relabelled", func(tr *trainers.CascadedEmbeddings) {
			withClassifier(t, tr, 2)
			tr.SetMinLabelToZero = true
		}, gometric.ErrLabels, "4 classes"},
		{"unknown weight", func(tr *trainers.CascadedEmbeddings) {
			tr.LossWeights = map[string]float64{"metric_loss": 1, "metric_loss_0": 1, "metric_loss_1": 1}
		}, gometric.ErrSetting, `"metric_loss"`},
		{"weight of absent classifier", func(tr *trainers.CascadedEmbeddings) {
			tr.LossWeights = map[string]float64{"classifier_loss_0": 1, "metric_loss_0": 1, "metric_loss_1": 1}
		}, gometric.ErrSetting, `"classifier_loss_0"`},
		{"missing weight", func(tr *trainers.CascadedEmbeddings) { tr.LossWeights = map[string]float64{"metric_loss_0": 1} }, gometric.ErrSetting, `lacks "metric_loss_1"`},
		{"NaN weight", func(tr *trainers.CascadedEmbeddings) {
			tr.LossWeights = map[string]float64{"metric_loss_0": math.NaN(), "metric_loss_1": 1}
		}, gometric.ErrSetting, "NaN"},
		{"Inf weight", func(tr *trainers.CascadedEmbeddings) {
			tr.LossWeights = map[string]float64{"metric_loss_0": 1, "metric_loss_1": math.Inf(1)}
		}, gometric.ErrSetting, "+Inf"},
		{"unknown freeze", func(tr *trainers.CascadedEmbeddings) { tr.FreezeThese = []string{"classifier_0"} }, gometric.ErrSetting, `"classifier_0"`},
		{"too many freeze", func(tr *trainers.CascadedEmbeddings) { tr.FreezeThese = make([]string, 1000) }, gometric.ErrSetting, "1000 names"},
		{"learnable without optimizer", func(tr *trainers.CascadedEmbeddings) {
			tr.Losses[1] = &centreLoss{c: mat.NewDense(1, 4, nil)}
		}, gometric.ErrSetting, "LossOptimizers[1] is nil"},
		{"learnable shared", func(tr *trainers.CascadedEmbeddings) {
			l := &centreLoss{c: mat.NewDense(1, 4, nil)}
			_, o0 := linear(t, 1, 1, 1)
			_, o1 := linear(t, 1, 1, 1)
			tr.Losses, tr.LossOptimizers = []losses.Loss{l, l}, []*models.Optimizer{o0, o1}
		}, gometric.ErrSetting, "Losses[1] is Losses[0]"},
		{"learnable empty parameter", func(tr *trainers.CascadedEmbeddings) {
			tr.Losses[0] = &centreLoss{c: &mat.Dense{}}
		}, gometric.ErrShape, "parameter 0"},
		{"loss optimizer without loss", func(tr *trainers.CascadedEmbeddings) {
			_, o := linear(t, 1, 1, 1)
			tr.Losses[1], tr.LossOptimizers = nil, []*models.Optimizer{nil, o}
		}, gometric.ErrSetting, "LossOptimizers[1] is set but block 1 has no loss"},
		{"loss optimizer is trunk's", func(tr *trainers.CascadedEmbeddings) {
			tr.Losses[1] = &centreLoss{c: mat.NewDense(1, 4, nil)}
			tr.LossOptimizers = []*models.Optimizer{nil, tr.Optimizer}
		}, gometric.ErrSetting, "LossOptimizers[1] is the trunk's Optimizer"},
		{"level 1 without levels", func(tr *trainers.CascadedEmbeddings) { tr.LabelHierarchyLevel = 1 }, gometric.ErrSetting, "LabelHierarchyLevel = 1"},
		{"level negative", func(tr *trainers.CascadedEmbeddings) { tr.LabelHierarchyLevel = math.MinInt }, gometric.ErrSetting, "LabelHierarchyLevel = -9223372036854775808"},
		{"batch size 0", func(tr *trainers.CascadedEmbeddings) { tr.BatchSize = 0; tr.Sampler = nil }, gometric.ErrSetting, "BatchSize = 0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := cascadedTrainer(t, ds, 1)
			tc.set(tr)
			_, err := tr.Train(ctx, 1, 1)
			if !errors.Is(err, tc.want) || !containsAll(err.Error(), "trainers.CascadedEmbeddings: ", tc.says) {
				t.Fatalf("err = %v, want %v naming the trainer and %q", err, tc.want, tc.says)
			}
		})
	}
	var nilT *trainers.CascadedEmbeddings
	if _, err := nilT.Train(ctx, 1, 1); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil receiver: %v", err)
	}
	if nilT.LabelMapping() != nil {
		t.Error("nil receiver: LabelMapping not nil")
	}
	if _, err := new(trainers.CascadedEmbeddings).Train(ctx, 1, 1); !errors.Is(err, gometric.ErrSetting) || !containsAll(err.Error(), "NewCascadedEmbeddings") {
		t.Errorf("zero value: %v, want an ErrSetting naming NewCascadedEmbeddings", err)
	}
	tr := cascadedTrainer(t, ds, 1)
	var nilCtx context.Context
	if _, err := tr.Train(nilCtx, 1, 1); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil context: %v", err)
	}
}

// gradSpy is an embedder that records the embeddings it produced and the
// gradient the trainer returned for them.
type gradSpy struct {
	*models.MLP
	emb, grad []gometric.Matrix
	loss      []float32
}

func (s *gradSpy) TrainStepInput(x gometric.Matrix, loss models.LossFunc) (float32, gometric.Matrix, error) {
	return s.MLP.TrainStepInput(x, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
		l, g, err := loss(e)
		if err == nil {
			s.emb = append(s.emb, gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: slices.Clone(e.Data)})
			s.grad = append(s.grad, gometric.Matrix{Rows: g.Rows, Cols: g.Cols, Data: slices.Clone(g.Data)})
			s.loss = append(s.loss, l)
		}
		return l, g, err
	})
}

// columns returns columns [s, s+k) of m.
func columns(m gometric.Matrix, s, k int) gometric.Matrix {
	out := gometric.Matrix{Rows: m.Rows, Cols: k, Data: make([]float32, m.Rows*k)}
	for r := range m.Rows {
		copy(out.Data[r*k:(r+1)*k], m.Data[r*m.Cols+s:r*m.Cols+s+k])
	}
	return out
}

// TestCascadedEmbeddingsGradient: the gradient sent back through the
// embedder is, block by block, the weighted gradient each loss's own
// Objective gives on the block's columns, plus the block's classifier's
// input gradient; the loss and Parts are the weighted total and the
// unweighted losses.
func TestCascadedEmbeddingsGradient(t *testing.T) {
	ds := blobs(t, 3, 64, 6, 4, 0.5)
	tr := cascadedTrainer(t, ds, 2)
	emb, err := models.NewMLP(models.MLPConfig{Sizes: []int{8, 7}, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	spy := &gradSpy{MLP: emb}
	tr.Embedder = spy
	tr.EmbeddingSizes = []int{3, 4}
	l0 := losses.NewContrastive()
	l1 := losses.NewTripletMargin()
	l1.Margin = 0.3
	tr.Losses = []losses.Loss{l0, l1}
	tr.Miners = []miners.Miner{nil, miners.NewMultiSimilarity()}
	cl, _ := linear(t, 4, 4, 5)
	tr.Classifiers = []models.InputGradStepper{nil, cl}
	// Frozen roles keep the weights, so the expected values can be
	// recomputed after the step.
	tr.FreezeThese = []string{"trunk", "embedder", "classifier_1"}
	tr.Optimizer = nil
	tr.LossWeights = map[string]float64{"metric_loss_0": 0.5, "metric_loss_1": 2, "classifier_loss_1": 1.5}
	tr.IterationsPerEpoch = 2
	var its []trainers.IterationInfo
	var labels [][]int
	rec := &recordingLoss{l: l0}
	tr.Losses[0] = rec
	tr.EndOfIterationHook = func(_ *trainers.CascadedEmbeddings, it trainers.IterationInfo) error {
		its = append(its, it)
		return nil
	}
	if _, err := tr.Train(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	labels = rec.labels
	if len(spy.grad) != 2 || len(its) != 2 || len(labels) != 2 {
		t.Fatalf("%d gradients, %d iterations, %d loss calls", len(spy.grad), len(its), len(labels))
	}
	for k := range spy.grad {
		e, got := spy.emb[k], spy.grad[k]
		want := make([]float32, len(got.Data))
		var total float64
		parts := map[string]float64{}
		for b, blk := range []struct {
			s, size int
			loss    losses.Loss
			miner   miners.Miner
			w       float64
		}{{0, 3, l0, nil, 0.5}, {3, 4, l1, miners.NewMultiSimilarity(), 2}} {
			obj := losses.Objective{Loss: blk.loss, Miner: blk.miner}
			l, g, err := obj.Compute(columns(e, blk.s, blk.size), labels[k])
			if err != nil {
				t.Fatal(err)
			}
			res, _ := obj.Last()
			parts[[]string{"metric_loss_0", "metric_loss_1"}[b]] = res.Loss
			total += blk.w * res.Loss
			_ = l
			for r := range e.Rows {
				for c := range blk.size {
					want[r*e.Cols+blk.s+c] += float32(blk.w * float64(g.Data[r*blk.size+c]))
				}
			}
		}
		// The classifier's input gradient with a 1.5-weighted
		// cross-entropy.
		ce := losses.NewCrossEntropy()
		var ceValue float64
		_, dx, err := cl.TrainStepInput(columns(e, 3, 4), func(logits gometric.Matrix) (float32, gometric.Matrix, error) {
			lg := mat.NewDense(logits.Rows, logits.Cols, nil)
			for i, v := range logits.Data {
				lg.RawMatrix().Data[i] = float64(v)
			}
			d := mat.NewDense(logits.Rows, logits.Cols, nil)
			v, err := ce.Compute(lg, labels[k], d)
			ceValue = v
			out := make([]float32, len(logits.Data))
			for i, g := range d.RawMatrix().Data {
				out[i] = float32(1.5 * g)
			}
			return float32(1.5 * v), gometric.Matrix{Rows: logits.Rows, Cols: logits.Cols, Data: out}, err
		})
		cl.ZeroGrad()
		if err != nil {
			t.Fatal(err)
		}
		parts["classifier_loss_1"] = ceValue
		total += 1.5 * ceValue
		for r := range e.Rows {
			for c := range 4 {
				want[r*e.Cols+3+c] += dx.Data[r*4+c]
			}
		}
		for i := range want {
			if d := math.Abs(float64(want[i] - got.Data[i])); d > 1e-6 {
				t.Fatalf("iteration %d: gradient value %d (row %d, column %d) = %v, want %v", k, i, i/e.Cols, i%e.Cols, got.Data[i], want[i])
			}
		}
		if d := math.Abs(its[k].Loss - total); d > 1e-9*math.Max(1, total) {
			t.Errorf("iteration %d: loss %v, want %v", k, its[k].Loss, total)
		}
		for n, v := range parts {
			if d := math.Abs(its[k].Parts[n] - v); d > 1e-9 {
				t.Errorf("iteration %d: part %s = %v, want %v", k, n, its[k].Parts[n], v)
			}
		}
		if len(its[k].Parts) != 3 {
			t.Errorf("iteration %d: parts %v, want the 3 loss names", k, its[k].Parts)
		}
		if its[k].Mined.PosPairs == 0 {
			t.Errorf("iteration %d: no mined pairs counted: %+v", k, its[k].Mined)
		}
	}
}

// TestCascadedEmbeddingsRoles: the blocks' classifiers and learnable
// losses train with their own optimizers unless frozen; a weight of 0
// leaves a loss out but its block's miner still mines; an HDC miner
// filters the previous block's tuples.
func TestCascadedEmbeddingsRoles(t *testing.T) {
	ds := blobs(t, 2, 96, 6, 4, 0.3)
	ctx := context.Background()
	t.Run("classifiers and learnable losses train", func(t *testing.T) {
		tr := cascadedTrainer(t, ds, 3)
		c0, o0 := linear(t, 4, 4, 11)
		c1, o1 := linear(t, 4, 4, 12)
		tr.Classifiers = []models.InputGradStepper{c0, c1}
		tr.ClassifierOptimizers = []*models.Optimizer{o0, o1}
		centre := &centreLoss{c: mat.NewDense(1, 4, []float64{1, 1, 1, 1})}
		frozenCentre := &centreLoss{c: mat.NewDense(1, 4, []float64{1, 1, 1, 1})}
		lo, _ := models.NewOptimizer("sgd", 0.1)
		tr.Losses = []losses.Loss{centre, frozenCentre}
		tr.LossOptimizers = []*models.Optimizer{lo}
		tr.FreezeThese = []string{"classifier_1", "metric_loss_1"}
		tr.ClassifierOptimizers[1] = nil
		w0, cw0, cw1 := weights(tr.Encoder), weights(c0), weights(c1)
		var ce []float64
		tr.EndOfIterationHook = func(_ *trainers.CascadedEmbeddings, it trainers.IterationInfo) error {
			ce = append(ce, it.Parts["classifier_loss_0"])
			return nil
		}
		if _, err := tr.Train(ctx, 1, 6); err != nil {
			t.Fatal(err)
		}
		if !changed(w0, weights(tr.Encoder)) || !changed(cw0, weights(c0)) || changed(cw1, weights(c1)) {
			t.Error("the trunk or classifier_0 did not change, or the frozen classifier_1 did")
		}
		if centre.c.At(0, 0) == 1 || frozenCentre.c.At(0, 0) != 1 {
			t.Errorf("centres %v and %v: metric_loss_0 should move, the frozen metric_loss_1 not", mat.Formatted(centre.c), mat.Formatted(frozenCentre.c))
		}
		if n := len(ce); !(ce[n-1] < ce[0]) {
			t.Errorf("classifier_loss_0 %v then %v: the classifier did not learn", ce[0], ce[n-1])
		}
	})
	t.Run("weight 0 skips the loss, not the miner", func(t *testing.T) {
		tr := cascadedTrainer(t, ds, 4)
		rec0, rec1 := &recordingLoss{l: tr.Losses[0]}, &recordingLoss{l: tr.Losses[1]}
		m0 := &recordingMiner{m: miners.NewMultiSimilarity()}
		hdc := miners.NewHDC()
		tr.Losses = []losses.Loss{rec0, rec1}
		tr.Miners = []miners.Miner{m0, hdc}
		tr.LossWeights = map[string]float64{"metric_loss_0": 0, "metric_loss_1": 1}
		tr.IterationsPerEpoch = 3
		var its []trainers.IterationInfo
		tr.EndOfIterationHook = func(_ *trainers.CascadedEmbeddings, it trainers.IterationInfo) error {
			its = append(its, it)
			return nil
		}
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		if len(rec0.tuples) != 0 || len(rec1.tuples) != 3 || len(m0.out) != 3 {
			t.Fatalf("metric_loss_0 ran %d times, metric_loss_1 %d, tuple_miner_0 %d; want 0, 3, 3", len(rec0.tuples), len(rec1.tuples), len(m0.out))
		}
		for k, it := range its {
			if v, ok := it.Parts["metric_loss_0"]; !ok || v != 0 {
				t.Errorf("iteration %d: parts %v, want metric_loss_0 = 0", k, it.Parts)
			}
			// The HDC of block 1 filtered block 0's pairs: redo it.
			h := miners.NewHDC()
			if err := h.SetIndicesExternally(m0.out[k], rec1.labels[k]); err != nil {
				t.Fatal(err)
			}
			want, err := h.Mine(miners.Input{Embeddings: rec1.emb[k], Labels: rec1.labels[k]})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := rec1.tuples[k].(*tuples.Pairs)
			w := want.(*tuples.Pairs)
			if !ok || !slices.Equal(got.A1, w.A1) || !slices.Equal(got.P, w.P) || !slices.Equal(got.A2, w.A2) || !slices.Equal(got.N, w.N) {
				t.Errorf("iteration %d: block 1's tuples are not the HDC filtering of block 0's", k)
			}
			c0 := miners.CountOf(m0.out[k])
			if c1 := miners.CountOf(got); it.Mined.PosPairs != c0.PosPairs+c1.PosPairs || c1.PosPairs > c0.PosPairs || c1.NegPairs > c0.NegPairs {
				t.Errorf("iteration %d: mined %+v, block 0 %+v, block 1 %+v", k, it.Mined, c0, c1)
			}
		}
	})
	t.Run("HDC without a previous miner filters all pairs", func(t *testing.T) {
		tr := cascadedTrainer(t, ds, 5)
		rec1 := &recordingLoss{l: tr.Losses[1]}
		tr.Losses[1] = rec1
		tr.Miners = []miners.Miner{nil, miners.NewHDC()}
		tr.IterationsPerEpoch = 1
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatal(err)
		}
		want, err := miners.NewHDC().Mine(miners.Input{Embeddings: rec1.emb[0], Labels: rec1.labels[0]})
		if err != nil {
			t.Fatal(err)
		}
		if miners.CountOf(rec1.tuples[0]) != miners.CountOf(want) {
			t.Errorf("block 1 got %+v pairs, want %+v", miners.CountOf(rec1.tuples[0]), miners.CountOf(want))
		}
	})
}

// TestCascadedEmbeddingsBadInput: non-finite samples and extreme labels
// give an error naming the trainer, or train as small labels do; never a
// panic.
func TestCascadedEmbeddingsBadInput(t *testing.T) {
	ctx := context.Background()
	ds := blobs(t, 7, 64, 6, 4, 0.3)
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		for _, withClassifier := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v classifier %v", bad, withClassifier), func(t *testing.T) {
				values := slices.Clone(ds.Data())
				for i := range values {
					if i%7 == 0 {
						values[i] = bad
					}
				}
				tr := cascadedTrainer(t, ds, 1)
				tr.Dataset = &testkit.RawDataset{Dim: 6, Values: values, SampleLabels: ds.Labels()}
				if withClassifier {
					c, opt := linear(t, 4, 4, 3)
					tr.Losses = []losses.Loss{tr.Losses[0]}
					tr.Classifiers, tr.ClassifierOptimizers = []models.InputGradStepper{nil, c}, []*models.Optimizer{nil, opt}
				}
				_, err := tr.Train(ctx, 1, 1)
				if err == nil || !strings.HasPrefix(err.Error(), "trainers.CascadedEmbeddings: ") || !testkit.WrapsSentinel(err) {
					t.Fatalf("err = %v, want an error naming the trainer and wrapping a sentinel", err)
				}
			})
		}
	}
	t.Run("extreme labels", func(t *testing.T) {
		labels := testkit.Relabel(ds.Labels(), testkit.ExtremeLabels()[1:5])
		tr := cascadedTrainer(t, ds, 1)
		tr.Dataset = &testkit.RawDataset{Dim: 6, Values: ds.Data(), SampleLabels: labels}
		tr.Sampler = &samplers.MPerClass{Labels: labels, M: 4, BatchSize: 16, LengthBeforeNewIter: len(labels)}
		tr.Miners = []miners.Miner{miners.NewMultiSimilarity(), miners.NewHDC()}
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatalf("metric losses on extreme labels: %v", err)
		}
		c, opt := linear(t, 4, 4, 3)
		tr.Classifiers, tr.ClassifierOptimizers = []models.InputGradStepper{c}, []*models.Optimizer{opt}
		if _, err := tr.Train(ctx, 1, 1); !errors.Is(err, gometric.ErrLabels) || !containsAll(err.Error(), "-1000000000000000000") {
			t.Fatalf("a classifier on extreme labels: %v, want ErrLabels naming the label", err)
		}
		tr.SetMinLabelToZero = true
		if _, err := tr.Train(ctx, 1, 1); err != nil {
			t.Fatalf("a classifier on extreme labels relabelled: %v", err)
		}
	})
}
