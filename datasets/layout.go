package datasets

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Split names shared by PML's BaseDataset subclasses (CUB, Cars196,
// StanfordOnlineProducts, INaturalist2018): get_available_splits returns
// "train", "test" and "train+test".
var pmlSplits = []string{"train", "test", "train+test"}

// checkSplit refuses a split PML's BaseDataset refuses.
func checkSplit(comp, split string) error {
	for _, s := range pmlSplits {
		if s == split {
			return nil
		}
	}
	return check.Settingf(comp, "split %q: supported splits are %s", split, strings.Join(pmlSplits, ", "))
}

// Stat makes osFS an fs.StatFS, so that checking that a listed image
// exists does not open it.
func (osFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }

// openIndex opens the index file p of a data set layout.
func openIndex(comp string, fsys fs.FS, p string) (io.ReadCloser, error) {
	f, err := fsys.Open(p)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", comp, pathErr(err, p))
	}
	return f, nil
}

// fileRef is an image file an index file lists, and where.
type fileRef struct {
	path  string // the image file
	index string // the index file listing it
	line  int    // the line of index
}

// checkFiles stats every image refs lists and reports the first that is
// missing (or not a regular file) as a *FileError naming the index file
// and its line, with the number of missing images.
func checkFiles(comp string, fsys fs.FS, refs []fileRef) error {
	first := -1
	var firstErr error
	missing := 0
	for k, r := range refs {
		fi, err := fs.Stat(fsys, r.path)
		if err == nil && fi.IsDir() {
			err = errors.New("is a directory")
		}
		if err != nil {
			missing++
			if first < 0 {
				first, firstErr = k, err
			}
		}
	}
	if first < 0 {
		return nil
	}
	r := refs[first]
	var pe *fs.PathError
	if errors.As(firstErr, &pe) {
		firstErr = pe.Err
	}
	return lineErr(comp, r.index, r.line, gometric.ErrShape, "image %s: %v (%d of the %d images listed are missing)", r.path, firstErr, missing, len(refs))
}

// validRel reports whether s is a relative slash-separated path that stays
// inside its directory (no "..", no backslash, not absolute, not ".").
func validRel(s string) bool {
	return fs.ValidPath(s) && s != "." && !strings.Contains(s, `\`)
}

// filesFromRefs checks that every listed image exists (checkFiles) and
// returns the data set of the listed paths and labels, with class names
// (nil where the layout has none).
func filesFromRefs(comp string, fsys fs.FS, refs []fileRef, labels []int, names []string) (*ImageFiles, error) {
	if err := checkFiles(comp, fsys, refs); err != nil {
		return nil, err
	}
	paths := make([]string, len(refs))
	for i, r := range refs {
		paths[i] = r.path
	}
	return newImageFiles(fsys, paths, labels, names), nil
}
