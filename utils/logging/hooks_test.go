package logging_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/logging"
)

func TestSettings(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	val := map[string]datasets.Dataset{"val": blobs(t, 2, 40, 8, 4)}
	tester := testers.NewGlobalEmbeddingSpace()
	ctx := context.Background()
	attach := func(set func(h *logging.HookContainer)) func() error {
		return func() error {
			h := logging.NewHookContainer(t.TempDir(), tester, val)
			set(h)
			return h.Attach(ctx, mlpTrainer(t, train))
		}
	}
	sched, _ := models.NewReduceLROnPlateau(mustAdam(t))
	testkit.RunErrorCases(t, []testkit.ErrorCase{
		{Name: "defaults", Call: attach(func(*logging.HookContainer) {})},
		{Name: "zero value", Call: func() error { return (&logging.HookContainer{}).Attach(ctx, mlpTrainer(t, train)) }, Want: gometric.ErrSetting, Ctor: "NewHookContainer"},
		{Name: "literal without dir", Call: func() error {
			return (&logging.HookContainer{Tester: tester, Datasets: val}).Attach(ctx, mlpTrainer(t, train))
		}, Want: gometric.ErrSetting, Ctor: "Dir"},
		{Name: "nil receiver", Call: func() error { var h *logging.HookContainer; return h.Attach(ctx, mlpTrainer(t, train)) }, Want: gometric.ErrSetting},
		{Name: "no dir", Call: attach(func(h *logging.HookContainer) { h.Dir = "" }), Want: gometric.ErrSetting, Ctor: "Dir"},
		{Name: "nil tester", Call: attach(func(h *logging.HookContainer) { h.Tester = nil }), Want: gometric.ErrSetting, Ctor: "Tester"},
		{Name: "typed nil tester", Call: attach(func(h *logging.HookContainer) { h.Tester = (*testers.GlobalEmbeddingSpace)(nil) }), Want: gometric.ErrSetting, Ctor: "Tester"},
		{Name: "no val split", Call: attach(func(h *logging.HookContainer) { h.ValidationSplit = "test" }), Want: gometric.ErrSetting, Ctor: `"test"`},
		{Name: "nil split", Call: attach(func(h *logging.HookContainer) { h.Datasets = map[string]datasets.Dataset{"val": nil} }), Want: gometric.ErrSetting, Ctor: `Datasets["val"]`},
		{Name: "splits without val", Call: attach(func(h *logging.HookContainer) { h.SplitsToEval = []testers.Eval{{Query: "x"}} }), Want: gometric.ErrSetting, Ctor: "SplitsToEval"},
		{Name: "interval", Call: attach(func(h *logging.HookContainer) { h.TestInterval = -1 }), Want: gometric.ErrSetting, Ctor: "TestInterval = -1"},
		{Name: "interval MinInt", Call: attach(func(h *logging.HookContainer) { h.TestInterval = math.MinInt }), Want: gometric.ErrSetting, Ctor: "TestInterval"},
		{Name: "patience", Call: attach(func(h *logging.HookContainer) { h.Patience = -3 }), Want: gometric.ErrSetting, Ctor: "Patience = -3"},
		{Name: "resume and overwrite", Call: attach(func(h *logging.HookContainer) { h.Resume, h.Overwrite = true, true }), Want: gometric.ErrSetting, Ctor: "Overwrite"},
		{Name: "repeated metric", Call: attach(func(h *logging.HookContainer) { h.Metrics = []string{"a", "a"} }), Want: gometric.ErrSetting, Ctor: "Metrics[1]"},
		{Name: "metric with comma", Call: attach(func(h *logging.HookContainer) { h.Metrics = []string{"a,b"} }), Want: gometric.ErrSetting, Ctor: "Metrics[0]"},
		{Name: "metric named as a column", Call: attach(func(h *logging.HookContainer) { h.Metrics = []string{"epoch"} }), Want: gometric.ErrSetting, Ctor: "Metrics[0]"},
		{Name: "metrics without primary", Call: attach(func(h *logging.HookContainer) { h.Metrics = []string{accuracy.NamePrecisionAt1} }), Want: gometric.ErrSetting, Ctor: "PrimaryMetric"},
		{Name: "too many metrics", Call: attach(func(h *logging.HookContainer) { h.Metrics = make([]string, 1000) }), Want: gometric.ErrSetting, Ctor: "at most"},
		{Name: "nil plateau", Call: attach(func(h *logging.HookContainer) { h.PlateauSchedulers = []*models.ReduceLROnPlateau{sched, nil} }), Want: gometric.ErrSetting, Ctor: "PlateauSchedulers[1]"},
		{Name: "bad extra role", Call: attach(func(h *logging.HookContainer) {
			h.Extra = []trainers.Component{{Role: "Bad Role", Kind: trainers.OptimizerComponent, Save: func(string) error { return nil }, Load: func(string) error { return nil }}}
		}), Want: gometric.ErrSetting, Ctor: "Bad Role"},
		{Name: "extra role taken", Call: attach(func(h *logging.HookContainer) {
			h.Extra = []trainers.Component{{Role: "trunk_optimizer", Kind: trainers.OptimizerComponent, Save: func(string) error { return nil }, Load: func(string) error { return nil }}}
		}), Want: gometric.ErrSetting, Ctor: "trunk_optimizer"},
		{Name: "extra without load", Call: attach(func(h *logging.HookContainer) {
			h.Extra = []trainers.Component{{Role: "x", Kind: trainers.OptimizerComponent, Save: func(string) error { return nil }}}
		}), Want: gometric.ErrSetting, Ctor: `"x"`},
		{Name: "extra without kind", Call: attach(func(h *logging.HookContainer) {
			h.Extra = []trainers.Component{{Role: "x", Save: func(string) error { return nil }, Load: func(string) error { return nil }}}
		}), Want: gometric.ErrSetting, Ctor: `"x"`},
		{Name: "extra model without model", Call: attach(func(h *logging.HookContainer) {
			h.Extra = []trainers.Component{{Role: "x", Kind: trainers.ModelComponent, Save: func(string) error { return nil }, Load: func(string) error { return nil }}}
		}), Want: gometric.ErrSetting, Ctor: `"x"`},
		{Name: "nil context", Call: func() error {
			//lint:ignore SA1012 a nil context is the case tested
			return logging.NewHookContainer(t.TempDir(), tester, val).Attach(nil, mlpTrainer(t, train)) //nolint:staticcheck
		}, Want: gometric.ErrSetting, Ctor: "context"},
		{Name: "nil trainer", Call: func() error {
			return logging.NewHookContainer(t.TempDir(), tester, val).Attach(ctx, (*trainers.MetricLossOnly)(nil))
		}, Want: gometric.ErrSetting, Ctor: "trainer"},
		{Name: "unknown trainer", Call: func() error {
			return logging.NewHookContainer(t.TempDir(), tester, val).Attach(ctx, otherTrainer{})
		}, Want: gometric.ErrUnsupported, Ctor: "otherTrainer"},
		{Name: "trainer without hooks", Call: func() error {
			return logging.NewHookContainer(t.TempDir(), tester, val).Attach(ctx, &bareTrainer{})
		}, Want: gometric.ErrUnsupported, Ctor: "EndOfIterationHook"},
		{Name: "trainer with hooks of another type", Call: func() error {
			return logging.NewHookContainer(t.TempDir(), tester, val).Attach(ctx, &wrongHooks{})
		}, Want: gometric.ErrUnsupported, Ctor: "EndOfEpochHook"},
		{Name: "no trunk", Call: func() error {
			tr := mlpTrainer(t, train)
			tr.Encoder = nil
			return logging.NewHookContainer(t.TempDir(), tester, val).Attach(ctx, tr)
		}, Want: gometric.ErrSetting, Ctor: "trunk"},
		{Name: "LoadLatest before Attach", Call: func() error {
			_, err := logging.NewHookContainer(t.TempDir(), tester, val).LoadLatest()
			return err
		}, Want: gometric.ErrSetting, Ctor: "Attach"},
		{Name: "hook before LoadLatest", Call: func() error {
			return logging.NewHookContainer(t.TempDir(), tester, val).EndOfEpochHook(trainers.EpochInfo{Epoch: 1})
		}, Want: gometric.ErrSetting, Ctor: "LoadLatest"},
		{Name: "epochs out of order", Call: func() error {
			h := logging.NewHookContainer(t.TempDir(), &scripted{values: []float64{1, 1}}, val)
			tr := mlpTrainer(t, train)
			if err := h.Attach(ctx, tr); err != nil {
				return err
			}
			if _, err := h.LoadLatest(); err != nil {
				return err
			}
			if _, err := tr.Train(ctx, 1, 1); err != nil {
				return err
			}
			_, err := tr.Train(ctx, 3, 3)
			return err
		}, Want: gometric.ErrSetting, Ctor: "epoch 3 after epoch 1"},
		{Name: "iteration hook before LoadLatest", Call: func() error {
			return logging.NewHookContainer(t.TempDir(), tester, val).EndOfIterationHook(trainers.IterationInfo{})
		}, Want: gometric.ErrSetting, Ctor: "LoadLatest"},
		{Name: "primary metric not computed", Call: func() error {
			h := logging.NewHookContainer(t.TempDir(), tester, val)
			h.PrimaryMetric = "nosuchmetric"
			_, err := h.Train(ctx, mlpTrainer(t, train), 1)
			return err
		}, Want: gometric.ErrSetting, Ctor: "nosuchmetric"},
		{Name: "dir is a file", Call: func() error {
			f := filepath.Join(t.TempDir(), "file")
			if err := os.WriteFile(f, nil, 0o644); err != nil {
				return err
			}
			_, err := logging.NewHookContainer(f, tester, val).Train(ctx, mlpTrainer(t, train), 1)
			if err == nil {
				return nil
			}
			return gometric.ErrSetting // any error will do: the point is no panic
		}, Want: gometric.ErrSetting},
	})
}

type otherTrainer struct{}

type bareTrainer struct{ otherTrainer }

type wrongHooks struct {
	otherTrainer
	EndOfIterationHook func(*wrongHooks, trainers.IterationInfo) error
	EndOfEpochHook     func(*trainers.Base, trainers.EpochInfo) error
}

func (otherTrainer) Train(context.Context, int, int) ([]trainers.EpochInfo, error) { return nil, nil }
func (otherTrainer) Components() []trainers.Component                              { return nil }

func mustAdam(t testing.TB) *models.Optimizer {
	t.Helper()
	opt, err := models.NewOptimizer("adam", 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	return opt
}

// Every method of a nil or zero HookContainer returns an error or its
// zero result, and does not panic.
func TestNilAndZero(t *testing.T) {
	testkit.CheckConcurrencyDocs(t, ".")
	for m, err := range testkit.NilReceiver(t, reflect.TypeFor[*logging.HookContainer](), "Best") {
		if !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("nil %s: %v", m, err)
		}
	}
	var h *logging.HookContainer
	if e, b := h.Best(); e != -1 || !math.IsInf(b, -1) {
		t.Errorf("nil Best() = %d, %v", e, b)
	}
	for m, err := range testkit.ZeroValue(t, reflect.TypeFor[*logging.HookContainer]()) {
		if !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("zero %s: %v", m, err)
		}
	}
	if (*logging.EarlierRunError)(nil).Error() == "" || (*logging.ComponentError)(nil).Error() == "" || (*logging.ComponentError)(nil).Unwrap() != nil {
		t.Error("nil errors")
	}
}

// run trains tr for epochs with a HookContainer on dir set by set.
func run(t *testing.T, dir string, tr *trainers.MetricLossOnly, tester logging.Tester, epochs int, set func(h *logging.HookContainer)) (*logging.HookContainer, []trainers.EpochInfo, error) {
	t.Helper()
	h := logging.NewHookContainer(dir, tester, map[string]datasets.Dataset{"val": blobs(t, 2, 40, 8, 4)})
	if set != nil {
		set(h)
	}
	eps, err := h.Train(context.Background(), tr, epochs)
	return h, eps, err
}

// The best checkpoint is replaced only by a strictly better epoch, the
// latest holds only the last epoch, and patience stops at PML's epoch.
func TestBestAndPatience(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	tests := []struct {
		name      string
		values    []float64
		patience  int
		interval  int
		epochs    int
		wantBest  int
		wantEpoch int // the last epoch trained
	}{
		{"rising", []float64{0.1, 0.2, 0.3}, 0, 1, 3, 3, 3},
		{"tie keeps the first", []float64{0.5, 0.5, 0.4}, 0, 1, 3, 1, 3},
		{"NaN is never best", []float64{math.NaN(), 0.2, math.NaN()}, 0, 1, 3, 2, 3},
		// best 1; epoch 3 − 1 = 2 > 1 stops after epoch 3.
		{"patience 1", []float64{0.5, 0.4, 0.4, 0.9, 0.9}, 1, 1, 5, 1, 3},
		// best 2; tests at 2, 4, 6 (and 7, the last): 6 − 2 = 4 > 3 stops.
		{"patience with interval", []float64{0.5, 0.4, 0.3, 0.9}, 3, 2, 7, 2, 6},
		// the last epoch is always tested.
		{"interval and the last", []float64{0.1, 0.2}, 0, 2, 3, 3, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var bestTrunk []byte
			tr := mlpTrainer(t, train)
			var log bytes.Buffer
			h, eps, err := run(t, dir, tr, &scripted{values: tc.values}, tc.epochs, func(h *logging.HookContainer) {
				h.Patience, h.TestInterval, h.Log = tc.patience, tc.interval, &log
				h.OnRecord = func(rec logging.EpochRecord) error {
					if e, _ := h.Best(); e == rec.Epoch {
						b, err := os.ReadFile(filepath.Join(dir, logging.EpochCheckpoint(rec.Epoch)+".gmw"))
						bestTrunk = b
						return err
					}
					return nil
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			if last := eps[len(eps)-1].Epoch; last != tc.wantEpoch {
				t.Errorf("trained through epoch %d, want %d\n%s", last, tc.wantEpoch, log.String())
			}
			if stopped := tc.wantEpoch < tc.epochs; h.Stopped() != stopped || stopped != strings.Contains(log.String(), "stopping early") {
				t.Errorf("Stopped() = %v, want %v\n%s", h.Stopped(), stopped, log.String())
			}
			if e, _ := h.Best(); e != tc.wantBest {
				t.Errorf("best epoch %d, want %d", e, tc.wantBest)
			}
			got, err := os.ReadFile(filepath.Join(dir, "checkpoint.gmw"))
			if err != nil || !bytes.Equal(got, bestTrunk) {
				t.Errorf("checkpoint.gmw is not the best epoch's trunk: %v", err)
			}
			// Every component of the best and of the last epoch, and
			// nothing of the earlier epochs.
			entries, _ := os.ReadDir(dir)
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			want := []string{"checkpoint-trunk_optimizer.gms", "checkpoint.gmw",
				logging.EpochCheckpoint(tc.wantEpoch) + "-trunk_optimizer.gms", logging.EpochCheckpoint(tc.wantEpoch) + ".gmw",
				logging.IterationsFile, logging.RecordFile, logging.PlotFile}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("files %q, want %q", names, want)
			}
			recs := h.Records()
			if len(recs) != tc.wantEpoch {
				t.Fatalf("%d records", len(recs))
			}
			for _, r := range recs {
				tested := r.Epoch%tc.interval == 0 || r.Epoch == tc.epochs
				if (r.Metrics != nil) != tested {
					t.Errorf("epoch %d tested %v, want %v", r.Epoch, r.Metrics != nil, tested)
				}
			}
		})
	}
}

// A Dir holding a trained run is refused without Resume or Overwrite,
// with no file changed; Overwrite starts again; Resume continues.
func TestRefusesAnEarlierRun(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	tester := testers.NewGlobalEmbeddingSpace()
	dir := t.TempDir()
	if _, _, err := run(t, dir, mlpTrainer(t, train), tester, 1, nil); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string][]byte {
		out := map[string][]byte{}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			out[e.Name()] = b
		}
		return out
	}
	before := snapshot()
	for _, epochs := range []int{0, 1, 3} {
		_, _, err := run(t, dir, mlpTrainer(t, train), tester, epochs, nil)
		var ee *logging.EarlierRunError
		if !errors.As(err, &ee) || !errors.Is(err, gometric.ErrSetting) || ee.Files[0] != "checkpoint.gmw" || !strings.Contains(err.Error(), "Resume") {
			t.Errorf("epochs %d: %v", epochs, err)
		}
	}
	if !reflect.DeepEqual(before, snapshot()) {
		t.Error("a refused run changed the files")
	}
	var log bytes.Buffer
	h, _, err := run(t, dir, mlpTrainer(t, train), tester, 1, func(h *logging.HookContainer) { h.Overwrite, h.Log = true, &log })
	if err != nil || len(h.Records()) != 1 || !strings.Contains(log.String(), "deleted the earlier run") {
		t.Errorf("Overwrite: %v\n%s", err, log.String())
	}
	h, eps, err := run(t, dir, mlpTrainer(t, train), tester, 3, func(h *logging.HookContainer) { h.Resume = true })
	if err != nil || len(eps) != 2 || eps[0].Epoch != 2 || len(h.Records()) != 3 {
		t.Errorf("Resume: %v, %+v", err, eps)
	}
}

// Resuming gives the uninterrupted run's weights, byte for byte, on the
// embedded Fashion-MNIST sample with a small ConvNet and an embedder:
// 2 epochs against 1 epoch and a resumed second.
func TestResumeIsExact(t *testing.T) {
	train, test, err := datasets.FashionMNISTSample()
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, 256)
	for i := range idx {
		idx[i] = i
	}
	if train, err = train.Subset(idx); err != nil {
		t.Fatal(err)
	}
	if test, err = test.Subset(idx[:128]); err != nil {
		t.Fatal(err)
	}
	trainer := func() (*trainers.MetricLossOnly, *models.ExponentialLR) {
		enc, err := models.NewConvNet(models.ConvNetConfig{Channels: 1, Height: 28, Width: 28, Blocks: []int{4}, Embedding: 16, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		emb, _ := models.NewMLP(models.MLPConfig{Sizes: []int{16, 8}, Seed: 4})
		tr := mlpTrainer(t, train)
		tr.Encoder, tr.Optimizer = enc, mustAdam(t)
		tr.Embedder, tr.EmbedderOptimizer = emb, mustAdam(t)
		tr.IterationsPerEpoch = 3
		sched, _ := models.NewExponentialLR(tr.Optimizer, 0.5)
		tr.LRSchedulersByEpoch = []models.LRScheduler{sched}
		return tr, sched
	}
	tester := testers.NewGlobalEmbeddingSpace()
	tester.BatchSize = 64
	splits := map[string]datasets.Dataset{"val": test}
	do := func(dir string, epochs int, resume bool) *logging.HookContainer {
		tr, _ := trainer()
		h := logging.NewHookContainer(dir, tester, splits)
		h.Resume, h.TestAtStart = resume, true
		if _, err := h.Train(context.Background(), tr, epochs); err != nil {
			t.Fatal(err)
		}
		return h
	}
	whole, split := t.TempDir(), t.TempDir()
	hw := do(whole, 2, false)
	do(split, 1, false)
	hs := do(split, 2, true)
	for _, name := range []string{"epoch-2.gmw", "epoch-2-embedder.gmw", "epoch-2-trunk_optimizer.gms", "epoch-2-embedder_optimizer.gms", "epoch-2-lr_scheduler_by_epoch_0.gms"} {
		a, err := os.ReadFile(filepath.Join(whole, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(split, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: the resumed run's differs from the uninterrupted run's", name)
		}
	}
	rw, rs := hw.Records(), hs.Records()
	if len(rw) != 3 || len(rs) != 3 {
		t.Fatalf("%d and %d records", len(rw), len(rs))
	}
	if a, b := rw[2].Metrics[accuracy.NameMeanAveragePrecisionAtR].Scalar, rs[2].Metrics[accuracy.NameMeanAveragePrecisionAtR].Scalar; a != b {
		t.Errorf("epoch 2 MAP@R: uninterrupted %v, resumed %v", a, b)
	}
	// The per-iteration records of both runs hold the same lines but the
	// wall times.
	iw, err := logging.ReadIterations(filepath.Join(whole, logging.IterationsFile))
	if err != nil {
		t.Fatal(err)
	}
	is, err := logging.ReadIterations(filepath.Join(split, logging.IterationsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(iw) != 6 || len(is) != 6 {
		t.Fatalf("%d and %d iteration lines, want 6", len(iw), len(is))
	}
	for i := range iw {
		iw[i].Seconds, is[i].Seconds = 0, 0
		if !reflect.DeepEqual(iw[i], is[i]) {
			t.Errorf("iteration %d: %+v, resumed %+v", i, iw[i], is[i])
		}
	}
}

// The records read back: one epoch line per epoch with the metrics, one
// iteration line per iteration; lines beyond the recorded epoch (a kill
// between the two files) are dropped when resuming.
func TestRecords(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	dir := t.TempDir()
	tr := mlpTrainer(t, train)
	h, eps, err := run(t, dir, tr, testers.NewGlobalEmbeddingSpace(), 2, func(h *logging.HookContainer) { h.TestAtStart = true })
	_ = h
	if err != nil {
		t.Fatal(err)
	}
	metrics, recs, err := logging.ReadEpochs(filepath.Join(dir, logging.RecordFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Train != nil || recs[2].Train.Iterations != 4 || !slices.Contains(metrics, accuracy.NameMeanAveragePrecisionAtR) {
		t.Fatalf("%q %+v", metrics, recs)
	}
	for i, r := range h.Records() {
		for _, m := range metrics {
			if got, want := recs[i].Metrics[m].Scalar, r.Metrics[m].Scalar; math.Abs(got-want) > 1e-9 {
				t.Errorf("epoch %d %s: read %v, recorded %v", i, m, got, want)
			}
		}
	}
	its, err := logging.ReadIterations(filepath.Join(dir, logging.IterationsFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := eps[0].Iterations + eps[1].Iterations; len(its) != n {
		t.Fatalf("%d iteration lines, want %d", len(its), n)
	}
	for i, it := range its {
		if it.GlobalIteration != i || it.Epoch != 1+i/4 || it.Iteration != i%4 || it.BatchSize != 16 || len(it.Parts) == 0 {
			t.Errorf("line %d: %+v", i, it)
		}
	}
	// A per-iteration record one epoch ahead of the epoch record and a
	// checkpoint of that epoch, as a kill before the epoch record leaves
	// them: resuming drops epoch 3's lines and files and trains it again.
	itPath := filepath.Join(dir, logging.IterationsFile)
	data, err := os.ReadFile(itPath)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, "8,3,0,0.5,1,2,0,16,0.1000,\n9,3,1,0.5,1,2,0,16,0.1000,\n"...)
	for name, b := range map[string][]byte{logging.IterationsFile: data, "epoch-3.gmw": []byte("partial")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, eps, err = run(t, dir, mlpTrainer(t, train), testers.NewGlobalEmbeddingSpace(), 3, func(h *logging.HookContainer) { h.Resume = true }); err != nil || len(eps) != 1 {
		t.Fatalf("%v %+v", err, eps)
	}
	if its, err = logging.ReadIterations(itPath); err != nil || len(its) != 12 {
		t.Fatalf("%v: %d lines, want 12", err, len(its))
	}
	for i, it := range its {
		if it.GlobalIteration != i || it.Seconds == 0.1 {
			t.Errorf("line %d: %+v", i, it)
		}
	}
	if _, err := models.LoadEncoder(filepath.Join(dir, "epoch-3.gmw")); err != nil {
		t.Error(err)
	}
	// A record naming an epoch whose checkpoint is gone is an error.
	if err := writeEpochs(filepath.Join(dir, logging.RecordFile), metrics, recs[:2]); err != nil {
		t.Fatal(err)
	}
	_, _, err = run(t, dir, mlpTrainer(t, train), testers.NewGlobalEmbeddingSpace(), 3, func(h *logging.HookContainer) { h.Resume = true })
	var ce *logging.ComponentError
	if !errors.As(err, &ce) || ce.Role != "trunk" || !strings.Contains(err.Error(), "epoch-1.gmw") {
		t.Errorf("err = %v", err)
	}
}

// A resumed run refuses a trainer whose components differ from the run's.
func TestResumeMismatch(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	dir := t.TempDir()
	if _, _, err := run(t, dir, mlpTrainer(t, train), testers.NewGlobalEmbeddingSpace(), 1, nil); err != nil {
		t.Fatal(err)
	}
	withEmb := mlpTrainer(t, train)
	withEmb.Embedder, _ = models.NewMLP(models.MLPConfig{Sizes: []int{8, 4}, Seed: 1})
	withEmb.EmbedderOptimizer = mustAdam(t)
	_, _, err := run(t, dir, withEmb, testers.NewGlobalEmbeddingSpace(), 2, func(h *logging.HookContainer) { h.Resume = true })
	var ce *logging.ComponentError
	if !errors.As(err, &ce) || ce.Role != "embedder" || !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("an embedder the run lacks: %v", err)
	}
	noOpt := mlpTrainer(t, train)
	noOpt.Optimizer, noOpt.FreezeThese = nil, []string{"trunk"}
	_, _, err = run(t, dir, noOpt, testers.NewGlobalEmbeddingSpace(), 2, func(h *logging.HookContainer) { h.Resume = true })
	if !errors.As(err, &ce) || ce.Role != "trunk_optimizer" {
		t.Errorf("an optimizer the trainer lacks: %v", err)
	}
	wider := mlpTrainer(t, train)
	wider.Encoder, _ = models.NewMLP(models.MLPConfig{Sizes: []int{8, 32, 8}, Seed: 1})
	_, _, err = run(t, dir, wider, testers.NewGlobalEmbeddingSpace(), 2, func(h *logging.HookContainer) { h.Resume = true })
	if !errors.As(err, &ce) || ce.Role != "trunk" {
		t.Errorf("another architecture: %v", err)
	}
}

// A cancelled run saves its models to the interrupted checkpoint and
// leaves the others as they were.
func TestInterrupted(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := mlpTrainer(t, train)
	h := logging.NewHookContainer(dir, testers.NewGlobalEmbeddingSpace(), map[string]datasets.Dataset{"val": blobs(t, 2, 40, 8, 4)})
	var log bytes.Buffer
	h.Log = &log
	h.OnRecord = func(rec logging.EpochRecord) error {
		if rec.Epoch == 1 {
			cancel()
		}
		return nil
	}
	eps, err := h.Train(ctx, tr, 5)
	if !errors.Is(err, context.Canceled) || len(eps) != 2 {
		t.Fatalf("%v, %d epochs", err, len(eps))
	}
	if _, err := models.LoadEncoder(filepath.Join(dir, "interrupted.gmw")); err != nil {
		t.Error(err)
	}
	if !strings.Contains(log.String(), "interrupted in epoch 2 after 0 iterations") {
		t.Errorf("log:\n%s", log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "epoch-1.gmw")); err != nil {
		t.Error(err)
	}
}

func writeEpochs(path string, metrics []string, recs []logging.EpochRecord) error {
	var buf bytes.Buffer
	if err := logging.WriteEpochs(&buf, metrics, recs); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// A run resumed before its first test (TestInterval 2, no epoch 0) learns
// its metric columns at the first test.
func TestResumeBeforeFirstTest(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	dir := t.TempDir()
	set := func(h *logging.HookContainer) { h.TestInterval = 2 }
	// Stopped after epoch 1, which is not tested.
	stop := func(h *logging.HookContainer) {
		set(h)
		h.OnRecord = func(logging.EpochRecord) error { return trainers.ErrStopTraining }
	}
	if h, _, err := run(t, dir, mlpTrainer(t, train), &scripted{}, 3, stop); err != nil || len(h.Records()) != 1 || h.Records()[0].Metrics != nil {
		t.Fatal(err)
	}
	h, _, err := run(t, dir, mlpTrainer(t, train), &scripted{values: []float64{0.5, 0.6}}, 4, func(h *logging.HookContainer) { set(h); h.Resume = true })
	// epoch 2: 0.5, epoch 4: 0.6.
	if err != nil {
		t.Fatal(err)
	}
	metrics, recs, err := logging.ReadEpochs(filepath.Join(dir, logging.RecordFile))
	if err != nil || len(recs) != 4 || !slices.Equal(metrics, []string{accuracy.NameMeanAveragePrecisionAtR, accuracy.NamePrecisionAt1}) || recs[0].Metrics != nil {
		t.Fatalf("%v: %q, %d records", err, metrics, len(recs))
	}
	if e, b := h.Best(); e != 4 || b != 0.6 {
		t.Errorf("best %d %v", e, b)
	}
}

// Attach sets the hooks of every trainer of package trainers; Train
// checkpoints each one's components.
func TestEveryTrainer(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	mlo := mlpTrainer(t, train)
	clf, _ := models.NewMLP(models.MLPConfig{Sizes: []int{8, 4}, Seed: 2})
	twc := trainers.NewTrainWithClassifier(mlo.Encoder, mlo.Optimizer, 16, mlo.Loss, clf, mustAdam(t), train)
	twc.Sampler = mlo.Sampler
	base := trainers.NewBase(mlpTrainer(t, train).Encoder, mustAdam(t), 16, train, func(e gometric.Matrix, _ []int) (trainers.BatchLoss, error) {
		return trainers.BatchLoss{Loss: 0, Grad: gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}}, nil
	})
	ts := &trainers.TwoStreamMetricLoss{}
	ce := trainers.NewCascadedEmbeddings([]int{4, 4}, mlpTrainer(t, train).Encoder, mustAdam(t), 16, []losses.Loss{losses.NewContrastive(), losses.NewContrastive()}, train)
	ce.Sampler = mlo.Sampler
	clf1, _ := models.NewMLP(models.MLPConfig{Sizes: []int{4, 4}, Seed: 3})
	ce.Classifiers, ce.ClassifierOptimizers = []models.InputGradStepper{nil, clf1}, []*models.Optimizer{nil, mustAdam(t)}
	gen, _ := models.NewMLP(models.MLPConfig{Sizes: []int{24, 8}, Seed: 4})
	adv := losses.NewTripletMargin()
	daml := trainers.NewDeepAdversarialMetricLearning(mlpTrainer(t, train).Encoder, mustAdam(t), 16, losses.NewContrastive(), losses.NewContrastive(), adv, gen, mustAdam(t), train)
	daml.Sampler, daml.GTripletsPerAnchor = mlo.Sampler, 4
	for _, tc := range []struct {
		name  string
		tr    logging.Trainer
		files []string
	}{
		{"TrainWithClassifier", twc, []string{"epoch-1-classifier.gmw", "epoch-1-classifier_optimizer.gms", "checkpoint-classifier.gmw"}},
		{"Base", base, []string{"epoch-1.gmw", "epoch-1-trunk_optimizer.gms"}},
		{"CascadedEmbeddings", ce, []string{"epoch-1.gmw", "epoch-1-classifier_1.gmw", "epoch-1-classifier_1_optimizer.gms", "checkpoint-classifier_1.gmw"}},
		{"DeepAdversarialMetricLearning", daml, []string{"epoch-1.gmw", "epoch-1-generator.gmw", "epoch-1-generator_optimizer.gms", "checkpoint-generator.gmw"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			h := logging.NewHookContainer(dir, &scripted{values: []float64{0.5}}, map[string]datasets.Dataset{"val": train})
			eps, err := h.Train(context.Background(), tc.tr, 1)
			if err != nil || len(eps) != 1 || len(h.Records()) != 1 {
				t.Fatalf("%v, %d epochs", err, len(eps))
			}
			for _, f := range tc.files {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	if err := logging.NewHookContainer(t.TempDir(), &scripted{}, map[string]datasets.Dataset{"val": train}).Attach(context.Background(), ts); err == nil || errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("a zero TwoStreamMetricLoss (no trunk): %v, want a refusal of the missing trunk", err)
	}
	if ts.EndOfEpochHook != nil || ts.EndOfIterationHook != nil {
		t.Error("a refused Attach set the hooks")
	}
	ts = trainers.NewTwoStreamMetricLoss(mlo.Encoder, mlo.Optimizer, 16, mlo.Loss, datasets.TwoStream{})
	if err := logging.NewHookContainer(t.TempDir(), &scripted{}, map[string]datasets.Dataset{"val": train}).Attach(context.Background(), ts); err != nil {
		t.Fatal(err)
	}
	if ts.EndOfEpochHook == nil || ts.EndOfIterationHook == nil {
		t.Error("Attach did not set TwoStreamMetricLoss's hooks")
	}
}

// A run killed in its first epoch after saving the epoch's checkpoint but
// before any record resumes from the start; a LoadLatest that failed
// leaves the container unloaded, so Train tries again rather than
// training into the directory.
func TestResumeWithoutRecord(t *testing.T) {
	train := blobs(t, 1, 64, 8, 4)
	dir := t.TempDir()
	for _, n := range []string{"epoch-1.gmw", "epoch-1-trunk_optimizer.gms"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := run(t, dir, mlpTrainer(t, train), &scripted{}, 1, nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("a new run over stray weights: %v", err)
	}
	h, eps, err := run(t, dir, mlpTrainer(t, train), &scripted{values: []float64{0.5}}, 1, func(h *logging.HookContainer) { h.Resume = true })
	if err != nil || len(eps) != 1 || len(h.Records()) != 1 {
		t.Fatalf("%v %+v", err, eps)
	}
	if _, err := models.LoadEncoder(filepath.Join(dir, "epoch-1.gmw")); err != nil {
		t.Error(err)
	}
	// A best checkpoint with no record is refused, and stays refused.
	if err := os.Remove(filepath.Join(dir, logging.RecordFile)); err != nil {
		t.Fatal(err)
	}
	h = logging.NewHookContainer(dir, &scripted{values: []float64{0.5, 0.5}}, map[string]datasets.Dataset{"val": train})
	h.Resume = true
	tr := mlpTrainer(t, train)
	for range 2 {
		if _, err := h.Train(context.Background(), tr, 2); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "no trained epoch") {
			t.Errorf("err = %v", err)
		}
	}
}
