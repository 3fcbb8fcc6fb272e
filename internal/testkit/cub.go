package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// CUBImage is one image of a CUB-200-2011 fixture written by WriteCUB. It
// is a plain value, safe for concurrent use.
type CUBImage struct {
	ID    int    // its id in the listing files
	Class int    // its class, 1 to 200
	Rel   string // its path under images/, with slashes
	Train bool   // its flag in train_test_split.txt
	JPEG  []byte // the file's content
}

// CUBClassDir is the directory of class c (1 to 200) under images/, as
// classes.txt names it: "%03d.Bird_%d".
func CUBClassDir(c int) string { return fmt.Sprintf("%03d.Bird_%d", c, c) }

// WriteCUB writes CUB-200-2011's layout in dir (the CUB_200_2011
// directory): each image at images/<Rel>; images.txt and
// image_class_labels.txt listing them in the order given; classes.txt
// naming the 200 classes by CUBClassDir; and, when split is set,
// train_test_split.txt.
func WriteCUB(t testing.TB, dir string, images []CUBImage, split bool) {
	t.Helper()
	var list, labels, splits, names strings.Builder
	for c := 1; c <= 200; c++ {
		fmt.Fprintf(&names, "%d %s\n", c, CUBClassDir(c))
	}
	for _, im := range images {
		path := filepath.Join(dir, "images", filepath.FromSlash(im.Rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, im.JPEG, 0o644); err != nil {
			t.Fatal(err)
		}
		train := 0
		if im.Train {
			train = 1
		}
		fmt.Fprintf(&list, "%d %s\n", im.ID, im.Rel)
		fmt.Fprintf(&labels, "%d %d\n", im.ID, im.Class)
		fmt.Fprintf(&splits, "%d %d\n", im.ID, train)
	}
	files := map[string]string{"images.txt": list.String(), "image_class_labels.txt": labels.String(), "classes.txt": names.String()}
	if split {
		files["train_test_split.txt"] = splits.String()
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
