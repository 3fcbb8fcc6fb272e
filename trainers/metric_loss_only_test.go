package trainers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
	"gonum.org/v1/gonum/mat"
)

// run trains tr for epochs 1..n and records every iteration's loss.
func run(t *testing.T, tr *trainers.MetricLossOnly, n int) ([]float64, []trainers.EpochInfo) {
	t.Helper()
	var ls []float64
	tr.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
		ls = append(ls, it.Loss)
		return nil
	}
	eps, err := tr.Train(context.Background(), 1, n)
	if err != nil {
		t.Fatal(err)
	}
	return ls, eps
}

func TestReproducibleBySeed(t *testing.T) {
	ds := blobs(t, 1, 96, 6, 4, 0.8)
	type outcome struct {
		losses  []float64
		weights [][]float32
	}
	do := func(seed uint64) outcome {
		tr := mlpTrainer(t, ds, 7) // same initial weights for every run
		tr.Seed = seed
		tr.Miner = miners.NewMultiSimilarity()
		ls, _ := run(t, tr, 2)
		return outcome{ls, weights(tr.Encoder)}
	}
	a, b, c := do(3), do(3), do(4)
	if len(a.losses) != 2*6 {
		t.Fatalf("%d iterations, want 12 (2 epochs of 96/16)", len(a.losses))
	}
	if !reflect.DeepEqual(a.losses, b.losses) {
		t.Errorf("same seed, different losses:\n%v\n%v", a.losses, b.losses)
	}
	if !sameWeights(a.weights, b.weights) {
		t.Error("same seed, different weights")
	}
	if reflect.DeepEqual(a.losses, c.losses) {
		t.Error("seeds 3 and 4 gave the same losses")
	}
	if sameWeights(a.weights, c.weights) {
		t.Error("seeds 3 and 4 gave the same weights")
	}
}

// A run resumed at epoch 2 draws the batches a continuous run draws.
func TestResumeMatchesContinuousRun(t *testing.T) {
	ds := blobs(t, 2, 64, 5, 4, 0.8)
	whole := mlpTrainer(t, ds, 1)
	wl, _ := run(t, whole, 2)

	split := mlpTrainer(t, ds, 1)
	var sl []float64
	split.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
		sl = append(sl, it.Loss)
		return nil
	}
	for ep := 1; ep <= 2; ep++ {
		if _, err := split.Train(context.Background(), ep, ep); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(wl, sl) {
		t.Errorf("continuous %v\nresumed    %v", wl, sl)
	}
	if !sameWeights(weights(whole.Encoder), weights(split.Encoder)) {
		t.Error("continuous and resumed runs end with different weights")
	}
}

func TestHooksStopTraining(t *testing.T) {
	ds := blobs(t, 3, 64, 5, 4, 0.8)
	tests := []struct {
		name      string
		iterStop  int // stop after this global iteration (-1: never)
		epochStop int // stop after this epoch (0: never)
		wantIters []int
	}{
		{"no stop", -1, 0, []int{4, 4, 4}},
		{"iteration hook in epoch 1", 2, 0, []int{3}},
		{"iteration hook in epoch 2", 5, 0, []int{4, 2}},
		{"epoch hook after epoch 2", -1, 2, []int{4, 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mlpTrainer(t, ds, 1)
			var epochHooks []int
			tr.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
				return stopIf(it.GlobalIteration == tc.iterStop)
			}
			tr.EndOfEpochHook = func(_ *trainers.MetricLossOnly, ep trainers.EpochInfo) error {
				epochHooks = append(epochHooks, ep.Epoch)
				return stopIf(ep.Epoch == tc.epochStop)
			}
			eps, err := tr.Train(context.Background(), 1, 3)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for i, e := range eps {
				got = append(got, e.Iterations)
				if e.Epoch != i+1 || e.IterationsPerEpoch != 4 {
					t.Errorf("epoch info %d: %+v", i, e)
				}
			}
			if !reflect.DeepEqual(got, tc.wantIters) {
				t.Errorf("iterations per epoch %v, want %v", got, tc.wantIters)
			}
			// The epoch hook runs after every complete epoch only.
			var complete []int
			for _, e := range eps {
				if e.Complete() {
					complete = append(complete, e.Epoch)
				}
			}
			if !reflect.DeepEqual(epochHooks, complete) {
				t.Errorf("epoch hook ran after %v, complete epochs %v", epochHooks, complete)
			}
		})
	}
}

// A hook's error other than ErrStopTraining fails the run, named; an error
// wrapping ErrStopTraining stops it cleanly.
func TestHookErrors(t *testing.T) {
	ds := blobs(t, 3, 64, 5, 4, 0.8)
	boom := errors.New("boom")
	tests := []struct {
		name      string
		iterErr   error // returned after global iteration 5
		epochErr  error // returned after epoch 1
		wantErr   error
		wantText  string
		wantIters []int
	}{
		{"iteration hook fails", boom, nil, boom, "trainers.MetricLossOnly: epoch 2, iteration 1: end-of-iteration hook: boom", []int{4, 2}},
		{"epoch hook fails", nil, boom, boom, "trainers.MetricLossOnly: epoch 1: end-of-epoch hook: boom", []int{4}},
		{"wrapped stop", fmt.Errorf("enough: %w", trainers.ErrStopTraining), nil, nil, "", []int{4, 2}},
		{"wrapped stop after an epoch", nil, fmt.Errorf("enough: %w", trainers.ErrStopTraining), nil, "", []int{4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mlpTrainer(t, ds, 1)
			tr.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
				if it.GlobalIteration == 5 {
					return tc.iterErr
				}
				return nil
			}
			tr.EndOfEpochHook = func(_ *trainers.MetricLossOnly, ep trainers.EpochInfo) error {
				if ep.Epoch == 1 {
					return tc.epochErr
				}
				return nil
			}
			eps, err := tr.Train(context.Background(), 1, 3)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || err.Error() != tc.wantText) {
				t.Fatalf("err = %v, want %v (%q)", err, tc.wantErr, tc.wantText)
			}
			var got []int
			for _, e := range eps {
				got = append(got, e.Iterations)
			}
			if !reflect.DeepEqual(got, tc.wantIters) {
				t.Errorf("iterations per epoch %v, want %v", got, tc.wantIters)
			}
		})
	}
}

func TestCancellation(t *testing.T) {
	ds := blobs(t, 4, 64, 5, 4, 0.8)
	// Cancelled during iteration 5: training stops before iteration 6.
	tr := mlpTrainer(t, ds, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
		if it.GlobalIteration == 5 {
			cancel()
		}
		return nil
	}
	eps, err := tr.Train(ctx, 1, 3)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(eps) != 2 || eps[0].Iterations != 4 || eps[1].Iterations != 2 {
		t.Fatalf("epochs %+v, want 4 then 2 iterations", eps)
	}
	// A clean stop: the weights are those of a run stopped by a hook
	// after the same iteration.
	ref := mlpTrainer(t, ds, 1)
	ref.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
		return stopIf(it.GlobalIteration == 5)
	}
	if _, err := ref.Train(context.Background(), 1, 3); err != nil {
		t.Fatal(err)
	}
	if !sameWeights(weights(tr.Encoder), weights(ref.Encoder)) {
		t.Error("the cancelled run's weights differ from a run stopped after the same iteration")
	}
	// An already-cancelled context trains nothing.
	tr2 := mlpTrainer(t, ds, 1)
	before := weights(tr2.Encoder)
	eps, err = tr2.Train(ctx, 1, 1)
	if !errors.Is(err, context.Canceled) || len(eps) != 1 || eps[0].Iterations != 0 {
		t.Errorf("cancelled context: %+v, %v", eps, err)
	}
	if !sameWeights(before, weights(tr2.Encoder)) {
		t.Error("a cancelled context changed the weights")
	}
}

func TestMinerCounts(t *testing.T) {
	ds := blobs(t, 5, 64, 5, 4, 1.5)
	for _, m := range []miners.Miner{miners.NewMultiSimilarity(), miners.NewTripletMargin(), miners.NewBatchHard()} {
		t.Run(reflect.TypeOf(m).Elem().Name(), func(t *testing.T) {
			tr := mlpTrainer(t, ds, 1)
			rm := &recordingMiner{m: m}
			rl := &recordingLoss{l: tr.Loss}
			tr.Miner, tr.Loss = rm, rl
			var seen []miners.Counts
			tr.EndOfIterationHook = func(_ *trainers.MetricLossOnly, it trainers.IterationInfo) error {
				seen = append(seen, it.Mined)
				return nil
			}
			eps, err := tr.Train(context.Background(), 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(seen, rm.counts) {
				t.Errorf("reported counts %v, mined %v", seen, rm.counts)
			}
			// The loss got exactly the miner's tuples.
			for i := range rm.out {
				if rl.tuples[i] != rm.out[i] {
					t.Errorf("iteration %d: the loss got other tuples than the miner's", i)
				}
			}
			var total float64
			for _, c := range seen[:4] {
				total += float64(c.PosPairs + c.NegPairs + c.Triplets)
			}
			if total == 0 {
				t.Error("the miner found nothing at all")
			}
			e := eps[0]
			var pos, neg, tri float64
			for _, c := range seen[:4] {
				pos += float64(c.PosPairs) / 4
				neg += float64(c.NegPairs) / 4
				tri += float64(c.Triplets) / 4
			}
			if e.MeanPosPairs != pos || e.MeanNegPairs != neg || e.MeanTriplets != tri {
				t.Errorf("epoch means %v %v %v, want %v %v %v", e.MeanPosPairs, e.MeanNegPairs, e.MeanTriplets, pos, neg, tri)
			}
		})
	}
}

// The loader drops the last incomplete batch and restarts the sampler, as
// PML's DataLoader(drop_last=True) and try_next_on_generator do.
func TestBatchesAndPasses(t *testing.T) {
	ds := blobs(t, 6, 70, 5, 5, 0.8) // 14 per class
	tests := []struct {
		name     string
		set      func(tr *trainers.MetricLossOnly)
		wantIPE  int
		wantSize int
	}{
		{"no sampler: shuffled, last batch dropped", func(tr *trainers.MetricLossOnly) { tr.Sampler = nil; tr.BatchSize = 16 }, 4, 16},
		{"MPerClass", func(tr *trainers.MetricLossOnly) {
			tr.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 4, BatchSize: 20, LengthBeforeNewIter: 70}
			tr.BatchSize = 20
		}, 3, 20},
		{"MPerClass, explicit iterations beyond a pass", func(tr *trainers.MetricLossOnly) {
			tr.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 4, BatchSize: 20, LengthBeforeNewIter: 70}
			tr.BatchSize = 20
			tr.IterationsPerEpoch = 7
		}, 7, 20},
		{"batch sampler", func(tr *trainers.MetricLossOnly) {
			super := make([]int, len(ds.Labels()))
			for i, l := range ds.Labels() {
				super[i] = l % 2
			}
			tr.Sampler = nil
			tr.BatchSampler = samplers.NewHierarchical(ds.Labels(), super, 8, 2)
			tr.BatchSize = 0
		}, 4, 8},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mlpTrainer(t, ds, 1)
			tc.set(tr)
			rl := &recordingLoss{l: tr.Loss}
			tr.Loss = rl
			eps, err := tr.Train(context.Background(), 1, 2)
			if err != nil {
				t.Fatal(err)
			}
			if eps[0].IterationsPerEpoch != tc.wantIPE || eps[1].Iterations != tc.wantIPE {
				t.Errorf("epochs %+v, want %d iterations each", eps, tc.wantIPE)
			}
			for i, l := range rl.labels {
				if len(l) != tc.wantSize {
					t.Errorf("batch %d has %d samples, want %d", i, len(l), tc.wantSize)
				}
			}
			if tr.Sampler != nil {
				// Every batch of an MPerClass pass: BatchSize/M classes × M.
				for i, l := range rl.labels {
					count := map[int]int{}
					for _, c := range l {
						count[c]++
					}
					for c, k := range count {
						if k != 4 {
							t.Errorf("batch %d: class %d appears %d times, want 4", i, c, k)
						}
					}
				}
			}
		})
	}
}

// A loss without learnable parameters needs no LossOptimizer; training
// with it improves retrieval on the training blobs.
func TestLossWithoutParams(t *testing.T) {
	ds := blobs(t, 7, 96, 6, 4, 1.5)
	for _, l := range []losses.Loss{losses.NewContrastive(), losses.NewMultiSimilarity(), losses.NewNTXent(), losses.NewTripletMargin()} {
		t.Run(reflect.TypeOf(l).Elem().Name(), func(t *testing.T) {
			tr := mlpTrainer(t, ds, 2)
			tr.Loss = l
			before := mapAtR(t, tr.Encoder, ds)
			if _, err := tr.Train(context.Background(), 1, 20); err != nil {
				t.Fatal(err)
			}
			after := mapAtR(t, tr.Encoder, ds)
			t.Logf("MAP@R %.4f -> %.4f", before, after)
			if after < before+0.05 {
				t.Errorf("MAP@R went from %.4f to %.4f", before, after)
			}
		})
	}
}

// mapAtR is MAP@R of the dataset against itself in the encoder's space.
func mapAtR(t *testing.T, enc models.Encoder, ds *datasets.Features) float64 {
	t.Helper()
	y, err := enc.Embed(gometric.Matrix{Rows: ds.Len(), Cols: ds.Dim(), Data: ds.Data()})
	if err != nil {
		t.Fatal(err)
	}
	c := &accuracy.Calculator{K: accuracy.KMaxBinCount(), Include: []string{accuracy.NameMeanAveragePrecisionAtR}}
	r, err := c.SelfAccuracy(y, ds.Labels())
	if err != nil {
		t.Fatal(err)
	}
	return r[accuracy.NameMeanAveragePrecisionAtR].Scalar
}

// A learnable loss's parameters are updated by LossOptimizer with the
// gradient the loss returned.
func TestLearnableLoss(t *testing.T) {
	ds := blobs(t, 8, 64, 5, 4, 0.8)
	tr := mlpTrainer(t, ds, 1)
	l := &centreLoss{c: mat.NewDense(1, 8, nil)}
	tr.Loss = l
	_, err := tr.Train(context.Background(), 1, 1)
	if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "LossOptimizer") {
		t.Fatalf("no LossOptimizer: err = %v", err)
	}
	opt, err := models.NewOptimizer("sgd", 0.1)
	if err != nil {
		t.Fatal(err)
	}
	tr.LossOptimizer = opt
	tr.IterationsPerEpoch = 1
	rl := &recordingLoss{l: l}
	tr.Loss = learnableRecorder{rl, l}
	if _, err := tr.Train(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	// One SGD step from C = 0: C ← −0.1·dL/dC = 0.1·2·mean(E).
	e := rl.emb[0]
	n, d := e.Dims()
	for j := 0; j < d; j++ {
		var m float64
		for i := 0; i < n; i++ {
			m += e.At(i, j)
		}
		want := 0.1 * 2 * m / float64(n)
		if got := l.c.At(0, j); math.Abs(got-want) > 1e-6 {
			t.Errorf("C[%d] = %v, want %v", j, got, want)
		}
	}
}

// learnableRecorder is a recordingLoss that keeps the Learnable interface.
type learnableRecorder struct {
	*recordingLoss
	l *centreLoss
}

func (r learnableRecorder) Params() []*losses.Param { return r.l.Params() }

func TestSettingsErrors(t *testing.T) {
	ds := blobs(t, 9, 32, 5, 4, 0.8)
	other := blobs(t, 9, 32, 3, 4, 0.8)
	tests := []struct {
		name string
		set  func(tr *trainers.MetricLossOnly)
		want error
	}{
		{"nil encoder", func(tr *trainers.MetricLossOnly) { tr.Encoder = nil }, gometric.ErrSetting},
		{"nil loss", func(tr *trainers.MetricLossOnly) { tr.Loss = nil }, gometric.ErrSetting},
		{"nil dataset", func(tr *trainers.MetricLossOnly) { tr.Dataset = nil }, gometric.ErrSetting},
		{"nil optimizer", func(tr *trainers.MetricLossOnly) { tr.Optimizer = nil }, gometric.ErrSetting},
		{"batch size 0", func(tr *trainers.MetricLossOnly) { tr.BatchSize = 0 }, gometric.ErrSetting},
		{"negative iterations", func(tr *trainers.MetricLossOnly) { tr.IterationsPerEpoch = -1 }, gometric.ErrSetting},
		{"both samplers", func(tr *trainers.MetricLossOnly) {
			tr.BatchSampler = samplers.NewHierarchical(ds.Labels(), ds.Labels(), 8, 2)
		}, gometric.ErrSetting},
		{"sample shape", func(tr *trainers.MetricLossOnly) { tr.Dataset = other; tr.Sampler = nil }, gometric.ErrShape},
		{"batch larger than a pass", func(tr *trainers.MetricLossOnly) { tr.Sampler = nil; tr.BatchSize = 33 }, gometric.ErrSetting},
		{"invalid sampler", func(tr *trainers.MetricLossOnly) {
			tr.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 0, BatchSize: 16, LengthBeforeNewIter: 32}
		}, gometric.ErrSetting},
		{"loss error", func(tr *trainers.MetricLossOnly) { tr.Loss = losses.NewVICReg() }, gometric.ErrLabels},
		{"sampler batch size", func(tr *trainers.MetricLossOnly) { tr.BatchSize = 8 }, gometric.ErrSetting},
		{"zero value", func(tr *trainers.MetricLossOnly) { *tr = trainers.MetricLossOnly{} }, gometric.ErrSetting},
		{"learnable loss without LossOptimizer", func(tr *trainers.MetricLossOnly) { tr.Loss = &centreLoss{c: mat.NewDense(1, 8, nil)} }, gometric.ErrSetting},
		{"DoNothing reducer", func(tr *trainers.MetricLossOnly) {
			l := losses.NewContrastive()
			l.Reducer = reducers.NewDoNothing()
			tr.Loss = l
		}, gometric.ErrSetting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := mlpTrainer(t, ds, 1)
			tc.set(tr)
			_, err := tr.Train(context.Background(), 1, 1)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "trainers.MetricLossOnly") {
				t.Errorf("error %q does not name the trainer", err)
			}
		})
	}
	var nilTrainer *trainers.MetricLossOnly
	if _, err := nilTrainer.Train(context.Background(), 1, 1); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "nil receiver") {
		t.Errorf("nil receiver: %v", err)
	}
	if _, err := (&trainers.MetricLossOnly{}).Train(context.Background(), 1, 1); err == nil || !strings.Contains(err.Error(), "use NewMetricLossOnly(") {
		t.Errorf("zero value: %v", err)
	}
	tr := mlpTrainer(t, ds, 1)
	tr.BatchSize = 8
	if _, err := tr.Train(context.Background(), 1, 1); err == nil || !strings.Contains(err.Error(), "BatchSize = 8 but the MPerClass sampler's BatchSize = 16") {
		t.Errorf("batch sizes: %v", err)
	}
	tr = mlpTrainer(t, ds, 1)
	if _, err := tr.Train(context.Background(), 0, 1); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("start epoch 0: err = %v", err)
	}
	if eps, err := tr.Train(context.Background(), 3, 2); err != nil || len(eps) != 0 {
		t.Errorf("numEpochs < startEpoch: %v, %v; want nothing trained", eps, err)
	}
}

func TestProgressBar(t *testing.T) {
	ds := blobs(t, 10, 64, 5, 4, 0.8)
	tr := mlpTrainer(t, ds, 1)
	tr.Miner = miners.NewMultiSimilarity()
	var buf bytes.Buffer
	tr.Progress = &buf
	if _, err := tr.Train(context.Background(), 1, 1); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"epoch 1 loss=", "pos=", "neg=", "4/4", "it/s"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress output lacks %q:\n%s", want, out)
		}
	}
}

var _ datasets.Dataset = (*datasets.Features)(nil)
