package datasets

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gometric/gometric"
)

// imagesExistFS serves the index files of MapFS and reports every other
// valid path as an existing regular file, so that fuzzed listings reach
// the end of their constructor.
type imagesExistFS struct{ fstest.MapFS }

func (f imagesExistFS) Stat(name string) (fs.FileInfo, error) {
	if fi, err := f.MapFS.Stat(name); err == nil || !fs.ValidPath(name) {
		return fi, err
	}
	return fstest.MapFS{name: {}}.Stat(name)
}

// layoutErr fails t unless err wraps a gometric sentinel or is a missing
// index file.
func layoutErr(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, gometric.ErrShape) && !errors.Is(err, gometric.ErrLabels) && !errors.Is(err, gometric.ErrSetting) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
}

// FuzzCars196Index feeds arbitrary names.csv, anno_train.csv and
// anno_test.csv to NewCars196FS for each split (with every listed image
// present, or only the index files): an error wrapping a sentinel, or a
// data set whose labels are the split's classes and whose paths are
// car_data/car_data/{train,test}/<class name with "-" for "/">/<file>.
func FuzzCars196Index(f *testing.F) {
	names := "AM General Hummer SUV 2000\nAcura RL Sedan 2012\nRam C/V Cargo Van Minivan 2012\n"
	f.Add(names, "00001.jpg,39,116,569,375,1\n00002.jpg,36,116,868,587,3\n", "00001.jpg,30,52,246,147,2\n", uint8(2))
	f.Add(names, "00001.jpg,39,116,569,375,1\r\n", "", uint8(0))
	f.Add("\ufeffA\r\nB\r\n\r\n", "a.jpg,2\n\nb.jpg,1\n", "c.jpg,1,2,3,4,99\n", uint8(6))
	f.Add("A\n\nB\n", "a.jpg,1\na.jpg,1\n", "../x.jpg,1\n", uint8(1))
	f.Add("", "", "", uint8(3))
	f.Fuzz(func(t *testing.T, names, train, test string, mode uint8) {
		m := fstest.MapFS{
			"names.csv":      {Data: []byte(names)},
			"anno_train.csv": {Data: []byte(train)},
			"anno_test.csv":  {Data: []byte(test)},
		}
		var fsys fs.FS = m
		if mode&4 == 0 {
			fsys = imagesExistFS{m}
		}
		split := []string{SplitTrain, SplitTest, SplitTrainTest, "bad"}[mode%4]
		d, err := NewCars196FS(fsys, split)
		if err != nil {
			layoutErr(t, err)
			return
		}
		lo, hi := 1, 196
		switch split {
		case SplitTrain:
			hi = 98
		case SplitTest:
			lo = 99
		}
		if d.Len() == 0 || len(d.Paths()) != d.Len() || len(d.Classes()) < 2 {
			t.Fatalf("%d images, %d paths, %d names", d.Len(), len(d.Paths()), len(d.Classes()))
		}
		for i, l := range d.Labels() {
			if l < lo || l > hi || l >= len(d.Classes()) {
				t.Fatalf("label %d outside split %s", l, split)
			}
			p := d.Paths()[i]
			dir := strings.ReplaceAll(d.Classes()[l], "/", "-")
			if !fs.ValidPath(p) || !(strings.HasPrefix(p, "car_data/car_data/train/"+dir+"/") || strings.HasPrefix(p, "car_data/car_data/test/"+dir+"/")) {
				t.Fatalf("path %q of class %d (%q)", p, l, d.Classes()[l])
			}
		}
	})
}

// FuzzSOPIndex feeds arbitrary Ebay_train.txt and Ebay_test.txt to
// NewSOPFS for each split: an error wrapping a sentinel, or a data set
// with positive class and super class ids (one super class per class) and
// paths inside Stanford_Online_Products/.
func FuzzSOPIndex(f *testing.F) {
	const h = "image_id class_id super_class_id path\n"
	f.Add(h+"1 1 1 bicycle_final/111085122871_0.JPG\n2 1 1 bicycle_final/111085122871_1.JPG\n",
		h+"1 11319 1 bicycle_final/111265328556_0.JPG\n", uint8(2))
	f.Add(h+"1 1 1 a/b.JPG\r\n", h, uint8(0))
	f.Add(h+"1 1 1 a.JPG\n2 1 2 b.JPG\n", h+"1 1 3 c.JPG\n", uint8(6))
	f.Add("1 1 1 a.JPG\n", "", uint8(1))
	f.Add(h+"1 1 1 ../a.JPG\n1 2 2 a.JPG\n", h+"x", uint8(5))
	f.Fuzz(func(t *testing.T, train, test string, mode uint8) {
		prefix := ""
		if mode&8 != 0 {
			prefix = SOPDirName + "/"
		}
		m := fstest.MapFS{
			prefix + "Ebay_train.txt": {Data: []byte(train)},
			prefix + "Ebay_test.txt":  {Data: []byte(test)},
		}
		var fsys fs.FS = m
		if mode&4 == 0 {
			fsys = imagesExistFS{m}
		}
		split := []string{SplitTrain, SplitTest, SplitTrainTest, "bad"}[mode%4]
		d, err := NewSOPFS(fsys, split)
		if err != nil {
			layoutErr(t, err)
			return
		}
		supers, err := d.LabelsAt(1)
		if err != nil || d.Len() == 0 || len(d.Paths()) != d.Len() || len(supers) != d.Len() || d.LabelLevels() != 2 {
			t.Fatalf("%d images, %d paths, %d super labels: %v", d.Len(), len(d.Paths()), len(supers), err)
		}
		superOf := map[int]int{}
		for i, l := range d.Labels() {
			s := supers[i]
			if l <= 0 || s <= 0 {
				t.Fatalf("label %d super %d", l, s)
			}
			if prev, ok := superOf[l]; ok && prev != s {
				t.Fatalf("class %d under super classes %d and %d", l, prev, s)
			}
			superOf[l] = s
			if p := d.Paths()[i]; !fs.ValidPath(p) || !strings.HasPrefix(p, prefix) || p == prefix {
				t.Fatalf("path %q", p)
			}
		}
	})
}
