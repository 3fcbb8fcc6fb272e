package datasets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// writeINat writes an iNaturalist 2018 fixture: categories 0, 5 and 9 in
// the training list, 100 and 101 in the test list, two images each (one
// in train2018.json, one in val2018.json), plus an image in no list. It
// returns the expected labels and paths (relative) of train then test.
func writeINat(t testing.TB, dir string) (labels []int, rels []string) {
	t.Helper()
	var images []testkit.INatImage
	id := 0
	for _, part := range []struct {
		split string
		cats  []int
	}{{"train", []int{0, 5, 9}}, {"test", []int{100, 101}}} {
		for _, c := range part.cats {
			for k := range 2 {
				id++
				rel := fmt.Sprintf("train_val2018/Plantae/%d/%032x.jpg", c, id)
				images = append(images, testkit.INatImage{ID: 437500 + id, Category: c, Val: k == 1, Split: part.split, Rel: rel,
					JPEG: solidJPEG(t, 20, 16, classColor(c), false)})
				labels, rels = append(labels, c), append(rels, rel)
			}
		}
	}
	images = append(images, testkit.INatImage{ID: 1, Category: 7, Rel: "train_val2018/Fungi/7/x.jpg", JPEG: solidJPEG(t, 4, 4, classColor(7), false)})
	testkit.WriteINaturalist2018(t, dir, images)
	return labels, rels
}

func TestINaturalist2018Splits(t *testing.T) {
	dir := t.TempDir()
	labels, rels := writeINat(t, dir)
	got := map[string]*ImageFiles{}
	for _, tc := range []struct {
		split  string
		lo, hi int
	}{{SplitTrain, 0, 6}, {SplitTest, 6, 10}, {SplitTrainTest, 0, 10}} {
		d, err := NewINaturalist2018(dir, tc.split)
		if err != nil {
			t.Fatal(err)
		}
		got[tc.split] = d
		var wantPaths []string
		for _, r := range rels[tc.lo:tc.hi] {
			wantPaths = append(wantPaths, filepath.Join(dir, filepath.FromSlash(r)))
		}
		if !slices.Equal(d.Labels(), labels[tc.lo:tc.hi]) || !slices.Equal(d.Paths(), wantPaths) || d.Classes() != nil {
			t.Errorf("%s: labels %v paths %v, want %v %v", tc.split, d.Labels(), d.Paths(), labels[tc.lo:tc.hi], wantPaths)
		}
		dfs, err := NewINaturalist2018FS(os.DirFS(dir), tc.split)
		if err != nil || !slices.Equal(dfs.Labels(), d.Labels()) || !slices.Equal(dfs.Paths(), rels[tc.lo:tc.hi]) {
			t.Errorf("%s: NewINaturalist2018FS %v %v", tc.split, dfs.Paths(), err)
		}
	}
	train, test := got[SplitTrain].ClassCounts(), got[SplitTest].ClassCounts()
	for c := range train {
		if test[c] > 0 {
			t.Errorf("class %d in both splits", c)
		}
	}
	d := got[SplitTest]
	d.Width, d.Height, d.Norm = 4, 4, Normalize{}
	b, l, err := d.Batch([]int{3, 0}, gometric.Matrix{})
	if err != nil || !slices.Equal(l, []int{101, 100}) || b.Rows != 2 {
		t.Fatalf("Batch: %v %v", l, err)
	}
	if c := classColor(101); b.Data[0]*255 < float32(c.R)-4 || b.Data[0]*255 > float32(c.R)+4 {
		t.Errorf("Batch pixel %v, want %d", b.Data[0]*255, c.R)
	}
	if _, err := NewINaturalist2018(dir, "val"); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("unknown split: %v", err)
	}
}

// TestINaturalist2018Malformed: every malformed file is a *FileError
// naming the file (and the line of a split file, the byte of a JSON
// syntax error), wrapping ErrFormat and the sentinel.
func TestINaturalist2018Malformed(t *testing.T) {
	dir := t.TempDir()
	_, rels := writeINat(t, dir)
	trainList := filepath.Join("Inat_dataset_splits", "Inaturalist_train_set1.txt")
	files := []string{"train2018.json", "val2018.json", trainList, filepath.Join("Inat_dataset_splits", "Inaturalist_test_set1.txt")}
	orig := map[string][]byte{}
	for _, name := range files {
		orig[name], _ = os.ReadFile(filepath.Join(dir, name))
	}
	img := func(id int, name string) string { return fmt.Sprintf(`{"id": %d, "file_name": %q}`, id, name) }
	tests := []struct {
		name, file, content string
		line                int
		offset              int64
		sentinel            error
		msg                 string
	}{
		{"json syntax", "val2018.json", `{"images": [}`, 0, 13, gometric.ErrShape, "JSON"},
		{"json wrong type", "val2018.json", `{"images": 3}`, 0, 12, gometric.ErrShape, "JSON"},
		{"json empty", "train2018.json", ``, 0, 0, gometric.ErrShape, "JSON"},
		{"json truncated", "val2018.json", `{"images": [` + img(1, "a.jpg"), 0, int64(len(`{"images": [` + img(1, "a.jpg"))), gometric.ErrShape, "JSON"},
		{"image without id", "val2018.json", `{"images": [{"file_name": "a.jpg"}]}`, 0, -1, gometric.ErrShape, "images[0] has no id"},
		{"image escaping", "val2018.json", `{"images": [` + img(1, "../a.jpg") + `]}`, 0, -1, gometric.ErrShape, "relative"},
		{"image twice", "val2018.json", `{"images": [` + img(1, "a.jpg") + "," + img(2, "a.jpg") + `]}`, 0, -1, gometric.ErrShape, "listed twice"},
		{"id twice", "train2018.json", `{"images": [` + img(2, "a.jpg") + "," + img(2, "b.jpg") + `]}`, 0, -1, gometric.ErrShape, "id 2 listed twice"},
		{"annotation negative", "val2018.json", `{"annotations": [{"image_id": 1, "category_id": -1}]}`, 0, -1, gometric.ErrLabels, "negative"},
		{"annotation incomplete", "val2018.json", `{"annotations": [{"image_id": 1}]}`, 0, -1, gometric.ErrShape, "lacks"},
		{"annotation twice", "val2018.json", `{"annotations": [{"image_id": 1, "category_id": 1}, {"image_id": 1, "category_id": 2}]}`, 0, -1, gometric.ErrShape, "annotated twice"},
		{"list unknown image", trainList, rels[0] + "\nnot/there.jpg\n", 2, -1, gometric.ErrShape, "neither"},
		{"list escaping", trainList, "/etc/passwd\n", 1, -1, gometric.ErrShape, "relative"},
		{"list duplicate", trainList, rels[0] + "\n\n" + rels[0] + "\n", 3, -1, gometric.ErrShape, "already listed"},
		{"list empty", trainList, "\n\n", 0, -1, gometric.ErrShape, "no images listed"},
		{"list too long", trainList, strings.Repeat("a", maxIndexLine+1), 1, -1, gometric.ErrShape, "longer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, b := range orig {
				os.WriteFile(filepath.Join(dir, name), b, 0o644)
			}
			p := filepath.Join(dir, tc.file)
			os.WriteFile(p, []byte(tc.content), 0o644)
			_, err := NewINaturalist2018(dir, SplitTrainTest)
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("%v: want a *FileError wrapping %v", err, tc.sentinel)
			}
			if fe.Path != p || fe.Line != tc.line || fe.Offset != tc.offset || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "datasets.NewINaturalist2018: ") {
				t.Errorf("%v: want %s:%d (byte %d) and %q", err, p, tc.line, tc.offset, tc.msg)
			}
		})
	}
	for name, b := range orig {
		os.WriteFile(filepath.Join(dir, name), b, 0o644)
	}
	// An image without an annotation, and a missing image file.
	os.WriteFile(filepath.Join(dir, "val2018.json"), []byte(`{"images": [`+img(5, "v/a.jpg")+`]}`), 0o644)
	os.WriteFile(filepath.Join(dir, trainList), []byte("v/a.jpg\n"), 0o644)
	if _, err := NewINaturalist2018(dir, SplitTrain); !errors.Is(err, gometric.ErrLabels) || !strings.Contains(err.Error(), "set1.txt:1: image v/a.jpg (id 5) has no annotation") {
		t.Errorf("no annotation: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "val2018.json"), []byte(`{"images": [`+img(5, "v/a.jpg")+`], "annotations": [{"image_id": 5, "category_id": 3}]}`), 0o644)
	if _, err := NewINaturalist2018(dir, SplitTrain); !errors.Is(err, gometric.ErrShape) || !strings.Contains(err.Error(), "set1.txt:1: image "+filepath.Join(dir, "v", "a.jpg")) {
		t.Errorf("missing image: %v", err)
	}
	os.Remove(filepath.Join(dir, "train2018.json"))
	if _, err := NewINaturalist2018(dir, SplitTrain); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing JSON: %v", err)
	}
	if _, err := NewINaturalist2018FS(nil, SplitTrain); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil fs.FS: %v", err)
	}
}

// FuzzINaturalist2018Index feeds arbitrary train2018.json, val2018.json
// and training list to NewINaturalist2018FS: an error wrapping a
// sentinel, or a data set with non-negative labels and paths the list
// names.
func FuzzINaturalist2018Index(f *testing.F) {
	f.Add(`{"images": [{"id": 1, "file_name": "t/a.jpg"}], "annotations": [{"id": 1, "image_id": 1, "category_id": 4}]}`,
		`{"images": [{"id": 2, "file_name": "t/b.jpg"}], "annotations": [{"image_id": 2, "category_id": 0}]}`, "t/a.jpg\nt/b.jpg\n", false)
	f.Add(`{"images": [{"id": 1, "file_name": "a"}]}`, `{"annotations": [{"image_id": 1, "category_id": 9}]}`, "a\r\n", true)
	f.Add(`{"images": 3}`, `[]`, "", false)
	f.Fuzz(func(t *testing.T, train, val, list string, missing bool) {
		m := fstest.MapFS{
			"train2018.json": {Data: []byte(train)},
			"val2018.json":   {Data: []byte(val)},
			"Inat_dataset_splits/Inaturalist_train_set1.txt": {Data: []byte(list)},
		}
		var fsys fs.FS = m
		if !missing {
			fsys = imagesExistFS{m}
		}
		d, err := NewINaturalist2018FS(fsys, SplitTrain)
		if err != nil {
			layoutErr(t, err)
			return
		}
		if d.Len() == 0 || len(d.Paths()) != d.Len() {
			t.Fatalf("%d images, %d paths", d.Len(), len(d.Paths()))
		}
		for i, l := range d.Labels() {
			if p := d.Paths()[i]; l < 0 || !fs.ValidPath(p) || !strings.Contains(list, p) {
				t.Fatalf("label %d path %q", l, p)
			}
		}
	})
}
