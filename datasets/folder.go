package datasets

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// imageExtensions are torchvision's IMG_EXTENSIONS that Go can decode
// (.ppm and .pgm are not).
var imageExtensions = []string{".bmp", ".gif", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp"}

// ImageExtensions returns the file extensions NewImageFolder takes as
// images, in lower case (matched case-insensitively).
func ImageExtensions() []string { return slices.Clone(imageExtensions) }

// NewImageFolder opens a directory of class directories, root/<class>/…
// /<image>, as torchvision's datasets.ImageFolder (PML's examples load
// their image sets this way): the classes are the sub-directories of root
// in sorted order and a class's label is its index in that order; its
// images are the files with an image extension (see ImageExtensions) at
// any depth below it, taken directory by directory in sorted order of the
// directory paths, files sorted within a directory. Other files are
// ignored; a class directory without images is an error, as in
// torchvision. Symbolic links to directories are not followed. The result
// decodes on demand at 224×224 with ImageNet normalisation (see
// ImageFiles).
func NewImageFolder(root string) (*ImageFiles, error) {
	return newImageFolder("datasets.NewImageFolder", osFS{}, root, filepath.Join)
}

// NewImageFolderFS is NewImageFolder over the root of fsys.
func NewImageFolderFS(fsys fs.FS) (*ImageFiles, error) {
	return newImageFolder("datasets.NewImageFolderFS", fsys, ".", path.Join)
}

func newImageFolder(comp string, fsys fs.FS, root string, join func(...string) string) (*ImageFiles, error) {
	if check.Nil(fsys) {
		return nil, check.Settingf(comp, "nil fs.FS")
	}
	entries, err := fs.ReadDir(fsys, root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", comp, pathErr(err, root))
	}
	var classes []string
	for _, e := range entries {
		if e.IsDir() {
			classes = append(classes, e.Name())
		}
	}
	slices.Sort(classes)
	if len(classes) == 0 {
		return nil, check.Errorf(comp, gometric.ErrShape, "%s has no class directories", root)
	}
	var paths []string
	var labels []int
	for label, class := range classes {
		dir := join(root, class)
		byDir := map[string][]string{}
		err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return pathErr(err, p)
			}
			if d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 {
				if slices.Contains(imageExtensions, strings.ToLower(path.Ext(d.Name()))) {
					parent := p[:len(p)-len(d.Name())]
					byDir[parent] = append(byDir[parent], d.Name())
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", comp, err)
		}
		if len(byDir) == 0 {
			return nil, check.Errorf(comp, gometric.ErrShape, "class directory %s holds no image (extensions %s)", dir, strings.Join(imageExtensions, " "))
		}
		dirs := make([]string, 0, len(byDir))
		for d := range byDir {
			dirs = append(dirs, d)
		}
		// torchvision sorts os.walk's (dirpath, ...) tuples: by directory
		// path without its trailing separator.
		slices.SortFunc(dirs, func(a, b string) int {
			return strings.Compare(strings.TrimSuffix(a, "/"), strings.TrimSuffix(b, "/"))
		})
		for _, d := range dirs {
			names := byDir[d]
			slices.Sort(names)
			for _, n := range names {
				paths = append(paths, d+n)
				labels = append(labels, label)
			}
		}
	}
	return newImageFiles(fsys, paths, labels, classes), nil
}
