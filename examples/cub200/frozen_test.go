package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/extract"
)

// frozenArgs are the flags of a quick -freeze-trunk run on the fixture.
func frozenArgs(root, out string, extra ...string) []string {
	return append([]string{"-data", root, "-freeze-trunk", "-size", "16", "-blocks", "4,8", "-embedding", "8",
		"-batch", "8", "-m", "4", "-iters", "2", "-eval-batch", "2", "-chunk", "2", "-out", out, "-quiet"}, extra...)
}

func runOK(t *testing.T, ctx context.Context, args []string) string {
	t.Helper()
	var stdout bytes.Buffer
	if err := run(ctx, args, &stdout, &stdout); err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	return stdout.String()
}

func TestFreezeTrunk(t *testing.T) {
	root := writeCUB(t, t.TempDir(), []int{1, 2, 3, 101, 102, 103}, 4)
	out := t.TempDir()
	got := runOK(t, context.Background(), frozenArgs(root, out, "-embedder", "4", "-hidden", "6", "-epochs", "1"))
	for _, want := range []string{
		"frozen trunk convnet: 8 features of 3×16×16 images (Resize(size=18",
		trainFeatures + ": extracted 12 × 8 features",
		testFeatures + ": extracted 12 × 8 features",
		"12 training samples (3 classes), 12 test samples (3 classes)",
		"embedder [8 6 4] trained on the cached features",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if !epochLine.MatchString(got) {
		t.Errorf("no epoch line:\n%s", got)
	}
	enc := checkOutputs(t, out)
	if m, ok := enc.(*models.MLP); !ok || len(m.Config().Sizes) != 3 || m.Config().Sizes[0] != 8 {
		t.Errorf("checkpoint %T %+v", enc, enc)
	}
	feats := map[string][]byte{}
	for _, f := range []string{trainFeatures, testFeatures} {
		feats[f] = mustRead(t, filepath.Join(out, f))
		if _, err := os.Stat(filepath.Join(out, f+extract.PartialSuffix)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: partial file left", f)
		}
	}

	// -resume reuses the caches and trains one more epoch.
	got = runOK(t, context.Background(), frozenArgs(root, out, "-embedder", "4", "-hidden", "6", "-epochs", "2", "-resume"))
	for _, f := range []string{trainFeatures, testFeatures} {
		if !strings.Contains(got, f+": reused, not extracted again (12 × 8 features") {
			t.Errorf("%s not reused:\n%s", f, got)
		}
		if !bytes.Equal(mustRead(t, filepath.Join(out, f)), feats[f]) {
			t.Errorf("%s changed", f)
		}
	}
	if !strings.Contains(got, "-resume: continuing after epoch 1") {
		t.Errorf("not resumed:\n%s", got)
	}

	// A fresh -out with the caches copied: reused too, and -embedder 0
	// -epochs 0 evaluates the trunk's features.
	out2 := t.TempDir()
	for f, b := range feats {
		if err := os.WriteFile(filepath.Join(out2, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got = runOK(t, context.Background(), frozenArgs(root, out2, "-embedder", "0", "-epochs", "0"))
	if !strings.Contains(got, testFeatures+": reused") || !strings.Contains(got, "no embedder (-embedder 0)") ||
		!regexp.MustCompile(`(?m)^epoch 0  P@1 [01]\.\d{4}  R-Precision [01]\.\d{4}  MAP@R [01]\.\d{4}  \(eval \d+\.\d s\)$`).MatchString(got) {
		t.Errorf("output:\n%s", got)
	}
	rows, err := runner.ReadCSV(filepath.Join(out2, runner.CSVFile))
	if err != nil || len(rows) != 1 || rows[0].Epoch != 0 {
		t.Errorf("record: %v %+v", err, rows)
	}

	// Another trunk (another -seed) does not match the caches.
	var stdout bytes.Buffer
	err = run(context.Background(), frozenArgs(root, out2, "-embedder", "0", "-epochs", "0", "-seed", "5"), &stdout, &stdout)
	if !errors.Is(err, extract.ErrMismatch) {
		t.Errorf("another trunk: err = %v, want a mismatch", err)
	}
	// -overwrite extracts them again.
	got = runOK(t, context.Background(), frozenArgs(root, out2, "-embedder", "0", "-epochs", "0", "-seed", "5", "-overwrite"))
	if !strings.Contains(got, trainFeatures+": extracted") {
		t.Errorf("-overwrite did not extract again:\n%s", got)
	}
}

// TestTrunkMetrics: -embedder 0 -epochs 0 gives the metrics of the trunk
// evaluated on the test images under the evaluation transform.
func TestTrunkMetrics(t *testing.T) {
	root := writeCUB(t, t.TempDir(), []int{1, 2, 3, 101, 102, 103}, 4)
	weights := filepath.Join(t.TempDir(), "trunk.gmw")
	cn, err := models.NewConvNet(models.ConvNetConfig{Channels: 3, Height: 16, Width: 16, Blocks: []int{4}, Embedding: 6, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	if err := cn.Save(weights); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	got := runOK(t, context.Background(), frozenArgs(root, out, "-embedder", "0", "-epochs", "0", "-weights", weights))
	// The same numbers from the tester on the transformed images.
	test, err := datasets.NewCUB(root, datasets.SplitTest)
	if err != nil {
		t.Fatal(err)
	}
	test.Width, test.Height, test.Transform = 16, 16, datasets.EvalTransform(16, 18)
	r := &runner.Run{Options: runner.Defaults(), Test: test, Stdout: &bytes.Buffer{}}
	r.Out, r.Quiet = t.TempDir(), true
	row, err := r.Evaluate(context.Background(), cn)
	if err != nil {
		t.Fatal(err)
	}
	line := row.Line()
	line = line[:strings.Index(line, "  (eval")]
	if !strings.Contains(got, line) || !strings.Contains(got, "6 features of 3×16×16") {
		t.Errorf("output lacks %q:\n%s", line, got)
	}
}

// countdown is a context whose Err reports cancellation from its n-th
// call on: it stops a run at a reproducible point.
type countdown struct {
	context.Context
	mu   sync.Mutex
	n    int
	done chan struct{}
}

func newCountdown(n int) *countdown {
	return &countdown{Context: context.Background(), n: n, done: make(chan struct{})}
}

func (c *countdown) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n > 0 {
		c.n--
		if c.n == 0 {
			close(c.done)
		}
	}
	if c.n == 0 {
		return context.Canceled
	}
	return nil
}

func (c *countdown) Done() <-chan struct{} { return c.done }

func (c *countdown) Deadline() (time.Time, bool) { return time.Time{}, false }

// TestCancelExtraction stops the extraction at successive points: a
// partial file is left that the next run continues, and the caches equal
// an uninterrupted run's bytes.
func TestCancelExtraction(t *testing.T) {
	root := writeCUB(t, t.TempDir(), []int{1, 2, 3, 101, 102, 103}, 4)
	ref := t.TempDir()
	runOK(t, context.Background(), frozenArgs(root, ref, "-embedder", "0", "-epochs", "0"))
	partials := 0
	for n := 1; n < 60; n++ {
		out := t.TempDir()
		var stdout bytes.Buffer
		err := run(newCountdown(n), frozenArgs(root, out, "-embedder", "0", "-epochs", "0"), &stdout, &stdout)
		if err == nil {
			break
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("n=%d: %v", n, err)
		}
		resumed := false
		for _, f := range []string{trainFeatures, testFeatures} {
			if _, err := os.Stat(filepath.Join(out, f+extract.PartialSuffix)); err == nil {
				partials++
				resumed = true
			}
		}
		got := runOK(t, context.Background(), frozenArgs(root, out, "-embedder", "0", "-epochs", "0"))
		if resumed && !strings.Contains(got, ": resumed after sample") {
			t.Errorf("n=%d: a partial file was left but not continued:\n%s", n, got)
		}
		for _, f := range []string{trainFeatures, testFeatures} {
			if !bytes.Equal(mustRead(t, filepath.Join(out, f)), mustRead(t, filepath.Join(ref, f))) {
				t.Errorf("n=%d: %s differs from an uninterrupted run's", n, f)
			}
		}
	}
	if partials == 0 {
		t.Errorf("no cancellation left a partial file")
	}
	t.Logf("%d cancelled runs left a partial file", partials)
}

func TestFrozenErrors(t *testing.T) {
	root := writeCUB(t, t.TempDir(), []int{1, 101}, 2)
	gmw := filepath.Join(t.TempDir(), "mlp.gmw")
	m, err := models.NewMLP(models.MLPConfig{Sizes: []int{3, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Save(gmw); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-data", root, "-freeze-trunk", "-epochs", "1"}, "nothing to train"},
		{[]string{"-data", root, "-freeze-trunk", "-epochs", "0", "-hidden", "4"}, "-hidden"},
		{[]string{"-data", root, "-freeze-trunk", "-embedder", "4", "-trunk", "vgg"}, "-trunk \"vgg\""},
		{[]string{"-data", root, "-freeze-trunk", "-embedder", "4", "-chunk", "0"}, "-chunk"},
		{[]string{"-data", root, "-freeze-trunk", "-embedder", "4", "-weights", gmw}, "not a ConvNet"},
		{[]string{"-data", root, "-freeze-trunk", "-embedder", "4", "-weights", "missing.gmw"}, "missing.gmw"},
		{[]string{"-data", root, "-weights", gmw}, "for -freeze-trunk"},
		{[]string{"-features", "x.gmfeats", "-freeze-trunk"}, "choose one"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout bytes.Buffer
			err := run(context.Background(), append([]string{"-out", t.TempDir(), "-quiet"}, tc.args...), &stdout, &stdout)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
