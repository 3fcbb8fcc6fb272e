package datasets

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// CUB-200-2011 splits, PML's datasets.CUB split names: classes 1–100 for
// training, 101–200 for testing, or all 200.
const (
	CUBTrain     = "train"
	CUBTest      = "test"
	CUBTrainTest = "train+test"
)

// CUBDirName is the directory the CUB-200-2011 archive unpacks to.
const CUBDirName = "CUB_200_2011"

// cubClasses is the number of CUB-200-2011 classes.
const cubClasses = 200

// maxIndexLine bounds the length of a line of a CUB index file.
const maxIndexLine = 1 << 16

// NewCUB opens CUB-200-2011 in its official layout, mirroring PML's
// datasets.CUB (without download): root is the CUB_200_2011 directory or
// the directory holding it (PML's root), which contains
//
//	images.txt             "<image id> <path under images/>" per line
//	image_class_labels.txt "<image id> <class id 1–200>" per line
//	classes.txt            "<class id> <class name>" per line (optional here)
//	images/<class dir>/<file>.jpg
//
// split is CUBTrain (classes 1–100), CUBTest (classes 101–200) or
// CUBTrainTest (all), PML's class-disjoint protocol; train_test_split.txt
// is ignored, as PML ignores it. The images come in the order of
// image_class_labels.txt with their class ids (1–200) as labels, as PML
// keeps them; Relabel gives 0..k-1. The result decodes its JPEGs on demand
// at 224×224 with ImageNet normalisation; set Width, Height, Fit,
// Interpolation, Norm and CacheSize, or Load everything (see ImageFiles).
//
// PML pairs the lines of images.txt and image_class_labels.txt and drops a
// pair whose ids differ; NewCUB matches the two files by image id instead
// and reports an id missing from either file, a duplicate id, a class
// outside 1–200, a malformed line or a listed image that does not exist
// (checked at open, as the other layouts) as a *FileError with the path
// and the line number.
func NewCUB(root, split string) (*ImageFiles, error) {
	return newCUB("datasets.NewCUB", osFS{}, root, filepath.Join, split)
}

// NewCUBFS is NewCUB reading from fsys, whose root is the CUB_200_2011
// directory or the directory holding it.
func NewCUBFS(fsys fs.FS, split string) (*ImageFiles, error) {
	return newCUB("datasets.NewCUBFS", fsys, ".", path.Join, split)
}

func newCUB(comp string, fsys fs.FS, base string, join func(...string) string, split string) (*ImageFiles, error) {
	if check.Nil(fsys) {
		return nil, check.Settingf(comp, "nil fs.FS")
	}
	var lo, hi int
	switch split {
	case CUBTrain:
		lo, hi = 1, 100
	case CUBTest:
		lo, hi = 101, 200
	case CUBTrainTest:
		lo, hi = 1, 200
	default:
		return nil, check.Settingf(comp, "split %q: supported splits are %s, %s, %s", split, CUBTrain, CUBTest, CUBTrainTest)
	}
	if _, err := fs.Stat(fsys, join(base, CUBDirName, "images.txt")); err == nil {
		base = join(base, CUBDirName)
	}
	open := func(name string, optional bool) (io.ReadCloser, string, error) {
		p := join(base, name)
		f, err := fsys.Open(p)
		if err != nil {
			if optional && errors.Is(err, fs.ErrNotExist) {
				return nil, p, nil
			}
			return nil, p, fmt.Errorf("%s: %w", comp, pathErr(err, p))
		}
		return f, p, nil
	}
	var idx cubIndex
	imgs, imgsPath, err := open("images.txt", false)
	if err != nil {
		return nil, err
	}
	err = idx.readImages(comp, imgs, imgsPath)
	imgs.Close()
	if err != nil {
		return nil, err
	}
	labs, labsPath, err := open("image_class_labels.txt", false)
	if err != nil {
		return nil, err
	}
	err = idx.readLabels(comp, labs, labsPath)
	labs.Close()
	if err != nil {
		return nil, err
	}
	cls, clsPath, err := open("classes.txt", true)
	if err != nil {
		return nil, err
	}
	if cls != nil {
		err = idx.readClasses(comp, cls, clsPath)
		cls.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := idx.complete(comp, imgsPath, labsPath, clsPath); err != nil {
		return nil, err
	}
	var refs []fileRef
	var labels []int
	for _, e := range idx.order {
		if e.class < lo || e.class > hi {
			continue
		}
		refs = append(refs, fileRef{path: join(base, "images", e.path), index: imgsPath, line: e.imgLine})
		labels = append(labels, e.class)
	}
	if len(labels) == 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "%s lists no image of classes %d–%d (split %q)", labsPath, lo, hi, split)
	}
	return filesFromRefs(comp, fsys, refs, labels, idx.names)
}

// cubEntry is one image of the CUB index.
type cubEntry struct {
	id, class int
	path      string
	imgLine   int // line in images.txt
}

// cubIndex collects the CUB index files.
type cubIndex struct {
	byID  map[int]*cubEntry
	order []*cubEntry // in image_class_labels.txt order
	names []string    // by class id; nil without classes.txt
}

// scanLines calls fn with the fields of each non-blank line of r and its
// 1-based number; fn's error stops the scan.
func scanLines(comp string, r io.Reader, p string, fn func(line int, fields []string) error) error {
	return scanRawLines(comp, r, p, func(line int, text string) error {
		fields := strings.Fields(text)
		if len(fields) == 0 {
			return nil
		}
		return fn(line, fields)
	})
}

// scanRawLines calls fn with each line of r (without its line ending, a
// UTF-8 byte order mark removed from the first) and its 1-based number;
// fn's error stops the scan. A line longer than maxIndexLine is an error
// naming the path and the line.
func scanRawLines(comp string, r io.Reader, p string, fn func(line int, text string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxIndexLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		if err := fn(line, text); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if !errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("%s: %s: %w", comp, p, err)
		}
		return &FileError{Component: comp, Path: p, Line: line + 1, Offset: -1, Msg: fmt.Sprintf("line longer than %d bytes", maxIndexLine), Err: gometric.ErrShape}
	}
	return nil
}

func lineErr(comp, p string, line int, sentinel error, format string, args ...any) error {
	return &FileError{Component: comp, Path: p, Line: line, Offset: -1, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// positiveInt parses a positive decimal integer.
func positiveInt(s string) (int, bool) {
	v, err := strconv.Atoi(s)
	return v, err == nil && v > 0
}

func (x *cubIndex) readImages(comp string, r io.Reader, p string) error {
	x.byID = map[int]*cubEntry{}
	return scanLines(comp, r, p, func(line int, f []string) error {
		if len(f) != 2 {
			return lineErr(comp, p, line, gometric.ErrShape, "want \"<image id> <image path>\", got %d fields", len(f))
		}
		id, ok := positiveInt(f[0])
		if !ok {
			return lineErr(comp, p, line, gometric.ErrShape, "image id %q is not a positive integer", clip(f[0]))
		}
		if !fs.ValidPath(f[1]) || f[1] == "." || strings.Contains(f[1], `\`) {
			return lineErr(comp, p, line, gometric.ErrShape, "image path %q is not a relative slash-separated path inside images/", f[1])
		}
		if prev, dup := x.byID[id]; dup {
			return lineErr(comp, p, line, gometric.ErrShape, "image id %d already on line %d", id, prev.imgLine)
		}
		x.byID[id] = &cubEntry{id: id, path: f[1], imgLine: line}
		return nil
	})
}

func (x *cubIndex) readLabels(comp string, r io.Reader, p string) error {
	lineOf := map[int]int{}
	return scanLines(comp, r, p, func(line int, f []string) error {
		if len(f) != 2 {
			return lineErr(comp, p, line, gometric.ErrShape, "want \"<image id> <class id>\", got %d fields", len(f))
		}
		id, ok := positiveInt(f[0])
		if !ok {
			return lineErr(comp, p, line, gometric.ErrShape, "image id %q is not a positive integer", clip(f[0]))
		}
		class, err := strconv.Atoi(f[1])
		if err != nil {
			return lineErr(comp, p, line, gometric.ErrShape, "class id %q is not an integer", clip(f[1]))
		}
		if class < 1 || class > cubClasses {
			return lineErr(comp, p, line, gometric.ErrLabels, "class id %d is outside 1–%d", class, cubClasses)
		}
		if prev, dup := lineOf[id]; dup {
			return lineErr(comp, p, line, gometric.ErrShape, "image id %d already on line %d", id, prev)
		}
		e, ok := x.byID[id]
		if !ok {
			return lineErr(comp, p, line, gometric.ErrShape, "image id %d is not in images.txt", id)
		}
		lineOf[id] = line
		e.class = class
		x.order = append(x.order, e)
		return nil
	})
}

func (x *cubIndex) readClasses(comp string, r io.Reader, p string) error {
	x.names = make([]string, cubClasses+1)
	return scanLines(comp, r, p, func(line int, f []string) error {
		if len(f) < 2 {
			return lineErr(comp, p, line, gometric.ErrShape, "want \"<class id> <class name>\", got %d fields", len(f))
		}
		id, err := strconv.Atoi(f[0])
		if err != nil {
			return lineErr(comp, p, line, gometric.ErrShape, "class id %q is not an integer", clip(f[0]))
		}
		if id < 1 || id > cubClasses {
			return lineErr(comp, p, line, gometric.ErrLabels, "class id %d is outside 1–%d", id, cubClasses)
		}
		if x.names[id] != "" {
			return lineErr(comp, p, line, gometric.ErrShape, "class id %d is named twice", id)
		}
		x.names[id] = strings.Join(f[1:], " ")
		return nil
	})
}

// complete checks that every image has a class, and every class of an
// image a name when classes.txt was read.
func (x *cubIndex) complete(comp, imgsPath, labsPath, clsPath string) error {
	if len(x.order) != len(x.byID) {
		first := 0
		for _, e := range x.byID {
			if e.class == 0 && (first == 0 || e.imgLine < x.byID[first].imgLine) {
				first = e.id
			}
		}
		e := x.byID[first]
		return lineErr(comp, imgsPath, e.imgLine, gometric.ErrShape, "image id %d has no class in %s (%d of %d images have one)", e.id, labsPath, len(x.order), len(x.byID))
	}
	if len(x.order) == 0 {
		return &FileError{Component: comp, Path: imgsPath, Offset: -1, Msg: "no images listed", Err: gometric.ErrShape}
	}
	if x.names != nil {
		for _, e := range x.order {
			if x.names[e.class] == "" {
				return &FileError{Component: comp, Path: clsPath, Offset: -1, Msg: fmt.Sprintf("class %d (of image %d) has no name", e.class, e.id), Err: gometric.ErrShape}
			}
		}
	}
	return nil
}
