package datasets

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"

	"github.com/gometric/gometric"
)

// DefaultFashionMNISTDir is where Debian's dataset-fashion-mnist package
// installs Fashion-MNIST (`apt-get install dataset-fashion-mnist`).
const DefaultFashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// Sizes of the embedded Fashion-MNIST sample: the first
// SampleTrainPerClass training images and the first SampleTestPerClass
// test images of each of the 10 classes, in file order.
const (
	SampleTrainPerClass = 200
	SampleTestPerClass  = 100
)

// The embedded sample, written by datasets/internal/gensample from the
// Debian package's files.
//
//go:embed sample
var sampleFS embed.FS

// FashionMNISTClasses returns the names of the 10 Fashion-MNIST classes
// by label, as torchvision.datasets.FashionMNIST.classes.
func FashionMNISTClasses() []string {
	return []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
}

// LoadFashionMNIST reads Fashion-MNIST from dir ("" means
// DefaultFashionMNISTDir): train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each gzip-compressed
// (name.gz, as Debian ships them) or not. It returns the 60,000 training
// and 10,000 test images (1×28×28, labels 0–9, class names set) with Norm
// set to FashionMNISTNormalize(), which is torchvision's
// datasets.FashionMNIST with ToTensor and Normalize((0.2860,), (0.3530,)).
// PML has no Fashion-MNIST module.
//
// A missing file gives an error wrapping fs.ErrNotExist that says how to
// install the data; a malformed one a *FileError with the path and the
// byte offset.
func LoadFashionMNIST(dir string) (train, test *Images, err error) {
	if dir == "" {
		dir = DefaultFashionMNISTDir
	}
	return loadFashion("datasets.LoadFashionMNIST", osFS{}, dir, filepath.Join)
}

// FashionMNISTSample returns the sample of Fashion-MNIST embedded in the
// package: 2,000 training images (the first 200 of each class in the
// training file) and 1,000 test images (the first 100 of each class in the
// test file), real images from the Debian package, so that examples and
// tests run where the full data set is not installed. Norm is
// FashionMNISTNormalize(). Each call decodes a fresh copy (about 2.4 MB).
func FashionMNISTSample() (train, test *Images, err error) {
	return loadFashion("datasets.FashionMNISTSample", sampleFS, "sample", path.Join)
}

// LoadFashionMNISTOrSample loads Fashion-MNIST from dir as
// LoadFashionMNIST does; when its files are not there it returns the
// embedded sample instead, with usedSample true (print
// FashionMNISTSampleNotice(dir) to tell the user). A file that exists but
// cannot be read or parsed is an error, not a reason to fall back.
func LoadFashionMNISTOrSample(dir string) (train, test *Images, usedSample bool, err error) {
	train, test, err = LoadFashionMNIST(dir)
	if err == nil {
		return train, test, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, false, err
	}
	train, test, err = FashionMNISTSample()
	return train, test, err == nil, err
}

// FashionMNISTSampleNotice returns the message to show when
// LoadFashionMNISTOrSample fell back to the embedded sample.
func FashionMNISTSampleNotice(dir string) string {
	if dir == "" {
		dir = DefaultFashionMNISTDir
	}
	return fmt.Sprintf("Fashion-MNIST was not found in %s; using the embedded sample (%d training and %d test images).\n"+
		"For the full data set (60,000 + 10,000 images) run: sudo apt-get install dataset-fashion-mnist",
		dir, 10*SampleTrainPerClass, 10*SampleTestPerClass)
}

// fashionFile finds base or base.gz in dir.
func fashionFile(comp string, fsys fs.FS, dir, base string, join func(...string) string) (string, error) {
	for _, name := range []string{join(dir, base+".gz"), join(dir, base)} {
		if _, err := fs.Stat(fsys, name); err == nil {
			return name, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("%s: %w", comp, err)
		}
	}
	return "", fmt.Errorf("%s: neither %s nor %s exists (install Fashion-MNIST with `apt-get install dataset-fashion-mnist`, or pass the directory holding its IDX files): %w",
		comp, join(dir, base+".gz"), join(dir, base), fs.ErrNotExist)
}

func loadFashion(comp string, fsys fs.FS, dir string, join func(...string) string) (train, test *Images, err error) {
	var names [4]string
	for i, base := range []string{"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"} {
		if names[i], err = fashionFile(comp, fsys, dir, base, join); err != nil {
			return nil, nil, err
		}
	}
	classes := FashionMNISTClasses()
	train, err = loadIDX(comp, fsys, names[0], names[1], names[0], names[1], classes)
	if err != nil {
		return nil, nil, err
	}
	test, err = loadIDX(comp, fsys, names[2], names[3], names[2], names[3], classes)
	if err != nil {
		return nil, nil, err
	}
	if train.h != test.h || train.w != test.w {
		return nil, nil, &FileError{Component: comp, Path: names[2], Offset: 8,
			Msg: fmt.Sprintf("test images are %d×%d but training images are %d×%d", test.h, test.w, train.h, train.w), Err: gometric.ErrShape}
	}
	train.Norm = FashionMNISTNormalize()
	test.Norm = FashionMNISTNormalize()
	return train, test, nil
}
