package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// INaturalist2018SplitsDir is the directory of the split files PML's
// INaturalist2018 reads (Smooth-AP's Inaturalist_{train,test}_set1.txt).
const INaturalist2018SplitsDir = "Inat_dataset_splits"

// inatJSON is the part of train2018.json and val2018.json PML reads.
type inatJSON struct {
	Images []struct {
		ID       *int64 `json:"id"`
		FileName string `json:"file_name"`
	} `json:"images"`
	Annotations []struct {
		ImageID    *int64 `json:"image_id"`
		CategoryID *int64 `json:"category_id"`
	} `json:"annotations"`
}

// NewINaturalist2018 opens iNaturalist 2018 in the layout PML's
// datasets.INaturalist2018 reads (without download): root holds
//
//	train2018.json, val2018.json   the competition's annotation files: their
//	                               "images" (id, file_name) and
//	                               "annotations" (image_id, category_id)
//	Inat_dataset_splits/Inaturalist_train_set1.txt,
//	Inat_dataset_splits/Inaturalist_test_set1.txt
//	                               one image path (a file_name) per line
//	train_val2018/<kingdom>/<category>/<file>.jpg, the paths the files name
//
// split is SplitTrain, SplitTest or SplitTrainTest (the training list,
// then the test list): the images of the split files in their order, with
// their category ids (0–8141 in the real data) as labels, as PML keeps
// them; the two lists are class-disjoint in the real data (Smooth-AP's
// protocol). Classes() is nil. The result decodes its JPEGs on demand at
// 224×224 with ImageNet normalisation (see ImageFiles).
//
// PML builds dictionaries in which a repeated file_name or image_id
// silently overrides the earlier one; NewINaturalist2018 refuses them.
// A JSON file that does not parse is a *FileError with its path and byte
// offset; a repeated or invalid entry a *FileError naming the file and
// the entry; a line of a split file that is not a valid path, names an
// image absent from both JSON files or without an annotation, or repeats
// a path, is a *FileError with the path and the line, as is a listed
// image file that does not exist. Errors wrap gometric.ErrShape or
// ErrLabels.
func NewINaturalist2018(root, split string) (*ImageFiles, error) {
	return newINaturalist2018("datasets.NewINaturalist2018", osFS{}, root, filepath.Join, split)
}

// NewINaturalist2018FS is NewINaturalist2018 reading from fsys, whose
// root holds train2018.json.
func NewINaturalist2018FS(fsys fs.FS, split string) (*ImageFiles, error) {
	return newINaturalist2018("datasets.NewINaturalist2018FS", fsys, ".", path.Join, split)
}

// inatImage is what the JSON files say about one file_name.
type inatImage struct {
	id       int64
	category int64
	labelled bool
}

func newINaturalist2018(comp string, fsys fs.FS, root string, join func(...string) string, split string) (*ImageFiles, error) {
	if check.Nil(fsys) {
		return nil, check.Settingf(comp, "nil fs.FS")
	}
	if err := checkSplit(comp, split); err != nil {
		return nil, err
	}
	byPath := map[string]*inatImage{}
	byID := map[int64]*inatImage{}
	var docs [2]inatJSON
	var docPaths [2]string
	for k, name := range []string{"val2018.json", "train2018.json"} {
		docPaths[k] = join(root, name)
		if err := readINatJSON(comp, fsys, docPaths[k], &docs[k]); err != nil {
			return nil, err
		}
		if err := addINatImages(comp, docPaths[k], &docs[k], byPath, byID); err != nil {
			return nil, err
		}
	}
	for k := range docs {
		if err := addINatAnnotations(comp, docPaths[k], &docs[k], byID); err != nil {
			return nil, err
		}
	}
	parts := []string{split}
	if split == SplitTrainTest {
		parts = []string{SplitTrain, SplitTest}
	}
	var refs []fileRef
	var labels []int
	seen := map[string]fileRef{}
	for _, part := range parts {
		p := join(root, INaturalist2018SplitsDir, "Inaturalist_"+part+"_set1.txt")
		r, err := openIndex(comp, fsys, p)
		if err != nil {
			return nil, err
		}
		n := 0
		err = scanRawLines(comp, r, p, func(line int, text string) error {
			rel := strings.TrimSpace(text)
			if rel == "" {
				return nil
			}
			if !validRel(rel) {
				return lineErr(comp, p, line, gometric.ErrShape, "image path %q is not a relative slash-separated path", clip(rel))
			}
			im, ok := byPath[rel]
			if !ok {
				return lineErr(comp, p, line, gometric.ErrShape, "image %s is in neither train2018.json nor val2018.json", clip(rel))
			}
			if !im.labelled {
				return lineErr(comp, p, line, gometric.ErrLabels, "image %s (id %d) has no annotation", clip(rel), im.id)
			}
			if prev, dup := seen[rel]; dup {
				return lineErr(comp, p, line, gometric.ErrShape, "image %s already listed at %s:%d", clip(rel), prev.index, prev.line)
			}
			ref := fileRef{path: join(root, rel), index: p, line: line}
			seen[rel] = ref
			refs = append(refs, ref)
			labels = append(labels, int(im.category))
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
	return filesFromRefs(comp, fsys, refs, labels, nil)
}

// readINatJSON decodes the JSON file p into doc.
func readINatJSON(comp string, fsys fs.FS, p string, doc *inatJSON) error {
	r, err := openIndex(comp, fsys, p)
	if err != nil {
		return err
	}
	defer r.Close()
	cr := &countingReader{r: r}
	dec := json.NewDecoder(cr)
	if err := dec.Decode(doc); err != nil {
		off := dec.InputOffset()
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.Is(err, io.ErrUnexpectedEOF):
			off = cr.n // truncated: the error is at the end of the file
		case errors.As(err, &se):
			off = se.Offset
		case errors.As(err, &te):
			off = te.Offset
		}
		return &FileError{Component: comp, Path: p, Offset: off, Msg: fmt.Sprintf("not a JSON object of images and annotations: %v", err), Err: gometric.ErrShape}
	}
	return nil
}

func inatErr(comp, p string, sentinel error, format string, args ...any) error {
	return &FileError{Component: comp, Path: p, Offset: -1, Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// addINatImages adds the images of doc, read from p.
func addINatImages(comp, p string, doc *inatJSON, byPath map[string]*inatImage, byID map[int64]*inatImage) error {
	for k, im := range doc.Images {
		if im.ID == nil {
			return inatErr(comp, p, gometric.ErrShape, "images[%d] has no id", k)
		}
		if !validRel(im.FileName) {
			return inatErr(comp, p, gometric.ErrShape, "images[%d]: file_name %q is not a relative slash-separated path", k, clip(im.FileName))
		}
		if _, dup := byPath[im.FileName]; dup {
			return inatErr(comp, p, gometric.ErrShape, "images[%d]: file_name %s listed twice", k, clip(im.FileName))
		}
		if _, dup := byID[*im.ID]; dup {
			return inatErr(comp, p, gometric.ErrShape, "images[%d]: id %d listed twice", k, *im.ID)
		}
		e := &inatImage{id: *im.ID}
		byPath[im.FileName], byID[*im.ID] = e, e
	}
	return nil
}

// addINatAnnotations labels the images of byID by the annotations of doc,
// read from p.
func addINatAnnotations(comp, p string, doc *inatJSON, byID map[int64]*inatImage) error {
	for k, a := range doc.Annotations {
		if a.ImageID == nil || a.CategoryID == nil {
			return inatErr(comp, p, gometric.ErrShape, "annotations[%d] lacks image_id or category_id", k)
		}
		if c := *a.CategoryID; c < 0 || int64(int(c)) != c {
			return inatErr(comp, p, gometric.ErrLabels, "annotations[%d]: category_id %d is negative or beyond int", k, c)
		}
		e, ok := byID[*a.ImageID]
		if !ok {
			// PML keeps annotations of unlisted images in its dictionary;
			// they are never looked up.
			continue
		}
		if e.labelled {
			return inatErr(comp, p, gometric.ErrShape, "annotations[%d]: image_id %d annotated twice", k, *a.ImageID)
		}
		e.category, e.labelled = *a.CategoryID, true
	}
	return nil
}
