package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gometric/gometric"
)

// realFashionMNIST loads the Debian package's files or skips the test.
func realFashionMNIST(t *testing.T) (train, test *Images) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(DefaultFashionMNISTDir, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skipf("Fashion-MNIST is not installed in %s (apt-get install dataset-fashion-mnist): %v", DefaultFashionMNISTDir, err)
	}
	if testing.Short() || raceEnabled {
		t.Skip("reading 60,000 images is slow in -short mode and under the race detector")
	}
	realOnce.Do(func() { realTrain, realTest, realErr = LoadFashionMNIST("") })
	if realErr != nil {
		t.Fatal(realErr)
	}
	return realTrain, realTest
}

// The real data set, read once for all tests.
var (
	realOnce            sync.Once
	realTrain, realTest *Images
	realErr             error
)

func TestLoadFashionMNISTReal(t *testing.T) {
	train, test := realFashionMNIST(t)
	tests := []struct {
		name       string
		m          *Images
		n, perCls  int
		firstLabel []int
		firstSum   int // sum of the first image's pixels
	}{
		// Label values read independently from the files (Python gzip).
		{"train", train, 60000, 6000, []int{9, 0, 0, 3, 0, 2, 7, 2, 5, 5, 0, 9}, 76247},
		{"test", test, 10000, 1000, []int{9, 2, 1, 1, 6, 1, 4, 6, 5, 7, 4, 5}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c, h, w := tc.m.Shape(); tc.m.Len() != tc.n || c != 1 || h != 28 || w != 28 {
				t.Fatalf("%d images of %d×%d×%d, want %d of 1×28×28", tc.m.Len(), c, h, w, tc.n)
			}
			counts := tc.m.ClassCounts()
			if len(counts) != 10 {
				t.Fatalf("class counts %v", counts)
			}
			for c, k := range counts {
				if k != tc.perCls {
					t.Errorf("class %d has %d images, want %d", c, k, tc.perCls)
				}
			}
			if got := tc.m.Labels()[:len(tc.firstLabel)]; !slices.Equal(got, tc.firstLabel) {
				t.Errorf("first labels %v, want %v", got, tc.firstLabel)
			}
			if tc.firstSum >= 0 {
				sum := 0
				for _, p := range tc.m.Pixels(0) {
					sum += int(p)
				}
				if sum != tc.firstSum {
					t.Errorf("first image pixel sum %d, want %d", sum, tc.firstSum)
				}
			}
			if tc.m.ClassName(9) != "Ankle boot" || len(tc.m.Norm.Mean) != 1 || tc.m.Norm.Mean[0] != FashionMNISTMean {
				t.Errorf("class 9 %q, Norm %v", tc.m.ClassName(9), tc.m.Norm)
			}
		})
	}
}

// TestSampleMatchesReal checks that the embedded sample is exactly the
// selection gensample documents, taken from the Debian files.
func TestSampleMatchesReal(t *testing.T) {
	train, test := realFashionMNIST(t)
	strain, stest, err := FashionMNISTSample()
	if err != nil {
		t.Fatal(err)
	}
	wantTrain, _ := train.FirstPerClass(SampleTrainPerClass)
	wantTest, _ := test.FirstPerClass(SampleTestPerClass)
	if !strain.Equal(wantTrain) || !stest.Equal(wantTest) {
		t.Errorf("the embedded sample is not the first %d/%d images per class; regenerate it with go run ./datasets/internal/gensample", SampleTrainPerClass, SampleTestPerClass)
	}
}

func TestFashionMNISTSample(t *testing.T) {
	train, test, err := FashionMNISTSample()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		m      *Images
		perCls int
	}{{train, SampleTrainPerClass}, {test, SampleTestPerClass}} {
		if c, h, w := s.m.Shape(); s.m.Len() != 10*s.perCls || c != 1 || h != 28 || w != 28 {
			t.Errorf("%d images of %d×%d×%d", s.m.Len(), c, h, w)
		}
		for c, k := range s.m.ClassCounts() {
			if k != s.perCls {
				t.Errorf("class %d: %d images, want %d", c, k, s.perCls)
			}
		}
	}
	// The sample keeps file order: its first labels are the files' first.
	if got := train.Labels()[:6]; !slices.Equal(got, []int{9, 0, 0, 3, 0, 2}) {
		t.Errorf("first training labels %v", got)
	}
	if got := test.Labels()[:5]; !slices.Equal(got, []int{9, 2, 1, 1, 6}) {
		t.Errorf("first test labels %v", got)
	}
	// Embedded files stay small.
	total := int64(0)
	fs.WalkDir(sampleFS, "sample", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			total += info.Size()
		}
		return nil
	})
	if total > 2<<20 {
		t.Errorf("the embedded sample takes %d bytes, want < 2 MB", total)
	}
}

// copySample writes the embedded sample's files into dir, uncompressed
// when plain.
func copySample(t *testing.T, dir string, plain bool) {
	t.Helper()
	for _, base := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		b, err := fs.ReadFile(sampleFS, "sample/"+base+".gz")
		if err != nil {
			t.Fatal(err)
		}
		name := base + ".gz"
		if plain {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(zr)
			name = base
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLoadFashionMNISTDirs(t *testing.T) {
	strain, stest, err := FashionMNISTSample()
	if err != nil {
		t.Fatal(err)
	}
	for _, plain := range []bool{false, true} {
		dir := t.TempDir()
		copySample(t, dir, plain)
		train, test, used, err := LoadFashionMNISTOrSample(dir)
		if err != nil || used || !train.Equal(strain) || !test.Equal(stest) {
			t.Errorf("plain=%v: err %v, usedSample %v, equal %v %v", plain, err, used, train.Equal(strain), test.Equal(stest))
		}
	}

	// Missing files: an error that says how to install, and the fallback.
	empty := t.TempDir()
	_, _, err = LoadFashionMNIST(empty)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "apt-get install dataset-fashion-mnist") {
		t.Errorf("missing files: %v", err)
	}
	train, _, used, err := LoadFashionMNISTOrSample(empty)
	if err != nil || !used || !train.Equal(strain) {
		t.Errorf("fallback: %v, usedSample %v", err, used)
	}
	if msg := FashionMNISTSampleNotice(empty); !strings.Contains(msg, empty) || !strings.Contains(msg, "apt-get install dataset-fashion-mnist") {
		t.Errorf("notice %q", msg)
	}

	// A corrupt file is an error with its path and offset, not a fallback.
	bad := t.TempDir()
	copySample(t, bad, true)
	p := filepath.Join(bad, "t10k-labels-idx1-ubyte")
	b, _ := os.ReadFile(p)
	b[8+5] = 10 // label 10 at byte 13
	os.WriteFile(p, b, 0o644)
	_, _, used, err = LoadFashionMNISTOrSample(bad)
	var fe *FileError
	if used || !errors.As(err, &fe) || fe.Path != p || fe.Offset != 13 || !errors.Is(err, gometric.ErrLabels) {
		t.Errorf("corrupt labels: usedSample %v, %v", used, err)
	}
	os.WriteFile(p, b[:100], 0o644)
	_, _, err = LoadFashionMNIST(bad)
	if !errors.As(err, &fe) || fe.Path != p || fe.Offset != 100 || !errors.Is(err, gometric.ErrShape) {
		t.Errorf("truncated labels: %v", err)
	}
}
