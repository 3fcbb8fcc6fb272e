package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
)

// -trunk resnet18 runs both of the workflows on the CUB fixture at
// 32×32: the frozen trunk with torchvision weights from a .safetensors
// state dict (the features cached, an embedder trained on them; -embedder
// 0 -epochs 0 evaluates the trunk), and fine-tuning (the ResNet and an
// embedder trained, the ResNet checkpointed and read back by LoadEncoder),
// with BatchNorm frozen or not.
func TestResNetTrunk(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a ResNet-18")
	}
	root := writeCUB(t, t.TempDir(), []int{1, 2, 3, 101, 102, 103}, 4)
	// torchvision-named weights, as a user's file holds them (with an fc
	// the trunk ignores).
	src, err := models.NewResNet(models.ResNetConfig{Depth: 18, NumClasses: 7, Height: 32, Width: 32, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(t.TempDir(), "resnet18.safetensors")
	if err := models.WriteSafetensorsFile(weights, src.StateDict()); err != nil {
		t.Fatal(err)
	}
	common := []string{"-data", root, "-trunk", "resnet18", "-trunk-size", "32", "-batch", "8", "-m", "4", "-iters", "2", "-eval-batch", "4", "-quiet"}
	args := func(out string, extra ...string) []string {
		return append(append(append([]string{}, common...), "-out", out), extra...)
	}

	out := t.TempDir()
	got := runOK(t, context.Background(), args(out, "-freeze-trunk", "-weights", weights, "-embedder", "0", "-epochs", "0"))
	for _, want := range []string{"frozen trunk resnet18: 512 features of 3×32×32 images", "no embedder (-embedder 0)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	got = runOK(t, context.Background(), args(out, "-freeze-trunk", "-weights", weights, "-embedder", "16", "-epochs", "1", "-overwrite"))
	if !strings.Contains(got, "reused, not extracted again") || !epochLine.MatchString(got) {
		t.Errorf("frozen run with an embedder:\n%s", got)
	}

	for _, bn := range []string{"", "-freeze-bn"} {
		out := t.TempDir()
		extra := []string{"-weights", weights, "-trunk-lr", "1e-5", "-lr", "1e-4", "-embedder", "16", "-epochs", "1"}
		if bn != "" {
			extra = append(extra, bn)
		}
		got := runOK(t, context.Background(), args(out, extra...))
		for _, want := range []string{"fine-tuning trunk resnet18 (512 features of 3×32×32 images", "the trunk's Adam at lr 1e-05", "embedder Linear(512, 16)"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: output lacks %q:\n%s", bn, want, got)
			}
		}
		if bn != "" && !strings.Contains(got, "BatchNorm frozen") {
			t.Errorf("-freeze-bn not reported:\n%s", got)
		}
		if !epochLine.MatchString(got) {
			t.Errorf("%s: no epoch line:\n%s", bn, got)
		}
		enc, err := models.LoadEncoder(filepath.Join(out, "checkpoint.gmw"))
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := enc.(*models.ResNet); !ok || r.Config().Depth != 18 || r.EmbeddingSize() != 512 {
			t.Errorf("checkpoint %T", enc)
		}
	}

	// Fine-tuning with augmentation resumes exactly: -epochs 2 against
	// -epochs 1 then -epochs 2 -resume, byte-identical weights.
	whole, split := t.TempDir(), t.TempDir()
	ft := []string{"-weights", weights, "-embedder", "8"}
	runOK(t, context.Background(), args(whole, append(ft, "-epochs", "2")...))
	runOK(t, context.Background(), args(split, append(ft, "-epochs", "1")...))
	got = runOK(t, context.Background(), args(split, append(ft, "-epochs", "2", "-resume")...))
	if !strings.Contains(got, "training RandomResizedCrop(size=(32, 32)") {
		t.Errorf("the training transform is not reported:\n%s", got)
	}
	for _, f := range []string{"epoch-2.gmw", "epoch-2-embedder.gmw", "epoch-2-trunk_optimizer.gms"} {
		if !bytes.Equal(mustRead(t, filepath.Join(whole, f)), mustRead(t, filepath.Join(split, f))) {
			t.Errorf("%s: the resumed run's differs from the uninterrupted run's", f)
		}
	}

	// A state dict of another depth, and -weights with -features.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args(t.TempDir(), "-trunk", "resnet34", "-weights", weights, "-embedder", "8"), "resnet34"},
		{[]string{"-features", weights, "-trunk", "resnet18"}, "-trunk and -weights are for images"},
		{args(t.TempDir(), "-trunk", "resnet19"), `-trunk "resnet19"`},
		{args(t.TempDir(), "-trunk-size", "0", "-embedder", "8"), "-trunk-size 0"},
	} {
		var buf strings.Builder
		err := run(context.Background(), tc.args, &buf, &buf)
		if !errors.Is(err, gometric.ErrSetting) && !errors.Is(err, gometric.ErrShape) || err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want one mentioning %q", tc.args, err, tc.want)
		}
	}
}
