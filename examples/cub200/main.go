// Command cub200 trains an embedding on CUB-200-2011 with PML's
// class-disjoint protocol — train on classes 1–100, evaluate retrieval on
// classes 101–200 (query = reference) — with the same loop and outputs as
// examples/fashionmnist.
//
//	go run ./examples/cub200 -data /path/to/CUB_200_2011
//	go run ./examples/cub200 -data /path/to/CUB_200_2011 -size 96 -blocks 32,64,128,256
//	go run ./examples/cub200 -features cub_resnet50.gmfeats
//
// With -data it trains a ConvNet from scratch on the images, decoded and
// resized to -size × -size (centre crop, ImageNet normalisation). With
// -features it trains an MLP head (PML's embedder) on precomputed feature
// vectors instead: a file in the datasets.Features format (binary or CSV),
// one labelled row per image; the classes are split in two halves (the
// lower class numbers for training) unless -train-classes and
// -test-classes say otherwise.
//
// CUB-200-2011 cannot be downloaded by this program; get
// CUB_200_2011.tgz from https://www.vision.caltech.edu/datasets/cub_200_2011/
// and pass the extracted directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/examples/internal/runner"
	"github.com/gometric/gometric/models"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			fmt.Fprintln(os.Stderr, "cub200: interrupted")
			os.Exit(130)
		}
		fmt.Fprintln(os.Stderr, "cub200:", err)
		os.Exit(1)
	}
}

// config holds cub200's own flags.
type config struct {
	data, features            string
	size, embedding, workers  int
	blocks, hidden            string
	trainClasses, testClasses string
	preload                   bool
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cub200", flag.ContinueOnError)
	fs.SetOutput(stderr)
	opts := runner.Defaults()
	opts.M = 4
	opts.Epochs = 10
	opts.Register(fs)
	var c config
	fs.StringVar(&c.data, "data", "", "the CUB_200_2011 directory (or the directory holding it)")
	fs.StringVar(&c.features, "features", "", "precomputed features (datasets.Features file) to train an MLP head on, instead of images")
	fs.IntVar(&c.size, "size", 64, "image side after resizing (ConvNet input: 3 × size × size)")
	fs.StringVar(&c.blocks, "blocks", "32,64,128", "ConvNet: output channels of each conv3×3–ReLU–maxpool2 block")
	fs.IntVar(&c.embedding, "embedding", 128, "embedding size")
	fs.StringVar(&c.hidden, "hidden", "", "MLP head: hidden layer sizes, e.g. 512 (default none: one linear layer)")
	fs.StringVar(&c.trainClasses, "train-classes", "", "training classes (default 1-100 for images, the lower half for features)")
	fs.StringVar(&c.testClasses, "test-classes", "", "test classes (default 101-200 for images, the upper half for features)")
	fs.IntVar(&c.workers, "workers", 0, "image decoding goroutines (0: GOMAXPROCS)")
	fs.BoolVar(&c.preload, "preload", true, "decode every image once into memory (3·size² bytes each) instead of at every batch")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: cub200 -data DIR | -features FILE [flags]\n\nTrains on CUB-200-2011 classes 1-100 and evaluates retrieval on classes 101-200.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := opts.ParseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case c.data == "" && c.features == "":
		return fmt.Errorf("-data is required: the path to CUB_200_2011 (images.txt, image_class_labels.txt, images/...); "+
			"this program cannot download it: get CUB_200_2011.tgz from https://www.vision.caltech.edu/datasets/cub_200_2011/ "+
			"(or pass -features FILE to train on precomputed features): %w", gometric.ErrSetting)
	case c.data != "" && c.features != "":
		return fmt.Errorf("-data and -features exclude each other: %w", gometric.ErrSetting)
	case c.embedding < 1:
		return fmt.Errorf("-embedding %d: want at least 1: %w", c.embedding, gometric.ErrSetting)
	}
	trainC, testC, err := classFlags(c.trainClasses, c.testClasses)
	if err != nil {
		return err
	}

	var (
		enc         models.Encoder
		train, test datasets.Dataset
	)
	start := time.Now()
	if c.features != "" {
		hidden, err := intList("-hidden", c.hidden)
		if err != nil {
			return err
		}
		enc, train, test, err = featureRun(c, hidden, trainC, testC, opts.Seed)
		if err != nil {
			return err
		}
	} else {
		blocks, err := intList("-blocks", c.blocks)
		if err != nil {
			return err
		}
		if c.size < 1 || c.size>>len(blocks) < 1 {
			return fmt.Errorf("-size %d is too small for %d blocks (each halves the side): %w", c.size, len(blocks), gometric.ErrSetting)
		}
		if c.workers < 0 {
			return fmt.Errorf("-workers %d: want at least 0: %w", c.workers, gometric.ErrSetting)
		}
		if train, test, err = imageRun(ctx, c, trainC, testC, stderr, opts.Quiet); err != nil {
			return err
		}
		cfg := models.ConvNetConfig{Channels: 3, Height: c.size, Width: c.size, Blocks: blocks, Embedding: c.embedding, Seed: opts.Seed}
		if enc, err = models.NewConvNet(cfg); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "CUB-200-2011: %d training samples (%d classes), %d test samples (%d classes), loaded in %.1f s\n",
		train.Len(), countClasses(train.Labels()), test.Len(), countClasses(test.Labels()), time.Since(start).Seconds())
	r := &runner.Run{Options: opts, Encoder: enc, Train: train, Test: test, Stdout: stdout, Stderr: stderr}
	_, err = r.Execute(ctx)
	return err
}

// imageRun opens the images with PML's split (or the classes given) and
// decodes them.
func imageRun(ctx context.Context, c config, trainC, testC []int, stderr io.Writer, quiet bool) (datasets.Dataset, datasets.Dataset, error) {
	open := func(split string) (*datasets.ImageFiles, error) {
		f, err := datasets.NewCUB(c.data, split)
		if err != nil {
			return nil, err
		}
		f.Width, f.Height = c.size, c.size
		f.Workers = c.workers
		return f, nil
	}
	var train, test *datasets.ImageFiles
	var err error
	if trainC == nil && testC == nil {
		if train, err = open(datasets.CUBTrain); err != nil {
			return nil, nil, err
		}
		if test, err = open(datasets.CUBTest); err != nil {
			return nil, nil, err
		}
	} else {
		all, err := open(datasets.CUBTrainTest)
		if err != nil {
			return nil, nil, err
		}
		if trainC == nil {
			trainC = rangeList(1, 100)
		}
		if testC == nil {
			testC = rangeList(101, 200)
		}
		if train, test, err = datasets.ClassDisjoint(all, all, trainC, testC); err != nil {
			return nil, nil, err
		}
	}
	if !c.preload {
		return train, test, nil
	}
	load := func(f *datasets.ImageFiles, what string) (*datasets.Images, error) {
		if !quiet {
			f.Progress = func(done, total int) {
				if done%500 == 0 || done == total {
					fmt.Fprintf(stderr, "\rdecoding %s images: %d/%d", what, done, total)
					if done == total {
						fmt.Fprintln(stderr)
					}
				}
			}
		}
		return f.Load(ctx)
	}
	ti, err := load(train, "training")
	if err != nil {
		return nil, nil, err
	}
	vi, err := load(test, "test")
	if err != nil {
		return nil, nil, err
	}
	return ti, vi, nil
}

// featureRun reads the features, splits their classes and builds the MLP.
func featureRun(c config, hidden, trainC, testC []int, seed uint64) (models.Encoder, datasets.Dataset, datasets.Dataset, error) {
	f, err := datasets.LoadFeatures(c.features)
	if err != nil {
		return nil, nil, nil, err
	}
	classes := distinct(f.Labels())
	if len(classes) < 2 {
		return nil, nil, nil, fmt.Errorf("%s: %d class(es), want at least 2 to split: %w", c.features, len(classes), gometric.ErrLabels)
	}
	if trainC == nil && testC == nil {
		trainC, testC = classes[:len(classes)/2], classes[len(classes)/2:]
	} else if trainC == nil || testC == nil {
		return nil, nil, nil, fmt.Errorf("with -features, give both -train-classes and -test-classes or neither: %w", gometric.ErrSetting)
	}
	train, test, err := datasets.ClassDisjoint(f, f, trainC, testC)
	if err != nil {
		return nil, nil, nil, err
	}
	sizes := append(append([]int{f.Dim()}, hidden...), c.embedding)
	enc, err := models.NewMLP(models.MLPConfig{Sizes: sizes, Seed: seed})
	if err != nil {
		return nil, nil, nil, err
	}
	return enc, train, test, nil
}

func classFlags(trainS, testS string) ([]int, []int, error) {
	var trainC, testC []int
	var err error
	if trainS != "" {
		if trainC, err = datasets.ParseClassList(trainS); err != nil {
			return nil, nil, fmt.Errorf("-train-classes: %w", err)
		}
	}
	if testS != "" {
		if testC, err = datasets.ParseClassList(testS); err != nil {
			return nil, nil, fmt.Errorf("-test-classes: %w", err)
		}
	}
	return trainC, testC, nil
}

// intList parses a comma-separated list of positive integers.
func intList(flagName, s string) ([]int, error) {
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

func rangeList(lo, hi int) []int {
	out := make([]int, 0, hi-lo+1)
	for c := lo; c <= hi; c++ {
		out = append(out, c)
	}
	return out
}

func distinct(labels []int) []int {
	out := slices.Clone(labels)
	slices.Sort(out)
	return slices.Compact(out)
}

func countClasses(labels []int) int { return len(distinct(labels)) }
