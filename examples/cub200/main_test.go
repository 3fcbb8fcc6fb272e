package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/models"
)

// writeCUB writes a small tree in CUB-200-2011's layout under
// parent/CUB_200_2011: perClass noisy JPEGs of one colour per class.
func writeCUB(t *testing.T, parent string, classes []int, perClass int) string {
	t.Helper()
	dir := filepath.Join(parent, datasets.CUBDirName)
	rng := rand.New(rand.NewPCG(1, 2))
	var images []testkit.CUBImage
	id := 0
	for _, c := range classes {
		base := color.RGBA{uint8(c * 37), uint8(255 - c*23), uint8(c * 71), 255}
		for k := 0; k < perClass; k++ {
			id++
			m := image.NewRGBA(image.Rect(0, 0, 24, 20))
			for i := 0; i < len(m.Pix); i += 4 {
				n := func(v uint8) uint8 { return uint8(max(0, min(255, int(v)+rng.IntN(41)-20))) }
				m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = n(base.R), n(base.G), n(base.B), 255
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, m, nil); err != nil {
				t.Fatal(err)
			}
			rel := fmt.Sprintf("%s/Bird_%d_%04d.jpg", testkit.CUBClassDir(c), c, k)
			images = append(images, testkit.CUBImage{ID: id, Class: c, Rel: rel, JPEG: buf.Bytes()})
		}
	}
	testkit.WriteCUB(t, dir, images, false)
	return dir
}

var epochLine = regexp.MustCompile(`(?m)^epoch 1  loss \d+\.\d{4}  P@1 [01]\.\d{4}  R-Precision [01]\.\d{4}  MAP@R [01]\.\d{4}  \(train \d+\.\d s, eval \d+\.\d s\)$`)

func checkOutputs(t *testing.T, out string) models.Encoder {
	t.Helper()
	for _, f := range []string{runner.CSVFile, runner.PNGFile} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	enc, err := models.LoadEncoder(filepath.Join(out, runner.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

func TestImages(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		want  string
	}{
		{"PML split", nil, "12 training samples (3 classes), 12 test samples (3 classes)"},
		{"classes", []string{"-train-classes", "1,2", "-test-classes", "3,101"}, "8 training samples (2 classes), 8 test samples (2 classes)"},
		{"on demand", []string{"-preload=false"}, "12 training samples (3 classes)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := writeCUB(t, t.TempDir(), []int{1, 2, 3, 101, 102, 103}, 4)
			out := t.TempDir()
			var stdout bytes.Buffer
			args := append([]string{"-data", root, "-size", "16", "-blocks", "4,8", "-embedding", "8", "-batch", "8", "-m", "4",
				"-epochs", "1", "-iters", "2", "-out", out, "-quiet"}, tc.extra...)
			if err := run(context.Background(), args, &stdout, &stdout); err != nil {
				t.Fatalf("%v\n%s", err, stdout.String())
			}
			if !strings.Contains(stdout.String(), tc.want) || !epochLine.MatchString(stdout.String()) {
				t.Errorf("output:\n%s", stdout.String())
			}
			enc := checkOutputs(t, out)
			cn, ok := enc.(*models.ConvNet)
			if !ok || cn.Config().Height != 16 || cn.Config().Channels != 3 || cn.Config().Embedding != 8 {
				t.Errorf("checkpoint %T %+v", enc, enc)
			}
		})
	}
}

func TestFeatures(t *testing.T) {
	path := writeFeatureFile(t)
	out := t.TempDir()
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"-features", path, "-hidden", "12", "-embedding", "4", "-batch", "8", "-m", "2",
		"-epochs", "2", "-out", out, "-quiet"}, &stdout, &stdout)
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout.String())
	}
	if !strings.Contains(stdout.String(), "40 training samples (4 classes), 40 test samples (4 classes)") || !epochLine.MatchString(stdout.String()) {
		t.Errorf("output:\n%s", stdout.String())
	}
	enc := checkOutputs(t, out)
	if m, ok := enc.(*models.MLP); !ok || fmt.Sprint(m.Config().Sizes) != "[6 12 4]" {
		t.Errorf("checkpoint %T %+v", enc, enc)
	}
}

func TestErrors(t *testing.T) {
	root := writeCUB(t, t.TempDir(), []int{1, 101}, 2)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "-data is required"},
		{[]string{"-data", filepath.Join(t.TempDir(), "nothing")}, "images.txt"},
		{[]string{"-data", root, "-features", "x"}, "exclude each other"},
		{[]string{"-data", root, "-blocks", "a,b"}, "-blocks"},
		{[]string{"-data", root, "-size", "4", "-blocks", "8,8,8"}, "too small"},
		{[]string{"-data", root, "-embedding", "0"}, "-embedding"},
		{[]string{"-data", root, "-train-classes", "x"}, "-train-classes"},
		{[]string{"-features", filepath.Join(t.TempDir(), "missing.bin")}, "missing.bin"},
		{[]string{"-loss", "nope"}, "valid names"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-out", t.TempDir(), "-quiet"}, tc.args...)
			err := run(context.Background(), args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
