package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// carsFixture describes a Cars196 tree made by writeCars.
type carsFixture struct {
	dir   string
	class []int    // class of each image, anno_train.csv's then anno_test.csv's
	paths []string // path of each image, in the same order
}

// writeCars writes Cars196's layout in dir with perClass JPEGs of each
// class, as in the real archive: every class has images in both
// anno_train.csv (even k) and anno_test.csv (odd k); the second image of
// a class is greyscale.
func writeCars(t testing.TB, dir string, classes []int, perClass int) carsFixture {
	t.Helper()
	fx := carsFixture{dir: dir}
	var images []testkit.Cars196Image
	var testClass []int
	var testPaths []string
	n := 0
	for _, c := range classes {
		for k := range perClass {
			n++
			im := testkit.Cars196Image{Class: c, Test: k%2 == 1, File: fmt.Sprintf("%05d.jpg", n),
				JPEG: solidJPEG(t, 30+10*(k%3), 20+7*(k%2), classColor(c), k == 1)}
			images = append(images, im)
			part := "train"
			if im.Test {
				part = "test"
			}
			p := filepath.Join(dir, "car_data", "car_data", part, testkit.Cars196Dir(c), im.File)
			if im.Test {
				testClass, testPaths = append(testClass, c), append(testPaths, p)
			} else {
				fx.class, fx.paths = append(fx.class, c), append(fx.paths, p)
			}
		}
	}
	fx.class = append(fx.class, testClass...)
	fx.paths = append(fx.paths, testPaths...)
	testkit.WriteCars196(t, dir, images)
	return fx
}

func TestCars196Splits(t *testing.T) {
	fx := writeCars(t, t.TempDir(), []int{1, 2, 98, 99, 150, 196}, 3)
	tests := []struct {
		split  string
		lo, hi int
		n      int
	}{
		{SplitTrain, 1, 98, 9},
		{SplitTest, 99, 196, 9},
		{SplitTrainTest, 1, 196, 18},
	}
	got := map[string]*ImageFiles{}
	for _, tc := range tests {
		t.Run(tc.split, func(t *testing.T) {
			d, err := NewCars196(fx.dir, tc.split)
			if err != nil {
				t.Fatal(err)
			}
			got[tc.split] = d
			var wantLabels []int
			var wantPaths []string
			for i, c := range fx.class {
				if c >= tc.lo && c <= tc.hi {
					wantLabels = append(wantLabels, c)
					wantPaths = append(wantPaths, fx.paths[i])
				}
			}
			if d.Len() != tc.n || !slices.Equal(d.Labels(), wantLabels) || !slices.Equal(d.Paths(), wantPaths) {
				t.Errorf("labels %v paths %v, want %v %v", d.Labels(), d.Paths(), wantLabels, wantPaths)
			}
			if len(d.Classes()) != 197 || d.Classes()[0] != "" || d.ClassName(2) != "Make 002 C/V Van 2012" || d.ClassName(99) != "Make 099 Sedan 2012" {
				t.Errorf("class names: %d, %q, %q", len(d.Classes()), d.ClassName(2), d.ClassName(99))
			}
			if d.LabelLevels() != 1 || !slices.Equal(d.SampleShape(), []int{3, 224, 224}) {
				t.Errorf("levels %d, shape %v", d.LabelLevels(), d.SampleShape())
			}
			// The fs.FS form reads the same, with slash paths.
			dfs, err := NewCars196FS(os.DirFS(fx.dir), tc.split)
			if err != nil || !slices.Equal(dfs.Labels(), d.Labels()) || dfs.Len() != d.Len() {
				t.Fatalf("NewCars196FS: %v", err)
			}
			for i, p := range dfs.Paths() {
				if filepath.Join(fx.dir, filepath.FromSlash(p)) != d.Paths()[i] {
					t.Errorf("NewCars196FS path %q, want %q", p, d.Paths()[i])
				}
			}
		})
	}
	// PML's protocol is class-disjoint: no class in both train and test.
	train, test := got[SplitTrain].ClassCounts(), got[SplitTest].ClassCounts()
	for c := range train {
		if test[c] > 0 {
			t.Errorf("class %d in both splits", c)
		}
	}
	if len(train)+len(test) != len(got[SplitTrainTest].ClassCounts()) {
		t.Errorf("train %v + test %v != train+test", train, test)
	}
	if _, err := NewCars196(fx.dir, "val"); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "train+test") {
		t.Errorf("unknown split: %v", err)
	}
	only := writeCars(t, t.TempDir(), []int{5}, 2)
	if _, err := NewCars196(only.dir, SplitTest); !errors.Is(err, gometric.ErrShape) || !strings.Contains(err.Error(), "99–196") {
		t.Errorf("empty split: %v", err)
	}
	r, orig := got[SplitTest].Relabel()
	if !slices.Equal(r.Labels(), []int{0, 0, 1, 1, 2, 2, 0, 1, 2}) || !slices.Equal(orig, []int{99, 150, 196}) || r.ClassName(1) != "Make 150 C/V Van 2012" {
		t.Errorf("Relabel: %v %v %q", r.Labels(), orig, r.ClassName(1))
	}
}

func TestCars196Batch(t *testing.T) {
	fx := writeCars(t, t.TempDir(), []int{3, 120}, 3)
	d, err := NewCars196(fx.dir, SplitTrainTest)
	if err != nil {
		t.Fatal(err)
	}
	d.Width, d.Height, d.Norm = 6, 5, Normalize{}
	idx := []int{0, 3, 5}
	got, labels, err := d.Batch(idx, gometric.Matrix{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != 3 || got.Cols != 90 || !slices.Equal(labels, []int{fx.class[0], fx.class[3], fx.class[5]}) {
		t.Fatalf("batch %d×%d labels %v", got.Rows, got.Cols, labels)
	}
	for k, i := range idx {
		c := classColor(fx.class[i])
		want := [3]float64{float64(c.R), float64(c.G), float64(c.B)}
		if strings.HasSuffix(fx.paths[i], "00002.jpg") || strings.HasSuffix(fx.paths[i], "00005.jpg") { // greyscale
			want = [3]float64{float64(c.R), float64(c.R), float64(c.R)}
		}
		for ch := range 3 {
			for j := range 30 {
				if v := float64(got.Data[k*90+ch*30+j]) * 255; math.Abs(v-want[ch]) > 4 {
					t.Fatalf("image %d channel %d: %.1f, want %.0f±4", i, ch, v, want[ch])
				}
			}
		}
	}
}

// TestCars196Malformed: every malformed index file is a *FileError
// naming the file and the line, wrapping ErrFormat and the sentinel.
func TestCars196Malformed(t *testing.T) {
	fx := writeCars(t, t.TempDir(), []int{1, 2, 100}, 2)
	orig := map[string][]byte{}
	for _, name := range []string{"names.csv", "anno_train.csv", "anno_test.csv"} {
		orig[name], _ = os.ReadFile(filepath.Join(fx.dir, name))
	}
	names := strings.SplitAfter(string(orig["names.csv"]), "\n")
	tests := []struct {
		name, file, content string
		line                int
		sentinel            error
		msg                 string
	}{
		{"anno one field", "anno_train.csv", "00001.jpg,1,2,30,40,1\n00003.jpg\n", 2, gometric.ErrShape, "got 1 field"},
		{"anno class not int", "anno_train.csv", "00001.jpg,1,2,30,40,x1\n", 1, gometric.ErrShape, "not an integer"},
		{"anno class 0", "anno_test.csv", "00002.jpg,1,2,30,40,0\n", 1, gometric.ErrLabels, "outside 1–196"},
		{"anno class 197", "anno_test.csv", "00002.jpg,1,2,30,40,1\n00004.jpg,1,2,3,4,197\n", 2, gometric.ErrLabels, "outside 1–196"},
		{"anno class huge", "anno_train.csv", "00001.jpg,9223372036854775807\n", 1, gometric.ErrLabels, "outside 1–196"},
		{"anno class overflow", "anno_train.csv", "00001.jpg,99999999999999999999\n", 1, gometric.ErrShape, "not an integer"},
		{"anno escaping file", "anno_train.csv", "../../x.jpg,1,2,3,4,1\n", 1, gometric.ErrShape, "relative"},
		{"anno absolute file", "anno_train.csv", "/etc/passwd,1,2,3,4,1\n", 1, gometric.ErrShape, "relative"},
		{"anno empty file", "anno_train.csv", ",1,2,3,4,1\n", 1, gometric.ErrShape, "relative"},
		{"anno backslash", "anno_train.csv", `a\b.jpg,1,2,3,4,1` + "\n", 1, gometric.ErrShape, "relative"},
		{"anno duplicate", "anno_train.csv", "00001.jpg,1,2,30,40,1\n\n00001.jpg,1,2,30,40,1\n", 3, gometric.ErrShape, "already on line 1"},
		{"anno header", "anno_train.csv", "image,x1,y1,x2,y2,class\n", 1, gometric.ErrShape, "not an integer"},
		{"anno too long", "anno_test.csv", strings.Repeat("a", maxIndexLine+1) + "\n", 1, gometric.ErrShape, "longer"},
		{"anno missing image", "anno_test.csv", "00002.jpg,1,2,30,40,1\n00009.jpg,1,2,30,40,100\n", 2, gometric.ErrShape, "00009.jpg"},
		{"anno image in wrong class", "anno_train.csv", "00001.jpg,1,2,30,40,2\n", 1, gometric.ErrShape, "missing"},
		{"names blank inside", "names.csv", names[0] + "\n" + strings.Join(names[1:], ""), 2, gometric.ErrShape, "blank line"},
		{"names 197", "names.csv", strings.Join(names, "") + "Extra Car 2013\n", 197, gometric.ErrLabels, "more than 196"},
		{"names dot-dot", "names.csv", "..\n", 1, gometric.ErrShape, "directory name"},
		{"names too few", "names.csv", names[0], 2, gometric.ErrLabels, "class id 2 has no name"},
		{"names empty", "names.csv", "\n\n", 0, gometric.ErrShape, "no class names"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, b := range orig {
				os.WriteFile(filepath.Join(fx.dir, name), b, 0o644)
			}
			p := filepath.Join(fx.dir, tc.file)
			os.WriteFile(p, []byte(tc.content), 0o644)
			_, err := NewCars196(fx.dir, SplitTrainTest)
			if tc.name == "names too few" {
				p = filepath.Join(fx.dir, "anno_train.csv")
			}
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("%v: want a *FileError wrapping %v", err, tc.sentinel)
			}
			if fe.Path != p || fe.Line != tc.line || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "datasets.NewCars196: ") {
				t.Errorf("%v: want %s:%d and %q", err, p, tc.line, tc.msg)
			}
		})
	}
	for name, b := range orig {
		os.WriteFile(filepath.Join(fx.dir, name), b, 0o644)
	}
	// CRLF line endings, a byte order mark and blank lines at the end are
	// read as the real files are.
	crlf := "\ufeff" + strings.ReplaceAll(string(orig["names.csv"]), "\n", "\r\n") + "\r\n\n"
	os.WriteFile(filepath.Join(fx.dir, "names.csv"), []byte(crlf), 0o644)
	if d, err := NewCars196(fx.dir, SplitTrainTest); err != nil || d.ClassName(1) != "Make 001 Sedan 2012" {
		t.Errorf("CRLF names.csv: %v", err)
	}
	os.Remove(filepath.Join(fx.dir, "anno_test.csv"))
	if _, err := NewCars196(fx.dir, SplitTrain); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "anno_test.csv") {
		t.Errorf("missing annotation file: %v", err)
	}
	if _, err := NewCars196FS(nil, SplitTrain); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil fs.FS: %v", err)
	}
}
