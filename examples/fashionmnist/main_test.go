package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/models"
)

// epochLine is the form of the quick-start's result line.
var epochLine = regexp.MustCompile(`(?m)^epoch 1  loss \d+\.\d{4}  P@1 [01]\.\d{4}  R-Precision [01]\.\d{4}  MAP@R ([01]\.\d{4})  \(train \d+\.\d s, eval \d+\.\d s\)$`)

// TestQuickStartOnSample runs the program's logic for a couple of
// iterations on the embedded sample (the -data directory is absent).
func TestQuickStartOnSample(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	missing := filepath.Join(t.TempDir(), "no-fashion-mnist")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-data", missing, "-iters", "2", "-epochs", "2", "-out", out}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	got := stdout.String()
	t.Log(got)
	if !strings.Contains(got, datasets.FashionMNISTSampleNotice(missing)) || !strings.Contains(got, "apt-get install dataset-fashion-mnist") {
		t.Errorf("no notice about the embedded sample in\n%s", got)
	}
	if !strings.Contains(got, "2000 training images (10 classes), 1000 test images (10 classes)") {
		t.Errorf("the sample's sizes are not reported:\n%s", got)
	}
	if !regexp.MustCompile(`(?m)^epoch 0  P@1 [01]\.\d{4}  R-Precision [01]\.\d{4}  MAP@R [01]\.\d{4}  \(eval \d+\.\d s\)$`).MatchString(got) {
		t.Errorf("no epoch 0 line in\n%s", got)
	}
	if !epochLine.MatchString(got) {
		t.Errorf("no line of the form `epoch 1 ... MAP@R 0.xxxx` in\n%s", got)
	}
	if !strings.Contains(got, "epoch 2  loss") {
		t.Errorf("no epoch 2 line in\n%s", got)
	}
	if !strings.Contains(stderr.String(), "it/s") {
		t.Errorf("no progress bar on stderr:\n%s", stderr.String())
	}
	csvData, err := os.ReadFile(filepath.Join(out, runner.CSVFile))
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(string(csvData)), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[3], "2,2,") {
		t.Errorf("CSV:\n%s", csvData)
	}
	f, err := os.Open(filepath.Join(out, runner.PNGFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("PNG: %v", err)
	}
	enc, err := models.LoadEncoder(filepath.Join(out, runner.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	cn, ok := enc.(*models.ConvNet)
	if !ok {
		t.Fatalf("checkpoint holds a %T", enc)
	}
	if cfg := cn.Config(); cfg.Embedding != 64 || len(cfg.Blocks) != 2 || cfg.Blocks[0] != 16 || cfg.Blocks[1] != 32 {
		t.Errorf("checkpoint architecture %+v, want the reference ConvNet", cfg)
	}
}

// TestClassDisjointRun trains on classes 0-4 and evaluates on 5-9.
func TestClassDisjointRun(t *testing.T) {
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"-data", t.TempDir(), "-iters", "1", "-out", t.TempDir(), "-quiet",
		"-train-classes", "0-4", "-test-classes", "5-9", "-batch", "40"}, &stdout, &stdout)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "1000 training images (classes [0 1 2 3 4]), 500 test images (classes [5 6 7 8 9])") {
		t.Errorf("output:\n%s", stdout.String())
	}
	if !epochLine.MatchString(stdout.String()) {
		t.Errorf("no epoch 1 line in\n%s", stdout.String())
	}
}

// notifyWriter calls f once, the first time the output contains s.
type notifyWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	s    string
	f    func()
	done bool
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if !w.done && strings.Contains(w.buf.String(), w.s) {
		w.done = true
		w.f()
	}
	return n, err
}

// TestInterrupt cancels the run (as Ctrl-C does) once training starts:
// the program stops and saves the current weights; no checkpoint is
// written for an encoder that was never trained.
func TestInterrupt(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &notifyWriter{s: "epoch 0 ", f: cancel}
	err := run(ctx, []string{"-data", t.TempDir(), "-out", out, "-quiet"}, w, w)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled\n%s", err, w.buf.String())
	}
	if !strings.Contains(w.buf.String(), "interrupted in epoch 1 after 0 iterations") {
		t.Errorf("output:\n%s", w.buf.String())
	}
	if _, err := models.LoadEncoder(filepath.Join(out, runner.InterruptedFile)); err != nil {
		t.Errorf("%s: %v", runner.InterruptedFile, err)
	}
	if _, err := os.Stat(filepath.Join(out, runner.CheckpointFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s written for an untrained encoder: %v", runner.CheckpointFile, err)
	}
	if _, err := os.Stat(filepath.Join(out, runner.CSVFile)); err != nil {
		t.Error(err)
	}
}

// TestEmbedderOnSample runs the issue's -embedder 32 end to end on the
// embedded sample with a schedule, evaluation every other epoch and
// patience: the trunk and the embedder are checkpointed, and the epoch
// metrics are printed for the evaluated epochs.
func TestEmbedderOnSample(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"-data", t.TempDir(), "-iters", "2", "-epochs", "3", "-out", out, "-quiet",
		"-embedder", "32", "-lr-schedule", "step:1:0.5", "-val-every", "2", "-patience", "5"}, &stdout, &stdout)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	got := stdout.String()
	for _, want := range []string{"embedder Linear(64, 32)", "lr schedule step:1:0.5 on each of the 2 optimizer(s)",
		"evaluated every 2 epochs", "epoch 1  loss", "not evaluated", "epoch 2  loss", "epoch 3  loss"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
	if !regexp.MustCompile(`(?m)^epoch 3  loss \d+\.\d{4}  P@1 [01]\.\d{4}  R-Precision [01]\.\d{4}  MAP@R [01]\.\d{4}  \(train`).MatchString(got) {
		t.Errorf("no evaluated epoch 3 line in\n%s", got)
	}
	trunk, err := models.LoadEncoder(filepath.Join(out, runner.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	emb, err := models.LoadEncoder(filepath.Join(out, runner.CheckpointEmbedderFile))
	if err != nil {
		t.Fatal(err)
	}
	if trunk.EmbeddingSize() != 64 || emb.EmbeddingSize() != 32 {
		t.Errorf("checkpoint: trunk → %d, embedder → %d; want 64 and 32", trunk.EmbeddingSize(), emb.EmbeddingSize())
	}
	// -resume continues it (the schedulers' and the embedder's states are
	// read back).
	stdout.Reset()
	err = run(context.Background(), []string{"-data", t.TempDir(), "-iters", "2", "-epochs", "4", "-out", out, "-quiet",
		"-embedder", "32", "-lr-schedule", "step:1:0.5", "-val-every", "2", "-patience", "5", "-resume"}, &stdout, &stdout)
	if err != nil || !strings.Contains(stdout.String(), "-resume: continuing after epoch 3") || !strings.Contains(stdout.String(), "epoch 4  loss") {
		t.Errorf("resume: %v\n%s", err, stdout.String())
	}
}

func TestBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-loss", "nosuchloss"}, "valid names: angular, arcface, circle, contrastive"},
		{[]string{"-miner", "nosuchminer"}, "valid names: angular, batcheasyhard"},
		{[]string{"-loss", "fastap", "-miner", "batchhard", "-epochs", "0"}, ""},
		{[]string{"-loss", "pnp"}, "use -miner none"},
		{[]string{"-batch", "0"}, "-batch"},
		{[]string{"-batch", "60"}, "multiple of -m"},
		{[]string{"-lr", "-1"}, "-lr"},
		{[]string{"-epochs", "-1"}, "-epochs"},
		{[]string{"-seed", "x"}, "invalid value"},
		{[]string{"-nosuchflag"}, "not defined"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"-train-classes", "a-b"}, "-train-classes"},
		{[]string{"-test-classes", "3-1"}, "-test-classes"},
		{[]string{"-data", "/nonexistent", "-train-classes", "12"}, "class 12"},
		{[]string{"-embedder", "-1"}, "-embedder -1"},
		{[]string{"-embedder", "x"}, "invalid value"},
		{[]string{"-lr-schedule", "step:0:0.1"}, `-lr-schedule "step:0:0.1"`},
		{[]string{"-lr-schedule", "cosine:3"}, "not a schedule"},
		{[]string{"-patience", "-2"}, "-patience"},
		{[]string{"-val-every", "0"}, "-val-every 0"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-out", t.TempDir(), "-quiet", "-iters", "1", "-data", t.TempDir()}, tc.args...)
			err := run(context.Background(), args, &stdout, &stderr)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; output\n%s", stdout.String())
			}
			if msg := err.Error() + stderr.String(); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q (stderr %q) does not mention %q", err, stderr.String(), tc.want)
			}
		})
	}
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &stderr, &stderr); !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-train-classes") {
		t.Errorf("-h: %v\n%s", err, stderr.String())
	}
}
