package runner

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/models"
)

// The image data set kinds OpenImages opens (the -dataset values of
// examples/images).
const (
	KindCUB200          = "cub200"
	KindCars196         = "cars196"
	KindSOP             = "sop"
	KindINaturalist2018 = "inaturalist2018"
	KindFolder          = "folder"
)

// imageKind is what the examples know of one image data set kind.
type imageKind struct {
	kind, name string
	// open opens a split (nil for the folder, which has none).
	open func(root, split string) (*datasets.ImageFiles, error)
	// data says what -data is and where the data come from.
	data string
}

var imageKinds = []imageKind{
	{KindCUB200, "CUB-200-2011", datasets.NewCUB,
		"the CUB_200_2011 directory or the directory holding it (images.txt, image_class_labels.txt, classes.txt, images/...); " +
			"this program cannot download it: get CUB_200_2011.tgz from https://www.vision.caltech.edu/datasets/cub_200_2011/ " +
			"(PML's URL: https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz) and extract it"},
	{KindCars196, "Cars196", datasets.NewCars196,
		"the directory holding names.csv, anno_train.csv, anno_test.csv and car_data/car_data/{train,test}/<class name>/; " +
			"this program cannot download it: unzip Kaggle's jutrera/stanford-car-dataset-by-classes-folder " +
			"(PML's Cars196 URL: https://www.kaggle.com/api/v1/datasets/download/jutrera/stanford-car-dataset-by-classes-folder)"},
	{KindSOP, "Stanford Online Products", datasets.NewSOP,
		"the Stanford_Online_Products directory or the directory holding it (Ebay_train.txt, Ebay_test.txt, <super class>_final/...); " +
			"this program cannot download it: unzip Stanford_Online_Products.zip from " +
			"https://github.com/rksltnl/Deep-Metric-Learning-CVPR16 (PML's StanfordOnlineProducts downloads the same archive)"},
	{KindINaturalist2018, "iNaturalist 2018", datasets.NewINaturalist2018,
		"the directory holding train2018.json, val2018.json, Inat_dataset_splits/Inaturalist_{train,test}_set1.txt and train_val2018/...; " +
			"this program cannot download it: extract train_val2018.tar.gz, train2018.json.tar.gz and val2018.json.tar.gz from " +
			"https://ml-inat-competition-datasets.s3.amazonaws.com/2018/ and Smooth-AP's split files " +
			"(https://github.com/Andrew-Brown1/Smooth_AP#data) into it, as PML's INaturalist2018 does"},
	{KindFolder, "image folder", nil,
		"a directory with one sub-directory of images per class (torchvision's ImageFolder)"},
}

// ImageKinds returns the kinds OpenImages accepts, in the order of its
// doc.
func ImageKinds() []string {
	out := make([]string, len(imageKinds))
	for i, k := range imageKinds {
		out[i] = k.kind
	}
	return out
}

func findKind(kind string) (imageKind, error) {
	for _, k := range imageKinds {
		if k.kind == kind {
			return k, nil
		}
	}
	if kind == "" {
		return imageKind{}, fmt.Errorf("-dataset is required: one of %s: %w", strings.Join(ImageKinds(), ", "), gometric.ErrSetting)
	}
	return imageKind{}, fmt.Errorf("-dataset %q: unknown data set; the kinds are %s: %w", kind, strings.Join(ImageKinds(), ", "), gometric.ErrSetting)
}

// ImageName returns the name of an image data set kind as the examples
// print it ("CUB-200-2011", "Cars196", ...); "" for an unknown kind.
func ImageName(kind string) string {
	k, err := findKind(kind)
	if err != nil {
		return ""
	}
	return k.name
}

// ImageDataHelp says what -data must be for an image data set kind: its
// layout and where to get it (PML's download URL); "" for an unknown kind.
func ImageDataHelp(kind string) string {
	k, err := findKind(kind)
	if err != nil {
		return ""
	}
	return k.data
}

// ImageFlags are the flags of an example that trains a ConvNet from
// scratch on image files (examples/cub200 and examples/images): the
// data's directory, the image and network sizes, the class split and the
// decoding. NewImageFlagSet makes one with the examples' defaults and
// registers its flags; the zero value has no -data and embedding size 0,
// which OpenImages and ConvNetConfig refuse with errors wrapping
// gometric.ErrSetting. An ImageFlags is filled by flag parsing and is not
// safe for concurrent use.
type ImageFlags struct {
	// Data is the data set's directory (-data).
	Data string
	// Size is the side the images are resized to (-size): the ConvNet's
	// input is 3 × Size × Size.
	Size int
	// Blocks are the output channels of the ConvNet's
	// conv3×3–ReLU–maxpool2 blocks, comma-separated (-blocks).
	Blocks string
	// Embedding is the embedding size (-embedding).
	Embedding int
	// TrainClasses and TestClasses are class lists in
	// datasets.ParseClassList's form (-train-classes, -test-classes); ""
	// keeps the data set's default split.
	TrainClasses, TestClasses string
	// Workers is the number of decoding goroutines, 0 for GOMAXPROCS
	// (-workers).
	Workers int
	// Preload decodes every image once into memory instead of at every
	// batch (-preload).
	Preload bool
}

// errNilImageFlags is the error of a method called on a nil *ImageFlags.
var errNilImageFlags = fmt.Errorf("runner.ImageFlags: nil: %w", gometric.ErrSetting)

// NewImageFlagSet returns the flag set of an image example called name,
// which writes its errors and help to stderr, with the runner's options
// (Options.Register) at the image examples' defaults — Defaults with
// MPerClass m = 4 and 10 epochs — and the image flags (-data, -size 64,
// -blocks 32,64,128, -embedding 128, -train-classes, -test-classes,
// -workers, -preload) registered on it. dataUsage is the help of -data;
// trainDefault and testDefault say what an empty -train-classes and
// -test-classes mean.
func NewImageFlagSet(name string, stderr io.Writer, dataUsage, trainDefault, testDefault string) (*flag.FlagSet, *Options, *ImageFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := Defaults()
	opts.M = 4
	opts.Epochs = 10
	opts.Register(fs)
	f := &ImageFlags{}
	f.Register(fs, dataUsage, trainDefault, testDefault)
	return fs, &opts, f
}

// Register defines f's flags on fs with the examples' defaults (-size 64,
// -blocks 32,64,128, -embedding 128, -preload); dataUsage is the help of
// -data, trainDefault and testDefault say what an empty -train-classes
// and -test-classes mean.
func (f *ImageFlags) Register(fs *flag.FlagSet, dataUsage, trainDefault, testDefault string) {
	if f == nil || fs == nil {
		return
	}
	fs.StringVar(&f.Data, "data", "", dataUsage)
	fs.IntVar(&f.Size, "size", 64, "image side after resizing (ConvNet input: 3 × size × size)")
	fs.StringVar(&f.Blocks, "blocks", "32,64,128", "ConvNet: output channels of each conv3×3–ReLU–maxpool2 block")
	fs.IntVar(&f.Embedding, "embedding", 128, "embedding size")
	fs.StringVar(&f.TrainClasses, "train-classes", "", "training classes, e.g. 1-50,60 (default "+trainDefault+")")
	fs.StringVar(&f.TestClasses, "test-classes", "", "test classes (default "+testDefault+")")
	fs.IntVar(&f.Workers, "workers", 0, "image decoding goroutines (0: GOMAXPROCS)")
	fs.BoolVar(&f.Preload, "preload", true, "decode every image once into memory (3·size² bytes each) instead of at every batch")
}

// Classes parses -train-classes and -test-classes; an empty flag gives
// nil.
func (f *ImageFlags) Classes() (train, test []int, err error) {
	if f == nil {
		return nil, nil, errNilImageFlags
	}
	if f.TrainClasses != "" {
		if train, err = datasets.ParseClassList(f.TrainClasses); err != nil {
			return nil, nil, fmt.Errorf("-train-classes: %w", err)
		}
	}
	if f.TestClasses != "" {
		if test, err = datasets.ParseClassList(f.TestClasses); err != nil {
			return nil, nil, fmt.Errorf("-test-classes: %w", err)
		}
	}
	return train, test, nil
}

// ConvNetConfig checks -embedding, -blocks and -size and returns
// the ConvNet they describe, for RGB images of Size × Size, initialised
// from seed.
func (f *ImageFlags) ConvNetConfig(seed uint64) (models.ConvNetConfig, error) {
	if f == nil {
		return models.ConvNetConfig{}, errNilImageFlags
	}
	if f.Embedding < 1 {
		return models.ConvNetConfig{}, fmt.Errorf("-embedding %d: want at least 1: %w", f.Embedding, gometric.ErrSetting)
	}
	blocks, err := IntList("-blocks", f.Blocks)
	if err != nil {
		return models.ConvNetConfig{}, err
	}
	if f.Size < 1 || f.Size>>len(blocks) < 1 {
		return models.ConvNetConfig{}, fmt.Errorf("-size %d is too small for %d blocks (each halves the side): %w", f.Size, len(blocks), gometric.ErrSetting)
	}
	return models.ConvNetConfig{Channels: 3, Height: f.Size, Width: f.Size, Blocks: blocks, Embedding: f.Embedding, Seed: seed}, nil
}

// OpenImages opens the image data set of the given kind in f.Data with
// its default split, or the classes f's -train-classes and -test-classes
// name, resized to f.Size × f.Size (centre crop, ImageNet normalisation,
// as datasets.ImageFiles), and with f.Preload decodes every image into
// memory, reporting the progress on progress (nil: silent). The kinds and
// their default splits are PML's:
//
//   - KindCUB200 (datasets.NewCUB): classes 1–100 for training, 101–200
//     for testing;
//   - KindCars196 (datasets.NewCars196): classes 1–98 and 99–196, from
//     anno_train.csv and anno_test.csv both;
//   - KindSOP (datasets.NewSOP): Ebay_train.txt and Ebay_test.txt;
//   - KindINaturalist2018 (datasets.NewINaturalist2018): the images of
//     Inaturalist_train_set1.txt and Inaturalist_test_set1.txt;
//   - KindFolder (datasets.NewImageFolder): the class directories in
//     sorted order, labelled 0, 1, ...; the lower half of the labels for
//     training, the upper half for testing.
//
// Given classes select from all the images (PML's "train+test" split),
// by their labels (the data set's class ids, or the folder's labels);
// when only one of the two lists is given, the other is the default
// split's classes (for the folder, both or neither must be given).
func OpenImages(ctx context.Context, kind string, f *ImageFlags, progress io.Writer) (train, test datasets.Dataset, err error) {
	k, err := findKind(kind)
	if err != nil {
		return nil, nil, err
	}
	if f == nil {
		return nil, nil, errNilImageFlags
	}
	if f.Data == "" {
		return nil, nil, fmt.Errorf("-data is required: %s: %w", k.data, gometric.ErrSetting)
	}
	if f.Workers < 0 {
		return nil, nil, fmt.Errorf("-workers %d: want at least 0: %w", f.Workers, gometric.ErrSetting)
	}
	trainC, testC, err := f.Classes()
	if err != nil {
		return nil, nil, err
	}
	open := func(split string) (*datasets.ImageFiles, error) {
		var d *datasets.ImageFiles
		var err error
		if k.open == nil {
			d, err = datasets.NewImageFolder(f.Data)
		} else {
			d, err = k.open(f.Data, split)
		}
		if err != nil {
			return nil, err
		}
		d.Width, d.Height = f.Size, f.Size
		d.Workers = f.Workers
		return d, nil
	}
	var tr, te *datasets.ImageFiles
	switch {
	case k.open == nil:
		all, err := open("")
		if err != nil {
			return nil, nil, err
		}
		if trainC, testC, err = HalfClasses(all.Labels(), trainC, testC, "-dataset folder", f.Data); err != nil {
			return nil, nil, err
		}
		if tr, te, err = datasets.ClassDisjoint(all, all, trainC, testC); err != nil {
			return nil, nil, err
		}
	case trainC == nil && testC == nil:
		if tr, err = open(datasets.SplitTrain); err != nil {
			return nil, nil, err
		}
		if te, err = open(datasets.SplitTest); err != nil {
			return nil, nil, err
		}
	default:
		// The classes of a default split, for the list not given.
		splitClasses := func(split string) ([]int, error) {
			d, err := open(split)
			if err != nil {
				return nil, err
			}
			return distinctLabels(d.Labels()), nil
		}
		if trainC == nil {
			if trainC, err = splitClasses(datasets.SplitTrain); err != nil {
				return nil, nil, err
			}
		}
		if testC == nil {
			if testC, err = splitClasses(datasets.SplitTest); err != nil {
				return nil, nil, err
			}
		}
		all, err := open(datasets.SplitTrainTest)
		if err != nil {
			return nil, nil, err
		}
		if tr, te, err = datasets.ClassDisjoint(all, all, trainC, testC); err != nil {
			return nil, nil, err
		}
	}
	if !f.Preload {
		return tr, te, nil
	}
	load := func(d *datasets.ImageFiles, what string) (*datasets.Images, error) {
		if progress != nil {
			d.Progress = func(done, total int) {
				if done%500 == 0 || done == total {
					fmt.Fprintf(progress, "\rdecoding %s images: %d/%d", what, done, total)
					if done == total {
						fmt.Fprintln(progress)
					}
				}
			}
		}
		return d.Load(ctx)
	}
	ti, err := load(tr, "training")
	if err != nil {
		return nil, nil, err
	}
	vi, err := load(te, "test")
	if err != nil {
		return nil, nil, err
	}
	return ti, vi, nil
}

// OpenAllImages opens every image of a data set of an image kind: PML's
// "train+test" split of the PML data sets (both splits, with their class
// ids as labels), or the whole folder; at f.Size × f.Size, decoded batch by
// batch (f.Preload, -train-classes and -test-classes do not apply).
func OpenAllImages(kind string, f *ImageFlags) (*datasets.ImageFiles, error) {
	k, err := findKind(kind)
	if err != nil {
		return nil, err
	}
	if f == nil {
		return nil, errNilImageFlags
	}
	if f.Data == "" {
		return nil, fmt.Errorf("-data is required: %s: %w", k.data, gometric.ErrSetting)
	}
	if f.Workers < 0 {
		return nil, fmt.Errorf("-workers %d: want at least 0: %w", f.Workers, gometric.ErrSetting)
	}
	var d *datasets.ImageFiles
	if k.open == nil {
		d, err = datasets.NewImageFolder(f.Data)
	} else {
		d, err = k.open(f.Data, datasets.SplitTrainTest)
	}
	if err != nil {
		return nil, err
	}
	d.Width, d.Height, d.Workers = f.Size, f.Size, f.Workers
	return d, nil
}

// HalfClasses returns the class lists of a class-disjoint split of a data
// set with the given labels: trainC and testC when both are given, else,
// when neither is, the lower half of the distinct labels (sorted) for
// training and the upper half for testing. Giving only one is an error,
// as are fewer than two classes; with says under which flag (e.g.
// "with -features") and source names the data.
func HalfClasses(labels, trainC, testC []int, with, source string) ([]int, []int, error) {
	if trainC != nil && testC != nil {
		return trainC, testC, nil
	}
	if trainC != nil || testC != nil {
		return nil, nil, fmt.Errorf("with %s, give both -train-classes and -test-classes or neither: %w", with, gometric.ErrSetting)
	}
	classes := distinctLabels(labels)
	if len(classes) < 2 {
		return nil, nil, fmt.Errorf("%s: %d class(es), want at least 2 to split: %w", source, len(classes), gometric.ErrLabels)
	}
	return classes[:len(classes)/2], classes[len(classes)/2:], nil
}

// IntList parses the value of the flag flagName: positive integers
// separated by commas ("" gives nil).
func IntList(flagName, s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%s %q: want positive integers separated by commas: %w", flagName, s, gometric.ErrSetting)
		}
		out = append(out, v)
	}
	return out, nil
}

// distinctLabels returns the distinct labels, sorted.
func distinctLabels(labels []int) []int {
	out := slices.Clone(labels)
	slices.Sort(out)
	return slices.Compact(out)
}

// TrainImages is the run of an example on an image data set: it builds
// the ConvNet of f's network flags (ConvNetConfig), opens the data of the
// given kind (OpenImages, reporting the decoding on stderr unless
// opts.Quiet), prints the splits (PrintSplits) and executes a Run of opts.
func TrainImages(ctx context.Context, kind string, f *ImageFlags, opts Options, stdout, stderr io.Writer) error {
	cfg, err := f.ConvNetConfig(opts.Seed)
	if err != nil {
		return err
	}
	// The network first: a setting it refuses is reported before the
	// images are decoded.
	enc, err := models.NewConvNet(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	progress := stderr
	if opts.Quiet {
		progress = nil
	}
	train, test, err := OpenImages(ctx, kind, f, progress)
	if err != nil {
		return err
	}
	PrintSplits(stdout, ImageName(kind), train, test, start)
	r := &Run{Options: opts, Encoder: enc, Train: train, Test: test, Stdout: stdout, Stderr: stderr}
	_, err = r.Execute(ctx)
	return err
}
