package datasets

import (
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// The splits of PML's BaseDataset data sets (Cars196,
// StanfordOnlineProducts, INaturalist2018 and CUB, whose CUBTrain, CUBTest
// and CUBTrainTest are the same strings): its get_available_splits.
const (
	SplitTrain     = "train"
	SplitTest      = "test"
	SplitTrainTest = "train+test"
)

// cars196Classes is the number of Cars196 classes; PML trains on classes
// 1–98 and tests on 99–196.
const (
	cars196Classes   = 196
	cars196LastTrain = 98
)

// NewCars196 opens Cars196 (Stanford Cars) in the layout PML's
// datasets.Cars196 reads (Kaggle's "stanford-car-dataset-by-classes-folder"
// archive, unpacked; without download): root holds
//
//	names.csv      one class name per line, class k on line k (k = 1…196)
//	anno_train.csv "<file>,<x1>,<y1>,<x2>,<y2>,<class id>" per line, no header
//	anno_test.csv  the same for the test images
//	car_data/car_data/train/<class name>/<file>
//	car_data/car_data/test/<class name>/<file>
//
// where <class name> is the class's line of names.csv with "/" replaced by
// "-", as PML builds it. As PML, a line of an annotation file gives the
// image's file (its first field) and its class id (its last field); the
// bounding box is not used.
//
// split is SplitTrain (classes 1–98), SplitTest (classes 99–196) or
// SplitTrainTest (all 196), PML's class-disjoint protocol (PML's
// range(1, 99) and range(99, 197)): the images of anno_train.csv, then
// those of anno_test.csv, whose class is in the split, with their class ids
// (1–196) as labels, as PML keeps them; Relabel gives 0..k-1. Classes()
// holds the names of names.csv by class id (Classes()[0] is ""). The
// result decodes its JPEGs on demand at 224×224 with ImageNet
// normalisation (see ImageFiles).
//
// A malformed line (too few fields, a class id that is not an integer in
// 1–196 or has no name, an unsafe file name, an image listed twice, a
// blank line inside names.csv, more than 196 names) is a *FileError with
// the path and the line, wrapping gometric.ErrShape or ErrLabels. Every
// image of the split is checked to exist: a missing one is a *FileError
// naming the annotation file and the line that lists it.
func NewCars196(root, split string) (*ImageFiles, error) {
	return newCars196("datasets.NewCars196", osFS{}, root, filepath.Join, split)
}

// NewCars196FS is NewCars196 reading from fsys, whose root holds names.csv.
func NewCars196FS(fsys fs.FS, split string) (*ImageFiles, error) {
	return newCars196("datasets.NewCars196FS", fsys, ".", path.Join, split)
}

func newCars196(comp string, fsys fs.FS, root string, join func(...string) string, split string) (*ImageFiles, error) {
	if check.Nil(fsys) {
		return nil, check.Settingf(comp, "nil fs.FS")
	}
	if err := checkSplit(comp, split); err != nil {
		return nil, err
	}
	lo, hi := 1, cars196Classes
	switch split {
	case SplitTrain:
		hi = cars196LastTrain
	case SplitTest:
		lo = cars196LastTrain + 1
	}
	namesPath := join(root, "names.csv")
	r, err := openIndex(comp, fsys, namesPath)
	if err != nil {
		return nil, err
	}
	names, err := readCars196Names(comp, r, namesPath)
	r.Close()
	if err != nil {
		return nil, err
	}
	var refs []fileRef
	var labels []int
	seen := map[string]fileRef{}
	for _, part := range []string{"train", "test"} {
		annoPath := join(root, "anno_"+part+".csv")
		r, err := openIndex(comp, fsys, annoPath)
		if err != nil {
			return nil, err
		}
		err = scanRawLines(comp, r, annoPath, func(line int, text string) error {
			file, class, err := parseCars196Anno(comp, annoPath, line, text, len(names)-1)
			if err != nil || file == "" {
				return err
			}
			if class < lo || class > hi {
				return nil
			}
			p := join(root, "car_data", "car_data", part, strings.ReplaceAll(names[class], "/", "-"), file)
			if prev, dup := seen[p]; dup {
				if prev.index == annoPath {
					return lineErr(comp, annoPath, line, gometric.ErrShape, "image %s already on line %d", file, prev.line)
				}
				return lineErr(comp, annoPath, line, gometric.ErrShape, "image %s already listed by %s:%d", file, prev.index, prev.line)
			}
			ref := fileRef{path: p, index: annoPath, line: line}
			seen[p] = ref
			refs = append(refs, ref)
			labels = append(labels, class)
			return nil
		})
		r.Close()
		if err != nil {
			return nil, err
		}
	}
	if len(labels) == 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "%s and %s list no image of classes %d–%d (split %q)",
			join(root, "anno_train.csv"), join(root, "anno_test.csv"), lo, hi, split)
	}
	return filesFromRefs(comp, fsys, refs, labels, names)
}

// readCars196Names reads names.csv: the name of class k on line k, each
// stripped of surrounding white space as PML strips it. It returns the
// names indexed by class id (names[0] is ""). Blank lines at the end are
// ignored; a blank line before a name is an error, as is a 197th name or
// a name that cannot be a directory name.
func readCars196Names(comp string, r io.Reader, p string) ([]string, error) {
	names := []string{""}
	blank := 0 // the first of the blank lines since the last name
	err := scanRawLines(comp, r, p, func(line int, text string) error {
		name := strings.TrimSpace(text)
		if name == "" {
			if blank == 0 {
				blank = line
			}
			return nil
		}
		if blank != 0 {
			return lineErr(comp, p, blank, gometric.ErrShape, "blank line: class %d has no name", blank)
		}
		if line > cars196Classes {
			return lineErr(comp, p, line, gometric.ErrLabels, "more than %d class names", cars196Classes)
		}
		if dir := strings.ReplaceAll(name, "/", "-"); !validRel(dir) || strings.ContainsRune(dir, 0) {
			return lineErr(comp, p, line, gometric.ErrShape, "class name %q is not a valid directory name", clip(name))
		}
		names = append(names, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 1 {
		return nil, &FileError{Component: comp, Path: p, Offset: -1, Msg: "no class names", Err: gometric.ErrShape}
	}
	return names, nil
}

// parseCars196Anno parses a line of anno_{train,test}.csv: PML takes the
// first field as the file and the last as the class id. A blank line
// gives file "". maxClass is the number of names in names.csv.
func parseCars196Anno(comp, p string, line int, text string, maxClass int) (file string, class int, err error) {
	if strings.TrimSpace(text) == "" {
		return "", 0, nil
	}
	f := strings.Split(text, ",")
	if len(f) < 2 {
		return "", 0, lineErr(comp, p, line, gometric.ErrShape, "want \"<file>,<x1>,<y1>,<x2>,<y2>,<class id>\", got %d field", len(f))
	}
	file = strings.TrimSpace(f[0])
	if !validRel(file) {
		return "", 0, lineErr(comp, p, line, gometric.ErrShape, "image file %q is not a relative slash-separated path", clip(file))
	}
	last := strings.TrimSpace(f[len(f)-1])
	class, err = strconv.Atoi(last)
	if err != nil {
		return "", 0, lineErr(comp, p, line, gometric.ErrShape, "class id %q is not an integer", clip(last))
	}
	if class < 1 || class > cars196Classes {
		return "", 0, lineErr(comp, p, line, gometric.ErrLabels, "class id %d is outside 1–%d", class, cars196Classes)
	}
	if class > maxClass {
		return "", 0, lineErr(comp, p, line, gometric.ErrLabels, "class id %d has no name (names.csv names %d classes)", class, maxClass)
	}
	return file, class, nil
}
