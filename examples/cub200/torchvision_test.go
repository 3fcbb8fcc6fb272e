package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/accuracy"
)

// noisyCUB writes a CUB-layout fixture whose classes differ by a small
// colour shift under strong noise, so that retrieval is far from perfect
// (the metrics then test something).
func noisyCUB(t *testing.T, parent string, classes []int, perClass int) string {
	t.Helper()
	dir := filepath.Join(parent, datasets.CUBDirName)
	rng := rand.New(rand.NewPCG(3, 4))
	var images []testkit.CUBImage
	id := 0
	for _, c := range classes {
		shift := 8 * (c % 7)
		for k := range perClass {
			id++
			m := image.NewRGBA(image.Rect(0, 0, 40, 30))
			for i := 0; i < len(m.Pix); i += 4 {
				n := func(v int) uint8 { return uint8(max(0, min(255, v+rng.IntN(161)-80))) }
				m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = n(100+shift), n(128), n(150-shift), 255
			}
			var buf bytes.Buffer
			if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
				t.Fatal(err)
			}
			rel := fmt.Sprintf("%s/Bird_%d_%04d.jpg", testkit.CUBClassDir(c), c, k)
			images = append(images, testkit.CUBImage{ID: id, Class: c, Rel: rel, JPEG: buf.Bytes()})
		}
	}
	testkit.WriteCUB(t, dir, images, false)
	return dir
}

// The issue's check of the frozen workflow against torch: `-trunk
// resnet18 -weights resnet18.pth -freeze-trunk -embedder 0 -epochs 0` on a
// CUB-layout fixture embeds the test images as torchvision does the same
// weights (scripts/torchvision_cub_embed.py: PIL loading, Resize,
// CenterCrop, Normalize, resnet18 with fc = Identity, eval mode), and so
// prints the P@1 and MAP@R of torch's embeddings (within 0.01; in fact the
// embeddings agree to float32 rounding). It needs the torchvision fixtures
// (GOMETRIC_TORCHVISION_DIR, made by scripts/torchvision_resnet.py; CI
// makes them) and /usr/bin/python3 with torchvision.
func TestTorchvisionTrunkMetrics(t *testing.T) {
	dir := os.Getenv("GOMETRIC_TORCHVISION_DIR")
	if dir == "" {
		t.Skip("GOMETRIC_TORCHVISION_DIR is unset: generate the torchvision fixtures with `/usr/bin/python3 scripts/torchvision_resnet.py DIR` and set it to DIR")
	}
	weights := filepath.Join(dir, "resnet18.pth")
	root := noisyCUB(t, t.TempDir(), []int{1, 2, 101, 102, 103, 104, 105, 106}, 6)
	const side = 64
	ref := filepath.Join(t.TempDir(), "torch.safetensors")
	cmd := exec.Command("/usr/bin/python3", filepath.Join("..", "..", "scripts", "torchvision_cub_embed.py"), root, "18", weights, strconv.Itoa(side), ref)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torchvision: %v\n%s", err, b)
	}
	sd, err := models.ReadStateDict(ref)
	if err != nil {
		t.Fatal(err)
	}
	te, tl := sd["embeddings"], sd["labels"]

	out := t.TempDir()
	got := runOK(t, context.Background(), []string{"-data", root, "-trunk", "resnet18", "-weights", weights, "-trunk-size", strconv.Itoa(side),
		"-freeze-trunk", "-embedder", "0", "-epochs", "0", "-eval-batch", "8", "-out", out, "-quiet"})
	feats, err := datasets.LoadFeatures(filepath.Join(out, testFeatures))
	if err != nil {
		t.Fatal(err)
	}
	labels := make([]int, len(tl.Ints))
	for i, l := range tl.Ints {
		labels[i] = int(l)
	}
	if !slices.Equal(feats.Labels(), labels) || len(te.Shape) != 2 || te.Shape[0] != feats.Len() || te.Shape[1] != feats.Dim() {
		t.Fatalf("gometric's test split (%d × %d, labels %v) is not torch's (%v, labels %v)", feats.Len(), feats.Dim(), feats.Labels(), te.Shape, labels)
	}
	var d, s float64
	for i, v := range feats.Data() {
		d = max(d, math.Abs(float64(v)-float64(te.Data[i])))
		s = max(s, math.Abs(float64(te.Data[i])))
	}
	t.Logf("embeddings of %d test images: max |gometric − torch| = %.3g (largest %.3g)", feats.Len(), d, s)
	if d > 1e-4*s {
		t.Errorf("embeddings differ from torch's by %.3g (largest value %.3g)", d, s)
	}

	// The printed metrics against the same metrics of torch's embeddings
	// (the tester's defaults: L2-normalised, k = max_bin_count).
	m := gometric.Matrix{Rows: te.Shape[0], Cols: te.Shape[1], Data: slices.Clone(te.Data)}
	m.L2Normalize()
	c := &accuracy.Calculator{K: accuracy.KMaxBinCount(), Include: []string{accuracy.NamePrecisionAt1, accuracy.NameMeanAveragePrecisionAtR}}
	want, err := c.SelfAccuracy(m, labels)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^epoch 0  P@1 ([01]\.\d{4})  R-Precision [01]\.\d{4}  MAP@R ([01]\.\d{4})`).FindStringSubmatch(got)
	if line == nil {
		t.Fatalf("no epoch-0 line:\n%s", got)
	}
	for i, name := range []string{accuracy.NamePrecisionAt1, accuracy.NameMeanAveragePrecisionAtR} {
		g, _ := strconv.ParseFloat(line[i+1], 64)
		w := want[name].Scalar
		t.Logf("%s: gometric %.4f, torch's embeddings %.4f", name, g, w)
		if math.Abs(g-w) > 0.01 {
			t.Errorf("%s: gometric %.4f, torch's embeddings %.4f", name, g, w)
		}
	}
}
