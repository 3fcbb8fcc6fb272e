package runner

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gometric/gometric"
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

// blobs makes n feature vectors of dim d in k classes: class c is a
// standard normal blob around the point that is 2 where j mod k = c.
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

// Every loss of the table trains, with and without a miner where it takes
// one.
func TestEveryLossTrains(t *testing.T) {
	ds := blobs(t, 1, 64, 8, 4)
	for _, name := range LossNames() {
		_, tuples, err := NewLoss(name, 10, 8, 0)
		if err != nil {
			t.Fatal(err)
		}
		minerNames := []string{"none"}
		if tuples {
			minerNames = append(minerNames, "multisimilarity", "tripletmargin")
		}
		for _, mn := range minerNames {
			t.Run(name+"/"+mn, func(t *testing.T) {
				loss, _, _ := NewLoss(name, 10, 8, 0)
				miner, err := NewMiner(mn, 0)
				if err != nil {
					t.Fatal(err)
				}
				enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{8, 8}, Seed: 1})
				if err != nil {
					t.Fatal(err)
				}
				opt, _ := models.NewOptimizer("adam", 1e-3)
				tr := trainers.NewMetricLossOnly(enc, opt, 16, loss, ds)
				tr.Miner = miner
				if _, ok := loss.(losses.Learnable); ok {
					tr.LossOptimizer, _ = models.NewOptimizer("adam", 1e-2)
				}
				tr.Sampler = &samplers.MPerClass{Labels: ds.Labels(), M: 4, BatchSize: 16, LengthBeforeNewIter: 64}
				eps, err := tr.Train(context.Background(), 1, 1)
				if err != nil {
					t.Fatal(err)
				}
				if eps[0].Iterations != 4 {
					t.Errorf("%d iterations, want 4", eps[0].Iterations)
				}
			})
		}
	}
}

func TestEveryMiner(t *testing.T) {
	for _, name := range MinerNames() {
		m, err := NewMiner(strings.ToUpper(name), 3)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if (m == nil) != (name == "none") {
			t.Errorf("%s: miner %v", name, m)
		}
	}
}

func TestUnknownNames(t *testing.T) {
	_, _, err := NewLoss("arcfacex", 10, 8, 0)
	if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "tripletmargin") || !strings.Contains(err.Error(), "ntxent") {
		t.Errorf("unknown loss: %v", err)
	}
	_, err = NewMiner("nope", 0)
	if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "batchhard") {
		t.Errorf("unknown miner: %v", err)
	}
	l, tuples, err := NewLoss("Triplet", 10, 8, 0)
	if err != nil || !tuples {
		t.Fatalf("triplet: %v %v", tuples, err)
	}
	if tl, ok := l.(*losses.TripletMargin); !ok || tl.Margin != DefaultTripletMargin {
		t.Errorf("triplet is %#v, want TripletMargin with margin %v", l, DefaultTripletMargin)
	}
	// "tripletmargin" has PML's defaults, as the flag's help says.
	l, _, err = NewLoss("tripletmargin", 10, 8, 0)
	if tl, ok := l.(*losses.TripletMargin); err != nil || !ok || tl.Margin != losses.NewTripletMargin().Margin {
		t.Errorf("tripletmargin is %#v (%v), want NewTripletMargin()", l, err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		set  func(o *Options)
		want string
	}{
		{"defaults", func(o *Options) {}, ""},
		{"loss", func(o *Options) { o.Loss = "x" }, "-loss"},
		{"miner", func(o *Options) { o.Miner = "x" }, "-miner"},
		{"loss without tuples", func(o *Options) { o.Loss = "pnp" }, "-miner none"},
		{"loss without tuples, no miner", func(o *Options) { o.Loss = "pnp"; o.Miner = "none" }, ""},
		{"epochs", func(o *Options) { o.Epochs = -1 }, "-epochs"},
		{"trainer", func(o *Options) { o.Trainer = "twostreams" }, "-trainer"},
		{"classifier weight negative", func(o *Options) { o.ClassifierLossWeight = -1 }, "-classifier-loss-weight"},
		{"classifier weight NaN", func(o *Options) { o.ClassifierLossWeight = math.NaN() }, "-classifier-loss-weight"},
		{"classifier weight Inf", func(o *Options) { o.ClassifierLossWeight = math.Inf(1) }, "-classifier-loss-weight"},
		{"withclassifier", func(o *Options) { o.Trainer = "withclassifier" }, ""},
		{"batch", func(o *Options) { o.Batch = 0 }, "-batch"},
		{"m", func(o *Options) { o.M = 0 }, "-m"},
		{"batch not multiple of m", func(o *Options) { o.Batch = 60 }, "multiple"},
		{"iters", func(o *Options) { o.Iterations = -2 }, "-iters"},
		{"lr", func(o *Options) { o.LR = 0 }, "-lr"},
		{"out", func(o *Options) { o.Out = "" }, "-out"},
		{"threads", func(o *Options) { o.Threads = -1 }, "-threads"},
		{"eval batch", func(o *Options) { o.EvalBatch = 0 }, "-eval-batch"},
		{"zero value", func(o *Options) { *o = Options{} }, "-loss"},
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

// TestNilReceivers: every method of a nil *Options returns an error
// wrapping ErrSetting (Register does nothing), with arguments or without;
// so does Execute of a nil *Run (the Options methods it promotes would
// dereference the nil pointer), and a Run without an encoder is refused.
func TestNilReceivers(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"EmbedOptions", "ImageFlags", "LRSchedule", "Model", "ModelFlags", "Options", "Row", "Run", "Trunk"})
	testkit.CheckConcurrencyDocs(t, ".")
	for method, err := range testkit.NilReceiver(t, reflect.TypeFor[*Options]()) {
		if !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("nil *Options: %s: %v, want ErrSetting", method, err)
		}
	}
	var o *Options
	o.Register(flag.NewFlagSet("x", flag.ContinueOnError))
	if err := o.Validate(); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Validate: %v", err)
	}
	if err := o.ParseFlags(flag.NewFlagSet("x", flag.ContinueOnError), nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("ParseFlags: %v", err)
	}
	var r *Run
	if _, err := r.Execute(context.Background()); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Execute: %v", err)
	}
	if _, err := (&Run{Options: Defaults()}).Execute(context.Background()); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Execute without an encoder: %v", err)
	}
	if _, err := r.Evaluate(context.Background(), nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Evaluate: %v", err)
	}
	var nilFunc testers.EmbedFunc
	if _, err := (&Run{Options: Defaults()}).Evaluate(context.Background(), nilFunc); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Evaluate without an embedder or test set: %v", err)
	}
}

// The defaults are the benchmark protocol.
func TestDefaultsAreTheProtocol(t *testing.T) {
	o := Defaults()
	if o.Loss != "triplet" || o.Miner != "multisimilarity" || o.M != 8 || o.Batch != 64 || o.LR != 1e-3 || o.Seed != 0 || o.Epochs != 1 || o.Iterations != 0 {
		t.Errorf("defaults %+v", o)
	}
	l, _, _ := NewLoss(o.Loss, 10, 8, 0)
	if tl, ok := l.(*losses.TripletMargin); !ok || tl.Margin != 0.1 {
		t.Errorf("default loss %#v, want TripletMargin(margin 0.1)", l)
	}
	m, _ := NewMiner(o.Miner, o.Seed)
	if ms, ok := m.(*miners.MultiSimilarity); !ok || ms.Epsilon != 0.1 || ms.Distance != nil {
		t.Errorf("default miner %#v, want MultiSimilarity(epsilon 0.1)", m)
	}
}

var lineRE = regexp.MustCompile(`^epoch 1  loss \d+\.\d{4}  P@1 [01]\.\d{4}  R-Precision [01]\.\d{4}  MAP@R [01]\.\d{4}  \(train \d+\.\d s, eval \d+\.\d s\)$`)

func TestExecute(t *testing.T) {
	train, test := blobs(t, 1, 64, 8, 4), blobs(t, 2, 40, 8, 4)
	enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{8, 16, 8}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	o := Defaults()
	o.Batch, o.M, o.Epochs, o.Out, o.Quiet = 16, 4, 2, out, true
	var stdout bytes.Buffer
	r := &Run{Options: o, Encoder: enc, Train: train, Test: test, Stdout: &stdout, Stderr: &stdout}
	rows, err := r.Execute(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Train != nil || rows[2].Train.Iterations != 4 {
		t.Fatalf("rows %+v", rows)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var found bool
	for _, l := range lines {
		if strings.HasPrefix(l, "epoch 1 ") {
			found = true
			if !lineRE.MatchString(l) {
				t.Errorf("line %q does not have the expected form", l)
			}
		}
	}
	if !found {
		t.Errorf("no epoch 1 line in\n%s", stdout.String())
	}
	// The CSV holds a line per evaluation with the printed metrics.
	f, err := os.Open(filepath.Join(out, CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || strings.Join(recs[0], ",") != strings.Join(CSVHeader, ",") {
		t.Fatalf("CSV %v", recs)
	}
	if recs[2][0] != "1" || recs[2][1] != "4" || recs[1][2] != "" {
		t.Errorf("CSV rows %v", recs[1:])
	}
	// The PNG decodes.
	pf, err := os.Open(filepath.Join(out, PNGFile))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(pf)
	pf.Close()
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 200 {
		t.Errorf("PNG is %v", b)
	}
	// The last epoch's file is the final encoder; the checkpoint is the
	// best epoch's, and the earlier epoch file is gone.
	x := gometric.Matrix{Rows: test.Len(), Cols: 8, Data: test.Data()}
	a, _ := enc.Embed(x)
	for _, name := range []string{EpochFile(2), CheckpointFile} {
		loaded, err := models.LoadEncoder(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := loaded.Embed(x)
		bestIs2 := rows[2].Metrics[PrimaryMetric].Scalar > rows[1].Metrics[PrimaryMetric].Scalar
		if same := slices.Equal(a.Data, b.Data); same != (name == EpochFile(2) || bestIs2) {
			t.Errorf("%s: same embeddings as the final encoder %v (best is epoch 2: %v)", name, same, bestIs2)
		}
	}
	if _, err := os.Stat(filepath.Join(out, EpochFile(1))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s is kept: %v", EpochFile(1), err)
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left", e.Name())
		}
	}
}

func TestWriteOutputs(t *testing.T) {
	dir := t.TempDir()
	res := func(p, r, m float64) accuracy.Results {
		return accuracy.Results{
			accuracy.NamePrecisionAt1:            {Scalar: p},
			accuracy.NameRPrecision:              {Scalar: r},
			accuracy.NameMeanAveragePrecisionAtR: {Scalar: m},
		}
	}
	lone := res(math.NaN(), 0.25, 0.125)
	lone[accuracy.NamePrecisionAt1] = accuracy.Value{Scalar: math.NaN(), Warnings: []string{"every query is lone"}}
	rows := []Row{
		{Epoch: 0, Metrics: lone, EvalSeconds: 1.5},
		{Epoch: 1, Train: &trainers.EpochInfo{Epoch: 1, Iterations: 10, IterationsPerEpoch: 10, LossMean: 0.75, LossLast: 0.5, MeanPosPairs: 3, Duration: 2 * time.Second}, Metrics: res(0.75, 0.5, 0.375), EvalSeconds: 1},
	}
	if err := WriteCSV(filepath.Join(dir, "r.csv"), rows); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "r.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(CSVHeader, ",") + "\n" +
		"0,0,,,,,,,NaN,0.25,0.125,,1.500,precision_at_1: every query is lone\n" +
		"1,10,0.75,0.5,0,3,0,0,0.75,0.5,0.375,2.000,1.000,\n"
	if string(b) != want {
		t.Errorf("CSV\n%s\nwant\n%s", b, want)
	}
	if got := rows[1].Line(); got != "epoch 1  loss 0.7500  P@1 0.7500  R-Precision 0.5000  MAP@R 0.3750  (train 2.0 s, eval 1.0 s)" {
		t.Errorf("line %q", got)
	}
	if got := rows[0].Line(); got != "epoch 0  P@1 NaN  R-Precision 0.2500  MAP@R 0.1250  (eval 1.5 s)\n  warning: precision_at_1: every query is lone" {
		t.Errorf("line %q", got)
	}
	for _, rs := range [][]Row{rows, rows[:1], nil} {
		if err := WritePNG(filepath.Join(dir, "r.png"), rs); err != nil {
			t.Fatal(err)
		}
	}
	// An unwritable directory is an error, not a panic.
	if err := WriteCSV(filepath.Join(dir, "missing", "r.csv"), rows); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}
