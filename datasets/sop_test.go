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

// sopFixture describes a Stanford Online Products tree made by writeSOP.
type sopFixture struct {
	parent, dir string // the directory holding Stanford_Online_Products, and that directory
	class       []int  // class of each image, Ebay_train.txt's then Ebay_test.txt's
	super       []int
	rel         []string
	test        []bool
}

// writeSOP writes Stanford Online Products' layout under parent with
// perClass JPEGs of each class; trainClasses are listed in Ebay_train.txt
// and testClasses in Ebay_test.txt, each file's image ids counting from 1
// as in the real files. Class c's super class is supers[c].
func writeSOP(t testing.TB, parent string, trainClasses, testClasses []int, supers map[int]int, perClass int) sopFixture {
	t.Helper()
	fx := sopFixture{parent: parent, dir: filepath.Join(parent, SOPDirName)}
	var images []testkit.SOPImage
	for part, classes := range [][]int{trainClasses, testClasses} {
		id := 0
		for _, c := range classes {
			for k := range perClass {
				id++
				s := supers[c]
				rel := fmt.Sprintf("%s/%d_%d.JPG", testkit.SOPSuperDirs[s-1], 111085122800+c, k)
				images = append(images, testkit.SOPImage{ID: id, Class: c, SuperClass: s, Test: part == 1, Rel: rel,
					JPEG: solidJPEG(t, 30+10*(k%3), 20+7*(k%2), classColor(c), k == 1)})
				fx.class, fx.super, fx.rel, fx.test = append(fx.class, c), append(fx.super, s), append(fx.rel, rel), append(fx.test, part == 1)
			}
		}
	}
	testkit.WriteSOP(t, parent, images)
	return fx
}

var sopSupers = map[int]int{1: 1, 2: 1, 3: 2, 11319: 3, 11320: 12}

func TestSOPSplits(t *testing.T) {
	fx := writeSOP(t, t.TempDir(), []int{1, 2, 3}, []int{11319, 11320}, sopSupers, 2)
	got := map[string]*ImageFiles{}
	for _, tc := range []struct {
		split     string
		train, te bool
	}{{SplitTrain, true, false}, {SplitTest, false, true}, {SplitTrainTest, true, true}} {
		for _, root := range []string{fx.parent, fx.dir} {
			t.Run(tc.split, func(t *testing.T) {
				d, err := NewSOP(root, tc.split)
				if err != nil {
					t.Fatal(err)
				}
				got[tc.split] = d
				var wantLabels, wantSupers []int
				var wantPaths []string
				for i := range fx.class {
					if fx.test[i] && tc.te || !fx.test[i] && tc.train {
						wantLabels = append(wantLabels, fx.class[i])
						wantSupers = append(wantSupers, fx.super[i])
						wantPaths = append(wantPaths, filepath.Join(fx.dir, filepath.FromSlash(fx.rel[i])))
					}
				}
				supers, err := d.LabelsAt(1)
				if err != nil || !slices.Equal(d.Labels(), wantLabels) || !slices.Equal(supers, wantSupers) || !slices.Equal(d.Paths(), wantPaths) {
					t.Errorf("labels %v supers %v paths %v, want %v %v %v (%v)", d.Labels(), supers, d.Paths(), wantLabels, wantSupers, wantPaths, err)
				}
				if l0, err := d.LabelsAt(0); err != nil || !slices.Equal(l0, d.Labels()) || d.LabelLevels() != 2 {
					t.Errorf("LabelsAt(0): %v, levels %d", err, d.LabelLevels())
				}
				for _, level := range []int{-1, 2, math.MaxInt, math.MinInt} {
					if _, err := d.LabelsAt(level); !errors.Is(err, gometric.ErrIndex) {
						t.Errorf("LabelsAt(%d): %v", level, err)
					}
				}
				if d.Classes() != nil || d.ClassName(11319) != "11319" {
					t.Errorf("classes %v", d.Classes())
				}
				dfs, err := NewSOPFS(os.DirFS(root), tc.split)
				if err != nil || !slices.Equal(dfs.Labels(), d.Labels()) {
					t.Fatalf("NewSOPFS: %v", err)
				}
				for i, p := range dfs.Paths() {
					if filepath.Join(root, filepath.FromSlash(p)) != d.Paths()[i] {
						t.Errorf("NewSOPFS path %q, want %q", p, d.Paths()[i])
					}
				}
			})
		}
	}
	train, test := got[SplitTrain].ClassCounts(), got[SplitTest].ClassCounts()
	for c := range train {
		if test[c] > 0 {
			t.Errorf("class %d in both splits", c)
		}
	}
	if len(train) != 3 || len(test) != 2 || got[SplitTrainTest].Len() != 10 {
		t.Errorf("train %v test %v", train, test)
	}
	// Subset, FilterClasses and Relabel keep the super classes with their
	// images; Relabel renumbers level 0 only.
	all := got[SplitTrainTest]
	sub, _ := all.Subset([]int{9, 0, 4})
	if s, _ := sub.LabelsAt(1); !slices.Equal(s, []int{12, 1, 2}) || !slices.Equal(sub.Labels(), []int{11320, 1, 3}) {
		t.Errorf("Subset: %v %v", sub.Labels(), s)
	}
	fc, _ := all.FilterClasses([]int{3, 11319})
	if s, _ := fc.LabelsAt(1); !slices.Equal(s, []int{2, 2, 3, 3}) {
		t.Errorf("FilterClasses: %v", s)
	}
	r, orig := fc.Relabel()
	if s, _ := r.LabelsAt(1); !slices.Equal(s, []int{2, 2, 3, 3}) || !slices.Equal(r.Labels(), []int{0, 0, 1, 1}) || !slices.Equal(orig, []int{3, 11319}) {
		t.Errorf("Relabel: %v %v", r.Labels(), s)
	}
	tr, te, err := ClassDisjoint(all, all, []int{1, 2, 3}, []int{11319, 11320})
	if err != nil || tr.Len() != 6 || te.Len() != 4 {
		t.Errorf("ClassDisjoint: %v", err)
	}
	if _, err := NewSOP(fx.dir, "all"); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("unknown split: %v", err)
	}
	// Batch decodes the images.
	d := got[SplitTest]
	d.Width, d.Height, d.Norm = 4, 3, Normalize{}
	b, labels, err := d.Batch([]int{2, 0}, gometric.Matrix{})
	if err != nil || !slices.Equal(labels, []int{11320, 11319}) || b.Rows != 2 || b.Cols != 36 {
		t.Fatalf("Batch: %v %v", labels, err)
	}
	if c := classColor(11320); math.Abs(float64(b.Data[0])*255-float64(c.R)) > 4 || math.Abs(float64(b.Data[12])*255-float64(c.G)) > 4 {
		t.Errorf("Batch pixels %v, want colour %v", b.Data[:13], c)
	}
}

// TestSOPMalformed: every malformed listing is a *FileError naming the
// file and the line, wrapping ErrFormat and the sentinel.
func TestSOPMalformed(t *testing.T) {
	fx := writeSOP(t, t.TempDir(), []int{1, 2}, []int{11319}, sopSupers, 2)
	orig := map[string][]byte{}
	for _, name := range []string{"Ebay_train.txt", "Ebay_test.txt"} {
		orig[name], _ = os.ReadFile(filepath.Join(fx.dir, name))
	}
	const h = "image_id class_id super_class_id path\n"
	r0, r1 := fx.rel[0], fx.rel[1]
	tests := []struct {
		name, file, content string
		line                int
		sentinel            error
		msg                 string
	}{
		{"no header", "Ebay_train.txt", "1 1 1 " + r0 + "\n", 1, gometric.ErrShape, "want the header"},
		{"three fields", "Ebay_train.txt", h + "1 1 1 " + r0 + "\n2 1 1\n", 3, gometric.ErrShape, "got 3 fields"},
		{"five fields", "Ebay_train.txt", h + "1 1 1 " + r0 + " x\n", 2, gometric.ErrShape, "got 5 fields"},
		{"bad image id", "Ebay_train.txt", h + "a 1 1 " + r0 + "\n", 2, gometric.ErrLabels, "image id \"a\""},
		{"zero class", "Ebay_train.txt", h + "1 0 1 " + r0 + "\n", 2, gometric.ErrLabels, "class id \"0\""},
		{"negative super", "Ebay_test.txt", h + "1 11319 -3 " + fx.rel[4] + "\n", 2, gometric.ErrLabels, "super class id \"-3\""},
		{"overflowing class", "Ebay_train.txt", h + "1 99999999999999999999 1 " + r0 + "\n", 2, gometric.ErrLabels, "class id"},
		{"escaping path", "Ebay_train.txt", h + "1 1 1 ../../etc/passwd\n", 2, gometric.ErrShape, "relative"},
		{"absolute path", "Ebay_train.txt", h + "1 1 1 /etc/passwd\n", 2, gometric.ErrShape, "relative"},
		{"backslash path", "Ebay_train.txt", h + `1 1 1 bicycle_final\a.JPG` + "\n", 2, gometric.ErrShape, "relative"},
		{"duplicate id", "Ebay_train.txt", h + "1 1 1 " + r0 + "\n\n1 1 1 " + r1 + "\n", 4, gometric.ErrShape, "image id 1 already on line 2"},
		{"duplicate path", "Ebay_train.txt", h + "1 1 1 " + r0 + "\n2 1 1 " + r0 + "\n", 3, gometric.ErrShape, "already on line 2"},
		{"two super classes", "Ebay_train.txt", h + "1 1 1 " + r0 + "\n2 1 2 " + r1 + "\n", 3, gometric.ErrLabels, "super class 2 here and 1"},
		{"missing image", "Ebay_train.txt", h + "1 1 1 " + r0 + "\n2 1 1 bicycle_final/none.JPG\n", 3, gometric.ErrShape, "none.JPG"},
		{"too long", "Ebay_test.txt", h + strings.Repeat("1", maxIndexLine+1), 2, gometric.ErrShape, "longer"},
		{"header only", "Ebay_test.txt", h, 0, gometric.ErrShape, "no images listed"},
		{"empty", "Ebay_train.txt", "", 0, gometric.ErrShape, "no images listed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, b := range orig {
				os.WriteFile(filepath.Join(fx.dir, name), b, 0o644)
			}
			p := filepath.Join(fx.dir, tc.file)
			os.WriteFile(p, []byte(tc.content), 0o644)
			_, err := NewSOP(fx.parent, SplitTrainTest)
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("%v: want a *FileError wrapping %v", err, tc.sentinel)
			}
			if fe.Path != p || fe.Line != tc.line || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "datasets.NewSOP: ") {
				t.Errorf("%v: want %s:%d and %q", err, p, tc.line, tc.msg)
			}
		})
	}
	for name, b := range orig {
		os.WriteFile(filepath.Join(fx.dir, name), b, 0o644)
	}
	// A class under two super classes across the two files.
	os.WriteFile(filepath.Join(fx.dir, "Ebay_test.txt"), []byte(h+"1 1 5 "+fx.rel[4]+"\n"), 0o644)
	_, err := NewSOP(fx.parent, SplitTrainTest)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Line != 2 || !strings.Contains(err.Error(), "Ebay_train.txt:2") {
		t.Errorf("super class across files: %v", err)
	}
	os.Remove(filepath.Join(fx.dir, "Ebay_test.txt"))
	if _, err := NewSOP(fx.parent, SplitTest); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "Ebay_test.txt") {
		t.Errorf("missing listing: %v", err)
	}
	if _, err := NewSOP(fx.parent, SplitTrain); err != nil {
		t.Errorf("train without Ebay_test.txt: %v", err)
	}
	if _, err := NewSOPFS(nil, SplitTrain); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil fs.FS: %v", err)
	}
}
