package runner

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/models"
)

// The data set kinds of OpenData beyond OpenImages' image kinds.
const (
	// KindFashionMNIST is Fashion-MNIST's IDX files (-data: their
	// directory, default datasets.DefaultFashionMNISTDir; the embedded
	// sample where they are absent), 28×28 grey images.
	KindFashionMNIST = "fashionmnist"
	// KindFeatures is a datasets.Features file (-data: the file), one
	// labelled feature vector per sample.
	KindFeatures = "features"
)

// DataKinds returns the kinds OpenData accepts: KindFashionMNIST, the
// image kinds (ImageKinds) and KindFeatures.
func DataKinds() []string {
	return append(append([]string{KindFashionMNIST}, ImageKinds()...), KindFeatures)
}

// DataName returns the printed name of a data set kind ("Fashion-MNIST",
// "CUB-200-2011", "feature file", ...); "" for an unknown kind.
func DataName(kind string) string {
	switch kind {
	case KindFashionMNIST:
		return "Fashion-MNIST"
	case KindFeatures:
		return "feature file"
	}
	return ImageName(kind)
}

// DataHelp says what -data is for a data set kind; "" for an unknown kind.
func DataHelp(kind string) string {
	switch kind {
	case KindFashionMNIST:
		return "the directory of the Fashion-MNIST IDX files, gzipped or not (default " + datasets.DefaultFashionMNISTDir +
			", Debian's dataset-fashion-mnist; where they are absent, the 2,000 + 1,000 image sample embedded in the library)"
	case KindFeatures:
		return "a feature file (datasets.Features: binary GMFEATS2 or CSV label,f1,...,fD), e.g. written by gometric embed"
	}
	return ImageDataHelp(kind)
}

func checkDataKind(kind string) error {
	if slices.Contains(DataKinds(), kind) {
		return nil
	}
	if kind == "" {
		return fmt.Errorf("-dataset is required: one of %s: %w", strings.Join(DataKinds(), ", "), gometric.ErrSetting)
	}
	return fmt.Errorf("-dataset %q: unknown data set; the kinds are %s: %w", kind, strings.Join(DataKinds(), ", "), gometric.ErrSetting)
}

// OpenData opens the training and test splits of a data set of any kind
// of DataKinds, from f.Data:
//
//   - KindFashionMNIST: the 60,000 training and 10,000 test images (or the
//     embedded sample, which notice then describes), restricted to
//     -train-classes and -test-classes (labels 0–9) when given;
//   - an image kind: OpenImages (its default split, or the classes given;
//     f.Size, f.Preload, f.Workers apply);
//   - KindFeatures: the feature file split by classes as HalfClasses says
//     (the lower half of the labels for training unless both class lists
//     are given).
//
// progress receives image decoding progress (nil: silent).
func OpenData(ctx context.Context, kind string, f *ImageFlags, progress io.Writer) (train, test datasets.Dataset, notice string, err error) {
	if err := checkDataKind(kind); err != nil {
		return nil, nil, "", err
	}
	if f == nil {
		return nil, nil, "", errNilImageFlags
	}
	switch kind {
	case KindFashionMNIST:
		return openFashionMNIST(f)
	case KindFeatures:
		if f.Data == "" {
			return nil, nil, "", fmt.Errorf("-data is required: %s: %w", DataHelp(kind), gometric.ErrSetting)
		}
		trainC, testC, err := f.Classes()
		if err != nil {
			return nil, nil, "", err
		}
		all, err := datasets.LoadFeatures(f.Data)
		if err != nil {
			return nil, nil, "", err
		}
		if trainC, testC, err = HalfClasses(all.Labels(), trainC, testC, "-dataset features", f.Data); err != nil {
			return nil, nil, "", err
		}
		tr, te, err := datasets.ClassDisjoint(all, all, trainC, testC)
		if err != nil {
			return nil, nil, "", err
		}
		return tr, te, "", nil
	}
	tr, te, err := OpenImages(ctx, kind, f, progress)
	return tr, te, "", err
}

func openFashionMNIST(f *ImageFlags) (datasets.Dataset, datasets.Dataset, string, error) {
	trainC, testC, err := f.Classes()
	if err != nil {
		return nil, nil, "", err
	}
	dir := f.Data
	if dir == "" {
		dir = datasets.DefaultFashionMNISTDir
	}
	n := len(datasets.FashionMNISTClasses())
	for _, c := range append(slices.Clone(trainC), testC...) {
		if c < 0 || c >= n {
			return nil, nil, "", fmt.Errorf("class %d: Fashion-MNIST has classes 0-%d: %w", c, n-1, gometric.ErrSetting)
		}
	}
	train, test, usedSample, err := datasets.LoadFashionMNISTOrSample(dir)
	if err != nil {
		return nil, nil, "", err
	}
	var notice string
	if usedSample {
		notice = datasets.FashionMNISTSampleNotice(dir)
	}
	if trainC != nil {
		if train, err = train.FilterClasses(trainC); err != nil {
			return nil, nil, "", fmt.Errorf("-train-classes: %w", err)
		}
	}
	if testC != nil {
		if test, err = test.FilterClasses(testC); err != nil {
			return nil, nil, "", fmt.Errorf("-test-classes: %w", err)
		}
	}
	return train, test, notice, nil
}

// NewEncoder returns the model trained from scratch on a data set of the
// given kind: the reference ConvNet for KindFashionMNIST
// (models.ReferenceConvNetConfig), an MLP dim → hidden... → f.Embedding
// with dropout p after each hidden ReLU for KindFeatures (dim is the
// feature file's dimension), and the ConvNet of f's network flags
// (ConvNetConfig) for an image kind; initialised from seed.
func NewEncoder(kind string, f *ImageFlags, dim int, hidden []int, dropout float64, seed uint64) (models.Encoder, error) {
	if err := checkDataKind(kind); err != nil {
		return nil, err
	}
	if f == nil {
		return nil, errNilImageFlags
	}
	if kind != KindFeatures && (hidden != nil || dropout != 0) {
		return nil, fmt.Errorf("-hidden and -dropout are the MLP's of -dataset features, not of -dataset %s: %w", kind, gometric.ErrSetting)
	}
	switch kind {
	case KindFashionMNIST:
		return models.NewConvNet(models.ReferenceConvNetConfig(seed))
	case KindFeatures:
		if f.Embedding < 1 {
			return nil, fmt.Errorf("-embedding %d: want at least 1: %w", f.Embedding, gometric.ErrSetting)
		}
		if !(dropout >= 0 && dropout < 1) {
			return nil, fmt.Errorf("-dropout %v: want p in [0, 1): %w", dropout, gometric.ErrSetting)
		}
		if dropout != 0 && hidden == nil {
			return nil, fmt.Errorf("-dropout %v: the dropout after an MLP's hidden layers: give -hidden: %w", dropout, gometric.ErrSetting)
		}
		sizes := append(append([]int{dim}, hidden...), f.Embedding)
		return models.NewMLP(models.MLPConfig{Sizes: sizes, Seed: seed, Dropout: dropout})
	}
	cfg, err := f.ConvNetConfig(seed)
	if err != nil {
		return nil, err
	}
	return models.NewConvNet(cfg)
}

// TrainData is the run of the gometric command's train: it opens the data
// of the given kind (OpenData; decoding progress on stderr unless
// opts.Quiet), prints the splits, builds the model from scratch
// (NewEncoder; hidden and dropout are -dataset features' MLP) and executes
// a Run of opts.
func TrainData(ctx context.Context, kind string, f *ImageFlags, hidden []int, dropout float64, opts Options, stdout, stderr io.Writer) error {
	if err := checkDataKind(kind); err != nil {
		return err
	}
	if kind != KindFeatures {
		// The network first: a setting it refuses is reported before the
		// images are decoded.
		if _, err := NewEncoder(kind, f, 0, hidden, dropout, opts.Seed); err != nil {
			return err
		}
	}
	start := time.Now()
	progress := stderr
	if opts.Quiet {
		progress = nil
	}
	train, test, notice, err := OpenData(ctx, kind, f, progress)
	if err != nil {
		return err
	}
	if notice != "" {
		fmt.Fprintln(stdout, notice)
	}
	dim := 0
	if s := train.SampleShape(); len(s) == 1 {
		dim = s[0]
	}
	enc, err := NewEncoder(kind, f, dim, hidden, dropout, opts.Seed)
	if err != nil {
		return err
	}
	PrintSplits(stdout, DataName(kind), train, test, start)
	r := &Run{Options: opts, Encoder: enc, Train: train, Test: test, Stdout: stdout, Stderr: stderr}
	_, err = r.Execute(ctx)
	return err
}
