package runner

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/testers"
)

// TestTrainEvalEmbed is the gometric command's flow on an image folder:
// train, evaluate the checkpoint (the evaluation matches the run's), embed
// the test split (reused the second time), embed the same images as
// uploads (the same rows), train a head on the features.
func TestTrainEvalEmbed(t *testing.T) {
	root := writeFolder(t, []string{"a", "b", "c", "d"}, 3)
	out := t.TempDir()
	f := &ImageFlags{Data: root, Size: 8, Blocks: "4", Embedding: 6, Preload: true}
	o := Defaults()
	o.Batch, o.M, o.Iterations, o.Out, o.Quiet = 4, 2, 2, out, true
	var stdout bytes.Buffer
	if err := TrainData(context.Background(), KindFolder, f, nil, 0, o, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	rows, err := ReadCSV(filepath.Join(out, CSVFile))
	if err != nil || len(rows) != 2 {
		t.Fatalf("%v %v", rows, err)
	}
	mf := &ModelFlags{Weights: filepath.Join(out, CheckpointFile)}
	evalOut, scatter := t.TempDir(), filepath.Join(t.TempDir(), "plots")
	eo := Defaults()
	eo.Out, eo.Quiet = evalOut, true
	row, err := EvaluateModel(context.Background(), KindFolder, f, mf, eo, SplitTest, scatter, &stdout, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	best := rows[0]
	if rows[1].Metrics[PrimaryMetric].Scalar > best.Metrics[PrimaryMetric].Scalar {
		best = rows[1]
	}
	for _, m := range Metrics {
		if g, w := row.Metrics[m.Name].Scalar, best.Metrics[m.Name].Scalar; math.Abs(g-w) > 1e-9 {
			t.Errorf("%s: eval %v, the run's best epoch %v", m.Name, g, w)
		}
	}
	if _, err := os.Stat(filepath.Join(scatter, "test_PCA_level0.png")); err != nil {
		t.Error(err)
	}

	feats := filepath.Join(t.TempDir(), "test.gmfeats")
	var log bytes.Buffer
	x, err := EmbedData(context.Background(), KindFolder, f, mf, SplitTest, feats, EmbedOptions{BatchSize: 2}, &log, nil)
	if err != nil {
		t.Fatal(err)
	}
	if x.Len() != 6 || x.Dim() != 6 || !strings.Contains(log.String(), "extracted 6 × 6") {
		t.Fatalf("%d × %d: %s", x.Len(), x.Dim(), log.String())
	}
	log.Reset()
	if _, err := EmbedData(context.Background(), KindFolder, f, mf, SplitTest, feats, EmbedOptions{BatchSize: 2}, &log, nil); err != nil || !strings.Contains(log.String(), "reused") {
		t.Fatalf("second run: %v %s", err, log.String())
	}

	// Every image (-split all): both halves in one file.
	allPath := filepath.Join(t.TempDir(), "all.gmfeats")
	if all, err := EmbedData(context.Background(), KindFolder, f, mf, SplitAll, allPath, EmbedOptions{}, io.Discard, nil); err != nil || all.Len() != 12 || all.Labels()[11] != 3 {
		t.Fatalf("-split all: %v", err)
	}
	if _, _, err := Dataset(context.Background(), KindFashionMNIST, f, &Model{Trunk: newMLP(t)}, SplitAll, nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("-split all of fashionmnist: %v", err)
	}

	// The same images uploaded: the same embeddings.
	model, err := mf.Open()
	if err != nil {
		t.Fatal(err)
	}
	ds, _, err := Dataset(context.Background(), KindFolder, f, model, SplitTest, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uploads [][]byte
	for _, p := range ds.(*datasets.ImageFiles).Paths() {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		uploads = append(uploads, b)
	}
	up, err := model.EmbedImages(uploads, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(up.Data, x.Data()) {
		t.Errorf("uploaded images embed to\n%v\nthe data set's rows to\n%v", up.Data, x.Data())
	}
	if _, err := model.EmbedImages([][]byte{[]byte("not an image")}, 0); !errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("not an image: %v", err)
	}
	if _, err := model.EmbedImages(nil, 0); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("no images: %v", err)
	}

	// A head trained on the features (classes 0-2 of the file).
	ff := &ImageFlags{Data: feats, Embedding: 3}
	ho := Defaults()
	ho.Batch, ho.M, ho.Iterations, ho.Out, ho.Quiet = 2, 2, 1, t.TempDir(), true
	stdout.Reset()
	if err := TrainData(context.Background(), KindFeatures, ff, []int{5}, 0.1, ho, &stdout, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "feature file: 3 training samples") {
		t.Errorf("%s", stdout.String())
	}
	// That head on the images is refused: it takes features.
	hf := &ModelFlags{Weights: filepath.Join(ho.Out, CheckpointFile), EmbedderWeights: "none"}
	hm, err := hf.Open()
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Dataset(context.Background(), KindFolder, f, hm, SplitTest, nil); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("an MLP on images: %v", err)
	}
	if _, err := hm.EmbedImages(uploads, 0); !errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("an MLP on uploads: %v", err)
	}
}

func TestOpenDataAndEncoders(t *testing.T) {
	train, test, notice, err := OpenData(context.Background(), KindFashionMNIST, &ImageFlags{Data: filepath.Join(t.TempDir(), "none"), TrainClasses: "0-4", TestClasses: "5-9"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if notice == "" || train.Len() == 0 || test.Len() == 0 || train.Labels()[0] > 4 || test.Labels()[0] < 5 {
		t.Errorf("sample: %q, %d, %d", notice, train.Len(), test.Len())
	}
	if enc, err := NewEncoder(KindFashionMNIST, &ImageFlags{}, 0, nil, 0, 1); err != nil || !reflect.DeepEqual(enc.InputShape(), train.SampleShape()) {
		t.Errorf("fashionmnist encoder: %v", err)
	}
	bad := []struct {
		name string
		err  error
		want string
	}{
		{"kind", func() error { _, _, _, err := OpenData(context.Background(), "mnist", &ImageFlags{}, nil); return err }(), `unknown data set`},
		{"no kind", func() error { _, _, _, err := OpenData(context.Background(), "", &ImageFlags{}, nil); return err }(), `-dataset is required`},
		{"nil flags", func() error { _, _, _, err := OpenData(context.Background(), KindFolder, nil, nil); return err }(), `nil`},
		{"class", func() error {
			_, _, _, err := OpenData(context.Background(), KindFashionMNIST, &ImageFlags{TrainClasses: "10"}, nil)
			return err
		}(), `class 10`},
		{"features without data", func() error {
			_, _, _, err := OpenData(context.Background(), KindFeatures, &ImageFlags{}, nil)
			return err
		}(), `-data is required`},
		{"features file", func() error {
			_, _, _, err := OpenData(context.Background(), KindFeatures, &ImageFlags{Data: "/nonexistent.gmfeats"}, nil)
			return err
		}(), `nonexistent`},
		{"hidden", func() error { _, err := NewEncoder(KindFolder, &ImageFlags{}, 0, []int{3}, 0, 0); return err }(), `-hidden`},
		{"dropout", func() error {
			_, err := NewEncoder(KindFeatures, &ImageFlags{Embedding: 2}, 4, nil, 0.5, 0)
			return err
		}(), `give -hidden`},
		{"dropout range", func() error {
			_, err := NewEncoder(KindFeatures, &ImageFlags{Embedding: 2}, 4, []int{2}, 1, 0)
			return err
		}(), `[0, 1)`},
		{"embedding", func() error { _, err := NewEncoder(KindFeatures, &ImageFlags{}, 4, nil, 0, 0); return err }(), `-embedding 0`},
		{"no weights", func() error { _, err := (&ModelFlags{}).Open(); return err }(), `-weights is required`},
		{"trunk", func() error { _, err := (&ModelFlags{Weights: "x.pth", Trunk: "convnet"}).Open(); return err }(), `-trunk "convnet"`},
		{"missing weights", func() error { _, err := (&ModelFlags{Weights: "/nonexistent.gmw"}).Open(); return err }(), `nonexistent`},
		{"trunk kind", func() error { _, err := (Trunk{Kind: "vgg"}).Build(nil, 0); return err }(), `-trunk "vgg"`},
		{"trunk key", func() error { _, err := TrunkKey("x", "", nil, nil); return err }(), `nil trunk`},
		{"embed out", func() error {
			_, err := EmbedData(context.Background(), KindFolder, &ImageFlags{}, &ModelFlags{}, SplitTest, "", EmbedOptions{}, nil, nil)
			return err
		}(), `-o is required`},
		{"split", func() error {
			_, _, err := Dataset(context.Background(), KindFolder, &ImageFlags{}, &Model{Trunk: newMLP(t)}, "val", nil)
			return err
		}(), `-split "val"`},
		{"dataset nil model", func() error {
			_, _, err := Dataset(context.Background(), KindFolder, &ImageFlags{}, nil, SplitTest, nil)
			return err
		}(), `missing`},
	}
	for _, tc := range bad {
		if tc.err == nil || !errors.Is(tc.err, gometric.ErrSetting) && !errors.Is(tc.err, os.ErrNotExist) && !errors.Is(tc.err, gometric.ErrShape) || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tc.name, tc.err, tc.want)
		}
	}
	if DataName(KindFashionMNIST) != "Fashion-MNIST" || DataName("x") != "" || DataHelp(KindFeatures) == "" || DataHelp("x") != "" {
		t.Error("names")
	}
}

func newMLP(t *testing.T) models.Encoder {
	t.Helper()
	m, err := models.NewMLP(models.MLPConfig{Sizes: []int{4, 2}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestModelNil: a nil or zero Model and ModelFlags refuse their methods.
func TestModelNil(t *testing.T) {
	var m *Model
	if _, err := m.Embed(gometric.Matrix{}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Embed: %v", err)
	}
	if _, err := (&Model{}).EmbedImages([][]byte{{1}}, 0); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("EmbedImages: %v", err)
	}
	if m.Dim() != 0 {
		t.Error("Dim")
	}
	var mf *ModelFlags
	mf.Register(flag.NewFlagSet("x", flag.ContinueOnError))
	if _, err := mf.Open(); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Open: %v", err)
	}
	var f *ImageFlags
	f.Register(flag.NewFlagSet("x", flag.ContinueOnError), "", "", "")
	var _ testers.Embedder = m
}
