package datasets

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// SOPDirName is the directory the Stanford Online Products archive
// unpacks to.
const SOPDirName = "Stanford_Online_Products"

// sopHeader is the first line of Ebay_train.txt and Ebay_test.txt.
var sopHeader = []string{"image_id", "class_id", "super_class_id", "path"}

// NewSOP opens Stanford Online Products in its official layout, mirroring
// PML's datasets.StanfordOnlineProducts (without download): root is the
// Stanford_Online_Products directory or the directory holding it (PML's
// root), which contains
//
//	Ebay_train.txt  the header "image_id class_id super_class_id path", then
//	                "<image id> <class id> <super class id> <path>" per line
//	Ebay_test.txt   the same for the test images
//	<super class>_final/<file>.JPG, the paths the listings name
//
// split is SplitTrain (Ebay_train.txt: classes 1–11,318 in the real data),
// SplitTest (Ebay_test.txt: classes 11,319–22,634) or SplitTrainTest (the
// training images, then the test images), PML's class-disjoint protocol.
// The labels are the class ids as PML keeps them (Relabel gives 0..k-1);
// the super class ids (1–12) are label level 1 (LabelsAt(1)), the second
// column of the 2-D labels PML's testers read with label_hierarchy_level.
// Classes() is nil: the data set names no classes. The result decodes its
// JPEGs on demand at 224×224 with ImageNet normalisation (see ImageFiles).
//
// PML skips the first line whatever it holds; NewSOP requires it to be
// the header. A malformed line (not 4 fields, an id that is not a
// positive integer, a path that leaves the directory, an image id or path
// listed twice, a class listed under two super classes) is a *FileError
// with the path and the line, wrapping gometric.ErrShape or ErrLabels.
// Every image of the split is checked to exist: a missing one is a
// *FileError naming the listing file and the line that lists it.
func NewSOP(root, split string) (*ImageFiles, error) {
	return newSOP("datasets.NewSOP", osFS{}, root, filepath.Join, split)
}

// NewSOPFS is NewSOP reading from fsys, whose root is the
// Stanford_Online_Products directory or the directory holding it.
func NewSOPFS(fsys fs.FS, split string) (*ImageFiles, error) {
	return newSOP("datasets.NewSOPFS", fsys, ".", path.Join, split)
}

func newSOP(comp string, fsys fs.FS, base string, join func(...string) string, split string) (*ImageFiles, error) {
	if check.Nil(fsys) {
		return nil, check.Settingf(comp, "nil fs.FS")
	}
	if err := checkSplit(comp, split); err != nil {
		return nil, err
	}
	if fi, err := fs.Stat(fsys, join(base, SOPDirName)); err == nil && fi.IsDir() {
		base = join(base, SOPDirName)
	}
	parts := []string{split}
	if split == SplitTrainTest {
		parts = []string{SplitTrain, SplitTest}
	}
	var refs []fileRef
	var labels, supers []int
	superOf := map[int]fileRef{} // class → where its super class was first given
	superVal := map[int]int{}
	for _, part := range parts {
		p := join(base, "Ebay_"+part+".txt")
		r, err := openIndex(comp, fsys, p)
		if err != nil {
			return nil, err
		}
		idLine := map[int]int{}
		pathLine := map[string]int{}
		n := 0
		err = scanRawLines(comp, r, p, func(line int, text string) error {
			f := strings.Fields(text)
			if line == 1 {
				if !slices.Equal(f, sopHeader) {
					return lineErr(comp, p, line, gometric.ErrShape, "want the header %q, got %q", strings.Join(sopHeader, " "), clip(text))
				}
				return nil
			}
			if len(f) == 0 {
				return nil
			}
			if len(f) != 4 {
				return lineErr(comp, p, line, gometric.ErrShape, "want \"<image id> <class id> <super class id> <path>\", got %d fields", len(f))
			}
			var ids [3]int
			for k, what := range []string{"image id", "class id", "super class id"} {
				v, ok := positiveInt(f[k])
				if !ok {
					return lineErr(comp, p, line, gometric.ErrLabels, "%s %q is not a positive integer", what, clip(f[k]))
				}
				ids[k] = v
			}
			id, class, super, rel := ids[0], ids[1], ids[2], f[3]
			if !validRel(rel) {
				return lineErr(comp, p, line, gometric.ErrShape, "image path %q is not a relative slash-separated path inside %s", clip(rel), SOPDirName)
			}
			if prev, dup := idLine[id]; dup {
				return lineErr(comp, p, line, gometric.ErrShape, "image id %d already on line %d", id, prev)
			}
			if prev, dup := pathLine[rel]; dup {
				return lineErr(comp, p, line, gometric.ErrShape, "image %s already on line %d", rel, prev)
			}
			if prev, ok := superOf[class]; ok && superVal[class] != super {
				return lineErr(comp, p, line, gometric.ErrLabels, "class %d has super class %d here and %d at %s:%d", class, super, superVal[class], prev.index, prev.line)
			}
			idLine[id], pathLine[rel] = line, line
			ref := fileRef{path: join(base, rel), index: p, line: line}
			if _, ok := superOf[class]; !ok {
				superOf[class], superVal[class] = ref, super
			}
			refs = append(refs, ref)
			labels = append(labels, class)
			supers = append(supers, super)
			n++
			return nil
		})
		r.Close()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, &FileError{Component: comp, Path: p, Offset: -1, Msg: "no images listed", Err: gometric.ErrShape}
		}
	}
	f, err := filesFromRefs(comp, fsys, refs, labels, nil)
	if err != nil {
		return nil, err
	}
	f.upper = [][]int{supers}
	return f, nil
}
