package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
)

// TestImageFlagsNil: every method of a nil *ImageFlags returns an error
// wrapping ErrSetting, and OpenImages and TrainImages refuse a nil one.
func TestImageFlagsNil(t *testing.T) {
	for method, err := range testkit.NilReceiver(t, reflect.TypeFor[*ImageFlags]()) {
		if !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("nil *ImageFlags: %s: %v, want ErrSetting", method, err)
		}
	}
	if _, _, err := OpenImages(context.Background(), KindFolder, nil, nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("OpenImages(nil): %v", err)
	}
	if err := TrainImages(context.Background(), KindFolder, nil, Defaults(), nil, nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("TrainImages(nil): %v", err)
	}
}

func TestImageKinds(t *testing.T) {
	want := []string{KindCUB200, KindCars196, KindSOP, KindINaturalist2018, KindFolder}
	if got := ImageKinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("ImageKinds() = %v", got)
	}
	for _, k := range want {
		if ImageName(k) == "" || ImageDataHelp(k) == "" {
			t.Errorf("%s: name %q, help %q", k, ImageName(k), ImageDataHelp(k))
		}
	}
	for _, k := range []string{"", "CUB200", "mnist", "folder "} {
		if ImageName(k) != "" || ImageDataHelp(k) != "" {
			t.Errorf("%q: name %q, help %q, want none", k, ImageName(k), ImageDataHelp(k))
		}
	}
}

func TestIntList(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		bad  bool
	}{
		{"", nil, false},
		{"  ", nil, false},
		{"32,64, 128", []int{32, 64, 128}, false},
		{"7", []int{7}, false},
		{"0", nil, true},
		{"-1", nil, true},
		{"1,,2", nil, true},
		{"1,x", nil, true},
		{"1.5", nil, true},
		{fmt.Sprint(uint64(math.MaxInt) + 1), nil, true},
		{fmt.Sprint(math.MinInt), nil, true},
	}
	for _, tc := range tests {
		got, err := IntList("-blocks", tc.in)
		if tc.bad {
			if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "-blocks") {
				t.Errorf("IntList(%q) = %v, %v; want an error naming -blocks", tc.in, got, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("IntList(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestHalfClasses(t *testing.T) {
	tests := []struct {
		name                string
		labels, train, test []int
		wantTrain, wantTest []int
		wantErr             error
		wantMsg             string
	}{
		{"halves", []int{5, 1, 3, 1, 9}, nil, nil, []int{1, 3}, []int{5, 9}, nil, ""},
		{"odd", []int{2, 0, 1}, nil, nil, []int{0}, []int{1, 2}, nil, ""},
		{"given", []int{0, 1}, []int{7}, []int{8}, []int{7}, []int{8}, nil, ""},
		{"only train", []int{0, 1}, []int{0}, nil, nil, nil, gometric.ErrSetting, "give both"},
		{"only test", []int{0, 1}, nil, []int{1}, nil, nil, gometric.ErrSetting, "give both"},
		{"one class", []int{4, 4}, nil, nil, nil, nil, gometric.ErrLabels, "src: 1 class(es)"},
		{"no labels", nil, nil, nil, nil, nil, gometric.ErrLabels, "src: 0 class(es)"},
		{"extreme labels", []int{math.MaxInt, math.MinInt, 0}, nil, nil, []int{math.MinInt}, []int{0, math.MaxInt}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, te, err := HalfClasses(tc.labels, tc.train, tc.test, "-features", "src")
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !strings.Contains(err.Error(), tc.wantMsg) {
					t.Errorf("err = %v, want %v mentioning %q", err, tc.wantErr, tc.wantMsg)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(tr, tc.wantTrain) || !reflect.DeepEqual(te, tc.wantTest) {
				t.Errorf("HalfClasses = %v, %v, %v; want %v, %v", tr, te, err, tc.wantTrain, tc.wantTest)
			}
		})
	}
}

func TestConvNetConfig(t *testing.T) {
	ok := ImageFlags{Size: 16, Blocks: "4,8", Embedding: 8}
	tests := []struct {
		name string
		set  func(f *ImageFlags)
		want string
	}{
		{"ok", func(*ImageFlags) {}, ""},
		{"embedding 0", func(f *ImageFlags) { f.Embedding = 0 }, "-embedding 0"},
		{"embedding min", func(f *ImageFlags) { f.Embedding = math.MinInt }, "-embedding"},
		{"blocks", func(f *ImageFlags) { f.Blocks = "4;8" }, "-blocks"},
		{"size 0", func(f *ImageFlags) { f.Size = 0 }, "-size 0"},
		{"size negative", func(f *ImageFlags) { f.Size = math.MinInt }, "-size"},
		{"size small", func(f *ImageFlags) { f.Size = 3 }, "too small for 2 blocks"},
		{"many blocks", func(f *ImageFlags) { f.Size = math.MaxInt; f.Blocks = strings.Repeat("1,", 70) + "1" }, "too small for 71 blocks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ok
			tc.set(&f)
			cfg, err := f.ConvNetConfig(3)
			if tc.want == "" {
				if err != nil || cfg.Height != 16 || cfg.Width != 16 || cfg.Channels != 3 || cfg.Embedding != 8 || cfg.Seed != 3 || !reflect.DeepEqual(cfg.Blocks, []int{4, 8}) {
					t.Errorf("ConvNetConfig = %+v, %v", cfg, err)
				}
				return
			}
			if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

// writeFolder writes an image folder of the given classes, n PNG images
// each, and returns its root.
func writeFolder(t *testing.T, classes []string, n int) string {
	root := t.TempDir()
	for c, name := range classes {
		if err := os.MkdirAll(filepath.Join(root, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for k := range n {
			m := image.NewRGBA(image.Rect(0, 0, 9, 7))
			for i := range m.Pix {
				m.Pix[i] = uint8(40*c + 3*k + i%5)
			}
			m.Set(0, 0, color.RGBA{255, 0, 0, 255})
			var buf bytes.Buffer
			if err := png.Encode(&buf, m); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, name, fmt.Sprintf("%d.png", k)), buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// TestOpenImages opens an image folder: the default halves, given
// classes, decoding with and without preloading, and the errors of the
// flags it checks.
func TestOpenImages(t *testing.T) {
	root := writeFolder(t, []string{"d", "a", "c", "b", "e"}, 3)
	tests := []struct {
		name                  string
		f                     ImageFlags
		kind                  string
		trainN, testN         int
		trainLabel, testLabel int
		progress              string
		want                  string
	}{
		{name: "halves", f: ImageFlags{Data: root, Size: 8, Preload: true}, kind: KindFolder, trainN: 6, testN: 9, trainLabel: 0, testLabel: 2,
			progress: "decoding training images: 6/6\n\rdecoding test images: 9/9\n"},
		{name: "classes", f: ImageFlags{Data: root, Size: 8, TrainClasses: "4", TestClasses: "0-1"}, kind: KindFolder, trainN: 3, testN: 6, trainLabel: 4, testLabel: 0},
		{name: "unknown kind", f: ImageFlags{Data: root, Size: 8}, kind: "Folder", want: `-dataset "Folder": unknown data set`},
		{name: "no kind", f: ImageFlags{Data: root, Size: 8}, want: "-dataset is required"},
		{name: "no data", f: ImageFlags{Size: 8}, kind: KindCars196, want: "-data is required: the directory holding names.csv"},
		{name: "workers", f: ImageFlags{Data: root, Size: 8, Workers: math.MinInt}, kind: KindFolder, want: "-workers"},
		{name: "train classes", f: ImageFlags{Data: root, Size: 8, TrainClasses: "a"}, kind: KindFolder, want: "-train-classes"},
		{name: "overlap", f: ImageFlags{Data: root, Size: 8, TrainClasses: "1", TestClasses: "1"}, kind: KindFolder, want: "class 1 is in both"},
		{name: "absent class", f: ImageFlags{Data: root, Size: 8, TrainClasses: "1", TestClasses: "99"}, kind: KindFolder, want: "99"},
		{name: "size", f: ImageFlags{Data: root, Size: math.MaxInt, Preload: true}, kind: KindFolder, want: "output size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var progress bytes.Buffer
			train, test, err := OpenImages(context.Background(), tc.kind, &tc.f, &progress)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want one mentioning %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if train.Len() != tc.trainN || test.Len() != tc.testN || train.Labels()[0] != tc.trainLabel || test.Labels()[0] != tc.testLabel {
				t.Errorf("train %d %v, test %d %v", train.Len(), train.Labels(), test.Len(), test.Labels())
			}
			if _, isImages := train.(*datasets.Images); isImages != tc.f.Preload {
				t.Errorf("train is a %T with Preload %v", train, tc.f.Preload)
			}
			if !strings.HasSuffix(progress.String(), tc.progress) || (tc.progress == "") != (progress.Len() == 0) {
				t.Errorf("progress %q, want %q", progress.String(), tc.progress)
			}
			if got := train.SampleShape(); !reflect.DeepEqual(got, []int{3, 8, 8}) {
				t.Errorf("sample shape %v", got)
			}
		})
	}
}

// TestPrintSplits: the line names the data set, the sizes and the class
// counts.
func TestPrintSplits(t *testing.T) {
	root := writeFolder(t, []string{"a", "b", "c"}, 2)
	train, test, err := OpenImages(context.Background(), KindFolder, &ImageFlags{Data: root, Size: 4, TrainClasses: "0", TestClasses: "1,2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	PrintSplits(&out, "image folder", train, test, time.Now())
	if want := "image folder: 2 training samples (1 classes), 4 test samples (2 classes), loaded in 0.0 s\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}
