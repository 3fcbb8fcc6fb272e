package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/models"
)

// writeFeatureFile writes 80 labelled 6-dimensional features (8 classes).
func writeFeatureFile(t *testing.T) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	var data []float32
	var labels []int
	for i := 0; i < 80; i++ {
		c := i % 8
		for j := 0; j < 6; j++ {
			v := rng.NormFloat64()
			if j == c%6 {
				v += 3
			}
			data = append(data, float32(v))
		}
		labels = append(labels, c+1)
	}
	f, err := datasets.NewFeatures(6, data, labels)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "feats.bin")
	var buf bytes.Buffer
	if err := f.WriteBinary(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestFeaturesDropout: -dropout makes the MLP head's dropout, and a run
// resumed after its first epoch ends with the checkpoint, byte for byte,
// of an uninterrupted run (the weight file keeps the masks' step count).
func TestFeaturesDropout(t *testing.T) {
	feats := writeFeatureFile(t)
	args := func(out string, extra ...string) []string {
		return append([]string{"-features", feats, "-hidden", "12", "-dropout", "0.5", "-embedding", "4", "-batch", "8", "-m", "2",
			"-out", out, "-quiet"}, extra...)
	}
	whole, split := t.TempDir(), t.TempDir()
	runOK(t, context.Background(), args(whole, "-epochs", "3"))
	enc := checkOutputs(t, whole)
	if m, ok := enc.(*models.MLP); !ok || m.Config().Dropout != 0.5 || len(m.Config().Sizes) != 3 {
		t.Fatalf("checkpoint %T %+v", enc, enc)
	}
	runOK(t, context.Background(), args(split, "-epochs", "1"))
	got := runOK(t, context.Background(), args(split, "-epochs", "3", "-resume"))
	if !strings.Contains(got, "-resume: continuing after epoch 1") {
		t.Fatalf("not resumed:\n%s", got)
	}
	a := mustRead(t, filepath.Join(whole, runner.CheckpointFile))
	b := mustRead(t, filepath.Join(split, runner.CheckpointFile))
	if !bytes.Contains(a, []byte(`"dropout_steps":`)) {
		t.Fatalf("the checkpoint has no step count: %q", a[:160])
	}
	if !bytes.Equal(a, b) {
		t.Fatal("the resumed run's checkpoint differs from the uninterrupted run's")
	}
}

func TestDropoutErrors(t *testing.T) {
	root := writeCUB(t, t.TempDir(), []int{1, 101}, 2)
	feats := writeFeatureFile(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-features", feats, "-dropout", "0.5"}, "-dropout 0.5: the dropout of an MLP head's hidden layers"},
		{[]string{"-data", root, "-hidden", "4", "-dropout", "0.5"}, "-dropout 0.5: the dropout"},
		{[]string{"-data", root, "-freeze-trunk", "-embedder", "4", "-dropout", "0.5"}, "-dropout 0.5: the dropout"},
		{[]string{"-features", feats, "-hidden", "4", "-dropout", "1"}, "-dropout 1: want p in [0, 1)"},
		{[]string{"-features", feats, "-hidden", "4", "-dropout", "-0.1"}, "-dropout -0.1: want"},
		{[]string{"-features", feats, "-hidden", "4", "-dropout", "NaN"}, "-dropout NaN: want"},
		{[]string{"-features", feats, "-hidden", "4", "-dropout", "x"}, "-dropout"},
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
