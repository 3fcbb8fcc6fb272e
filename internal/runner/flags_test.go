package runner

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
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/accuracy"
)

// cancelWriter cancels once its output contains s.
type cancelWriter struct {
	buf    bytes.Buffer
	s      string
	cancel func()
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	n, err := w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.s) {
		w.cancel()
	}
	return n, err
}

// executeCancelled is execute, cancelled once the output holds s.
func executeCancelled(t *testing.T, out string, epochs int, s string, set func(*Options)) ([]Row, string, error) {
	t.Helper()
	train, test := blobs(t, 1, 64, 8, 4), blobs(t, 2, 40, 8, 4)
	enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{8, 16, 8}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	o := Defaults()
	o.Batch, o.M, o.Epochs, o.Out, o.Quiet = 16, 4, epochs, out, true
	set(&o)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &cancelWriter{s: s, cancel: cancel}
	r := &Run{Options: o, Encoder: enc, Train: train, Test: test, Stdout: w, Stderr: w}
	rows, err := r.Execute(ctx)
	return rows, w.buf.String(), err
}

func TestParseLRSchedule(t *testing.T) {
	good := []struct {
		in   string
		want LRSchedule
	}{
		{"", LRSchedule{Kind: "none"}},
		{"none", LRSchedule{Kind: "none"}},
		{"step:3:0.5", LRSchedule{Kind: "step", StepSize: 3, Gamma: 0.5}},
		{"STEP:1:0", LRSchedule{Kind: "step", StepSize: 1, Gamma: 0}},
		{"multistep:2,5,5:0.1", LRSchedule{Kind: "multistep", Milestones: []int{2, 5, 5}, Gamma: 0.1}},
		{"exp:0.9", LRSchedule{Kind: "exp", Gamma: 0.9}},
		{"cosine", LRSchedule{Kind: "cosine"}},
		{"plateau", LRSchedule{Kind: "plateau", Patience: 10}},
		{"plateau:0", LRSchedule{Kind: "plateau", Patience: 0}},
	}
	for _, tc := range good {
		got, err := ParseLRSchedule(tc.in)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if again, err := ParseLRSchedule(got.String()); err != nil || !reflect.DeepEqual(again, got) {
			t.Errorf("%q: String() %q parses to %+v, %v", tc.in, got.String(), again, err)
		}
	}
	bad := []struct{ in, want string }{
		{"linear", "not a schedule"},
		{"none:1", "not a schedule"},
		{"cosine:5", "not a schedule"},
		{"step", "not a schedule"},
		{"step:3", "not a schedule"},
		{"step:0:0.5", "step size"},
		{"step:-1:0.5", "step size"},
		{"step:x:0.5", "step size"},
		{"step:99999999999999999999:0.5", "step size"},
		{"step:3:NaN", "gamma"},
		{"step:3:Inf", "gamma"},
		{"step:3:-0.5", "gamma"},
		{"step:3:0.5:1", "not a schedule"},
		{"multistep::0.1", "milestone"},
		{"multistep:2,0:0.1", "milestone"},
		{"multistep:2,,3:0.1", "milestone"},
		{"multistep:" + strings.Repeat("1,", maxMilestones) + "1:0.1", "milestones"},
		{"exp", "not a schedule"},
		{"exp:1e400", "gamma"},
		{"plateau:-1", "patience"},
		{"plateau:1.5", "patience"},
		{"plateau:1:2", "not a schedule"},
	}
	for _, tc := range bad {
		_, err := ParseLRSchedule(tc.in)
		if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "-lr-schedule") ||
			!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.in[:min(len(tc.in), 20)]) {
			t.Errorf("%q: err = %v, want one naming -lr-schedule, the value and %q", tc.in, err, tc.want)
		}
	}
}

func TestValidateNewFlags(t *testing.T) {
	tests := []struct {
		name string
		set  func(o *Options)
		want string
	}{
		{"embedder", func(o *Options) { o.Embedder = 32 }, ""},
		{"embedder negative", func(o *Options) { o.Embedder = -1 }, "-embedder -1"},
		{"embedder huge", func(o *Options) { o.Embedder = MaxEmbedder + 1 }, "-embedder"},
		{"embedder MinInt", func(o *Options) { o.Embedder = math.MinInt }, "-embedder"},
		{"patience", func(o *Options) { o.Patience = 3 }, ""},
		{"patience negative", func(o *Options) { o.Patience = -1 }, "-patience"},
		{"val-every", func(o *Options) { o.ValEvery = 5 }, ""},
		{"val-every 0", func(o *Options) { o.ValEvery = 0 }, "-val-every 0"},
		{"val-every MinInt", func(o *Options) { o.ValEvery = math.MinInt }, "-val-every"},
		{"lr-schedule", func(o *Options) { o.LRSchedule = "cosine" }, ""},
		{"lr-schedule empty", func(o *Options) { o.LRSchedule = "" }, ""},
		{"lr-schedule bad", func(o *Options) { o.LRSchedule = "step:0:1" }, `-lr-schedule "step:0:1"`},
		{"cascaded", func(o *Options) { o.Trainer, o.Cascade = "cascaded", "32,32" }, ""},
		{"daml", func(o *Options) {
			o.Trainer, o.MetricAloneEpochs, o.GAloneEpochs, o.GTripletsPerAnchor = "daml", 1, 2, 8
		}, ""},
		{"twostream", func(o *Options) { o.Trainer = "twostream" }, "anchor, positive"},
		{"unknown trainer", func(o *Options) { o.Trainer = "cascade" }, `-trainer "cascade": want one of metriclossonly, withclassifier, cascaded, daml`},
		{"cascade without cascaded", func(o *Options) { o.Cascade = "32,32" }, "-cascade \"32,32\" is for -trainer cascaded"},
		{"cascade bad list", func(o *Options) { o.Trainer, o.Cascade = "cascaded", "32,x" }, "-cascade"},
		{"cascade zero", func(o *Options) { o.Trainer, o.Cascade = "cascaded", "0,64" }, "-cascade"},
		{"metric-alone negative", func(o *Options) { o.MetricAloneEpochs = -1 }, "-metric-alone-epochs -1"},
		{"g-alone MinInt", func(o *Options) { o.GAloneEpochs = math.MinInt }, "-g-alone-epochs"},
		{"g-triplets negative", func(o *Options) { o.GTripletsPerAnchor = -2 }, "-g-triplets-per-anchor -2"},
		{"g-triplets MaxInt", func(o *Options) { o.Trainer, o.GTripletsPerAnchor = "daml", math.MaxInt }, "-g-triplets-per-anchor"},
		{"daml too many triplets", func(o *Options) { o.Trainer, o.GTripletsPerAnchor = "daml", 100 }, "6400 synthetic triplets per batch"},
		{"daml huge batch", func(o *Options) { o.Trainer, o.Batch, o.M = "daml", 4096, 8 }, "-batch 4096"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := Defaults()
			tc.set(&o)
			err := o.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// -embedder trains a linear embedder after the trunk: its files are
// written beside the trunk's, and the printed metrics are those of the
// embedder of the trunk's output.
func TestEmbedder(t *testing.T) {
	out := t.TempDir()
	rows, stdout, err := execute(t, out, 2, func(o *Options) { o.Embedder = 4 })
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "embedder Linear(8, 4)") {
		t.Errorf("output:\n%s", stdout)
	}
	trunk, err := models.LoadEncoder(filepath.Join(out, EpochFile(2)))
	if err != nil {
		t.Fatal(err)
	}
	emb, err := models.LoadEncoder(filepath.Join(out, EpochEmbedderFile(2)))
	if err != nil {
		t.Fatal(err)
	}
	if mlp, ok := emb.(*models.MLP); !ok || emb.EmbeddingSize() != 4 || !slices.Equal(mlp.InputShape(), []int{8}) {
		t.Fatalf("embedder %T %v -> %d", emb, emb.InputShape(), emb.EmbeddingSize())
	}
	for _, name := range []string{CheckpointFile, CheckpointEmbedderFile} {
		if _, err := models.LoadEncoder(filepath.Join(out, name)); err != nil {
			t.Error(err)
		}
	}
	// The last epoch's metrics are the embedder's of the trunk's output.
	tester := testers.NewGlobalEmbeddingSpace()
	tester.Calculator = &accuracy.Calculator{K: accuracy.KMaxBinCount()}
	test := blobs(t, 2, 40, 8, 4)
	res, err := tester.Test(context.Background(), testers.TrunkEmbedder{Trunk: trunk, Embedder: emb}, map[string]datasets.Dataset{"test": test})
	if err != nil {
		t.Fatal(err)
	}
	if g, w := rows[2].Metrics[PrimaryMetric].Scalar, res["test"][PrimaryMetric].Scalar; g != w {
		t.Errorf("MAP@R printed %v, of trunk+embedder %v", g, w)
	}
	// Resuming without -embedder, or with another size, is refused.
	if _, _, err := execute(t, out, 3, func(o *Options) { o.Resume = true }); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "-embedder") {
		t.Errorf("resume without -embedder: %v", err)
	}
	if _, _, err := execute(t, out, 3, func(o *Options) { o.Resume, o.Embedder = true, 5 }); err == nil || !strings.Contains(err.Error(), "-embedder 5") {
		t.Errorf("resume with -embedder 5: %v", err)
	}
	// A run without an embedder resumed with one is refused too.
	plain := t.TempDir()
	if _, _, err := execute(t, plain, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := execute(t, plain, 2, func(o *Options) { o.Resume, o.Embedder = true, 4 }); err == nil || !strings.Contains(err.Error(), "-embedder") {
		t.Errorf("resume with an embedder the run did not have: %v", err)
	}
	// -overwrite deletes the embedder's files too.
	if _, _, err := execute(t, out, 1, func(o *Options) { o.Overwrite = true }); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{CheckpointEmbedderFile, EpochEmbedderFile(2), EpochEmbedderOptimizerFile(2)} {
		if _, err := os.Stat(filepath.Join(out, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived -overwrite: %v", name, err)
		}
	}
}

// Resuming gives the uninterrupted run's numbers and weights with an
// embedder and with every schedule (their states are restored).
func TestResumeIsExactWithFlags(t *testing.T) {
	cases := []struct {
		name string
		set  func(o *Options)
		// killed: the first part is a 4-epoch run cancelled after
		// epoch 2 (cosine anneals over -epochs, so its -epochs stays).
		killed bool
	}{
		{"embedder", func(o *Options) { o.Embedder = 4 }, false},
		{"embedder+arcface", func(o *Options) { o.Embedder, o.Loss, o.Miner = 4, "arcface", "none" }, false},
		{"step", func(o *Options) { o.LRSchedule = "step:1:0.5" }, false},
		{"multistep", func(o *Options) { o.LRSchedule = "multistep:1,2:0.3" }, false},
		{"exp", func(o *Options) { o.LRSchedule = "exp:0.7" }, false},
		{"cosine", func(o *Options) { o.LRSchedule = "cosine" }, true},
		{"plateau+embedder+arcface", func(o *Options) {
			o.LRSchedule, o.Embedder, o.Loss, o.Miner = "plateau:0", 4, "arcface", "none"
		}, false},
		{"val-every", func(o *Options) { o.ValEvery = 2 }, false},
		{"cascaded", func(o *Options) { o.Trainer = "cascaded" }, false},
		{"cascaded+arcface+embedder", func(o *Options) {
			o.Trainer, o.Loss, o.Miner, o.Embedder, o.Cascade = "cascaded", "arcface", "none", 6, "2,4"
		}, false},
		{"daml phases", func(o *Options) {
			o.Trainer, o.GTripletsPerAnchor, o.MetricAloneEpochs, o.GAloneEpochs = "daml", 2, 1, 1
		}, false},
		{"daml+embedder+plateau", func(o *Options) { o.Trainer, o.Embedder, o.LRSchedule = "daml", 4, "plateau:0" }, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			whole := t.TempDir()
			want, _, err := execute(t, whole, 4, tc.set)
			if err != nil {
				t.Fatal(err)
			}
			split := t.TempDir()
			if tc.killed {
				if _, _, err := executeCancelled(t, split, 4, "epoch 2  loss", tc.set); !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled run: %v", err)
				}
			} else if _, _, err := execute(t, split, 2, tc.set); err != nil {
				t.Fatal(err)
			}
			got, stdout, err := execute(t, split, 4, func(o *Options) { tc.set(o); o.Resume = true })
			if err != nil {
				t.Fatalf("%v\n%s", err, stdout)
			}
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for e := 3; e < len(want); e++ {
				if (got[e].Metrics == nil) != (want[e].Metrics == nil) {
					t.Fatalf("epoch %d: evaluated %v, uninterrupted %v", e, got[e].Metrics != nil, want[e].Metrics != nil)
				}
				for _, m := range Metrics {
					if g, w := got[e].Metrics[m.Name].Scalar, want[e].Metrics[m.Name].Scalar; g != w {
						t.Errorf("epoch %d %s: resumed %v, uninterrupted %v", e, m.Short, g, w)
					}
				}
				if g, w := got[e].Train.LossMean, want[e].Train.LossMean; g != w {
					t.Errorf("epoch %d loss: resumed %v, uninterrupted %v", e, g, w)
				}
			}
			entries, _ := os.ReadDir(whole)
			n := 0
			for _, en := range entries {
				if !strings.HasPrefix(en.Name(), "epoch-4") {
					continue
				}
				n++
				if a, b := read(t, filepath.Join(whole, en.Name())), read(t, filepath.Join(split, en.Name())); !bytes.Equal(a, b) {
					t.Errorf("%s: the resumed run's differs from the uninterrupted run's", en.Name())
				}
			}
			if n < 2 {
				t.Errorf("%d epoch-4 files", n)
			}
		})
	}
}

// A schedule sets the rate of every optimizer: after 2 epochs of
// step:1:0.5 the trunk's and the embedder's Adam run at lr/4, as the
// schedulers' states say.
func TestLRScheduleApplies(t *testing.T) {
	out := t.TempDir()
	if _, stdout, err := execute(t, out, 2, func(o *Options) { o.Embedder, o.LRSchedule = 4, "step:1:0.5" }); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, f := range []struct{ opt, sched string }{
		{EpochOptimizerFile(2), EpochSchedulerFile(2)},
		{EpochEmbedderOptimizerFile(2), EpochEmbedderSchedulerFile(2)},
	} {
		opt, _ := models.NewOptimizer("adam", 1e-3)
		if err := opt.LoadState(filepath.Join(out, f.opt)); err != nil {
			t.Fatal(err)
		}
		s, _ := models.NewStepLR(opt, 1, 0.5)
		if err := s.LoadState(filepath.Join(out, f.sched)); err != nil {
			t.Fatal(err)
		}
		if opt.LR != 2.5e-4 || s.LastLR() != 2.5e-4 {
			t.Errorf("%s: LR %v, scheduler's %v, want 2.5e-4", f.opt, opt.LR, s.LastLR())
		}
	}
	// Resuming with another schedule, or none, is refused.
	if _, _, err := execute(t, out, 3, func(o *Options) { o.Resume, o.Embedder = true, 4 }); err == nil || !strings.Contains(err.Error(), "-lr-schedule") {
		t.Errorf("resume without the schedule: %v", err)
	}
	if _, _, err := execute(t, out, 3, func(o *Options) { o.Resume, o.Embedder, o.LRSchedule = true, 4, "step:2:0.5" }); err == nil || !strings.Contains(err.Error(), "-lr-schedule") {
		t.Errorf("resume with another schedule: %v", err)
	}
}

// -patience stops when the epochs since the best exceed it: with exp:0
// the rate is 0 after epoch 1, so no later epoch improves, and patience 1
// stops after epoch 3 (3 − 1 > 1), as PML's HookContainer; a resumed run
// stays stopped.
func TestPatience(t *testing.T) {
	out := t.TempDir()
	set := func(o *Options) { o.LRSchedule, o.Patience = "exp:0", 1 }
	rows, stdout, err := execute(t, out, 10, set)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if len(rows) != 4 || !strings.Contains(stdout, "stopping early: MAP@R has not improved since epoch 1") {
		t.Fatalf("%d rows\n%s", len(rows), stdout)
	}
	if _, err := os.Stat(filepath.Join(out, EpochFile(3))); err != nil {
		t.Error(err)
	}
	rows, stdout, err = execute(t, out, 10, func(o *Options) { set(o); o.Resume = true })
	if err != nil || len(rows) != 4 || !strings.Contains(stdout, "nothing to train") {
		t.Errorf("resume: %v, %d rows\n%s", err, len(rows), stdout)
	}
	// A larger patience continues it.
	rows, stdout, err = execute(t, out, 5, func(o *Options) { set(o); o.Resume, o.Patience = true, 5 })
	if err != nil || len(rows) != 6 {
		t.Errorf("resume with -patience 5: %v, %d rows\n%s", err, len(rows), stdout)
	}
	// 0 is off.
	if rows, _, err := execute(t, t.TempDir(), 4, func(o *Options) { set(o); o.Patience = 0 }); err != nil || len(rows) != 5 {
		t.Errorf("-patience 0: %v, %d rows", err, len(rows))
	}
}

// -val-every 2 evaluates epochs 2, 4 and the last, 5; the others are
// recorded without metrics, and the checkpoint is an evaluated epoch's.
func TestValEvery(t *testing.T) {
	out := t.TempDir()
	rows, stdout, err := execute(t, out, 5, func(o *Options) { o.ValEvery = 2 })
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	var evaluated []int
	for _, r := range rows {
		if r.Metrics != nil {
			evaluated = append(evaluated, r.Epoch)
		}
	}
	if !slices.Equal(evaluated, []int{0, 2, 4, 5}) || len(rows) != 6 {
		t.Fatalf("evaluated epochs %v of %d", evaluated, len(rows))
	}
	if !strings.Contains(stdout, "epoch 1  loss") || !strings.Contains(stdout, "not evaluated") {
		t.Errorf("output:\n%s", stdout)
	}
	back, err := ReadCSV(filepath.Join(out, CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if (back[i].Metrics == nil) != (rows[i].Metrics == nil) {
			t.Errorf("epoch %d: read back evaluated %v", i, back[i].Metrics != nil)
		}
	}
	if err := WriteCSV(filepath.Join(out, "again.csv"), back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read(t, filepath.Join(out, "again.csv")), read(t, filepath.Join(out, CSVFile))) {
		t.Error("the record does not round-trip")
	}
	// The checkpoint is the best evaluated epoch's trunk.
	b, e := bestEpoch(rows)
	if e != 2 && e != 4 && e != 5 {
		t.Fatalf("best epoch %d (%v)", e, b)
	}
	if e == 5 && !bytes.Equal(read(t, filepath.Join(out, CheckpointFile)), read(t, filepath.Join(out, EpochFile(5)))) {
		t.Error("the checkpoint is not epoch 5's")
	}
	// A metric in a row without eval_seconds is a damaged record.
	lines := strings.Split(string(read(t, filepath.Join(out, CSVFile))), "\n")
	cols := strings.Split(lines[2], ",")
	if cols[0] != "1" || cols[8] != "" {
		t.Fatalf("line %q", lines[2])
	}
	cols[8] = "0.5"
	lines[2] = strings.Join(cols, ",")
	p := filepath.Join(out, "bad.csv")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadCSV(p); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("damaged record: %v", err)
	}
	if err := WritePNG(filepath.Join(out, "x.png"), rows); err != nil {
		t.Error(err)
	}
}

// -trainer withclassifier trains a classifier beside the metric loss: the
// record holds its epochs, the classifier's files are written, a resume
// without the flag is refused, and the classifier's weight 0 trains as
// MetricLossOnly does (PML skips the classifier at weight 0).
func TestTrainerWithClassifier(t *testing.T) {
	out := t.TempDir()
	rows, stdout, err := execute(t, out, 2, func(o *Options) { o.Trainer = "withclassifier" })
	if err != nil || len(rows) != 3 {
		t.Fatalf("%v, %d rows\n%s", err, len(rows), stdout)
	}
	if !strings.Contains(stdout, "TrainWithClassifier: classifier Linear(8, 4)") {
		t.Errorf("output:\n%s", stdout)
	}
	if _, err := models.LoadEncoder(filepath.Join(out, EpochClassifierFile(2))); err != nil {
		t.Errorf("classifier file: %v", err)
	}
	if _, _, err := execute(t, out, 3, func(o *Options) { o.Resume = true }); err == nil || !strings.Contains(err.Error(), "-trainer withclassifier") {
		t.Errorf("resume without -trainer withclassifier: %v", err)
	}
	plain, _, err := execute(t, t.TempDir(), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	zero, _, err := execute(t, t.TempDir(), 2, func(o *Options) { o.Trainer, o.ClassifierLossWeight = "withclassifier", 0 })
	if err != nil {
		t.Fatal(err)
	}
	for e := range plain {
		if p, z := plain[e].Metrics[PrimaryMetric].Scalar, zero[e].Metrics[PrimaryMetric].Scalar; p != z {
			t.Errorf("epoch %d: classifier weight 0 gives %v, MetricLossOnly %v", e, z, p)
		}
	}
}

// -trainer cascaded and -trainer daml write their own parts (the block
// losses' parameters, the generator and its optimizer), say what they
// train, and a resume without the flag is refused naming it; -cascade
// must cut the embedding exactly.
func TestTrainersCascadedAndDAML(t *testing.T) {
	out := t.TempDir()
	_, stdout, err := execute(t, out, 1, func(o *Options) { o.Trainer, o.GTripletsPerAnchor = "daml", 2 })
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "DeepAdversarialMetricLearning: generator Linear(24, 8)") {
		t.Errorf("output:\n%s", stdout)
	}
	for _, f := range []string{"epoch-1-generator.gmw", "epoch-1-generator_optimizer.gms", "checkpoint-generator.gmw"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, _, err := execute(t, out, 2, func(o *Options) { o.Resume = true }); err == nil || !strings.Contains(err.Error(), "-trainer daml run has a generator") {
		t.Errorf("resume without -trainer daml: %v", err)
	}
	if _, _, err := execute(t, t.TempDir(), 1, func(o *Options) { o.Trainer, o.Loss, o.Miner = "daml", "arcface", "none" }); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "never steps a loss's parameters") {
		t.Errorf("daml with a learnable loss: %v", err)
	}

	out = t.TempDir()
	_, stdout, err = execute(t, out, 1, func(o *Options) { o.Trainer, o.Loss, o.Miner, o.Cascade = "cascaded", "arcface", "none", "3,5" })
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	if !strings.Contains(stdout, "CascadedEmbeddings: blocks [3 5] of the 8-column embedding") {
		t.Errorf("output:\n%s", stdout)
	}
	for _, f := range []string{"epoch-1-metric_loss_0.gmp", "epoch-1-metric_loss_1_optimizer.gms"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	for _, c := range []string{"3,4", "4,5", "8,1"} {
		if _, _, err := execute(t, t.TempDir(), 1, func(o *Options) { o.Trainer, o.Cascade = "cascaded", c }); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "-cascade "+c) {
			t.Errorf("-cascade %s on 8 columns: %v", c, err)
		}
	}
}
