// Command cub200 trains an embedding on CUB-200-2011 with PML's
// class-disjoint protocol — train on classes 1–100, evaluate retrieval on
// classes 101–200 (query = reference) — with the same loop and outputs as
// examples/fashionmnist.
//
//	go run ./examples/cub200 -data /path/to/CUB_200_2011
//	go run ./examples/cub200 -data /path/to/CUB_200_2011 -size 96 -blocks 32,64,128,256
//	go run ./examples/cub200 -data /path/to/CUB_200_2011 -freeze-trunk -weights out/best.gmw -embedder 64
//	go run ./examples/cub200 -data /path/to/CUB_200_2011 -freeze-trunk -weights out/best.gmw -embedder 0 -epochs 0
//	go run ./examples/cub200 -features cub_resnet50.gmfeats
//	go run ./examples/cub200 -data /path/to/CUB_200_2011 -trunk resnet50 -weights resnet50.pth -freeze-trunk -embedder 128
//	go run ./examples/cub200 -data /path/to/CUB_200_2011 -trunk resnet50 -weights resnet50.pth -trunk-lr 1e-5 -lr 1e-4 -embedder 128 -batch 32 -m 4
//	go run ./examples/cub200 -data /path/to/CUB_200_2011 -trunk resnet18 -weights resnet18.pth -freeze-trunk -embedder 0 -epochs 0
//
// With -data it trains a ConvNet from scratch on the images, decoded and
// resized to -size × -size (centre crop, ImageNet normalisation). With
// -features it trains an MLP head (PML's embedder) on precomputed feature
// vectors instead: a file in the datasets.Features format (binary or CSV),
// one labelled row per image; the classes are split in two halves (the
// lower class numbers for training) unless -train-classes and
// -test-classes say otherwise. An MLP head with -hidden layers takes
// -dropout p, torch's nn.Dropout(p) after each hidden ReLU
// (models.MLPConfig.Dropout: training only; the checkpoints keep its step
// count, so -resume draws the masks of an uninterrupted run).
//
// With -freeze-trunk the trunk (-trunk, the ConvNet of -size, -blocks
// and -embedding initialised from -seed, or read from -weights, a
// checkpoint of an earlier run) is frozen: the features of the training
// and test images under torchvision's evaluation transform at the trunk's
// input size (datasets.EvalTransform: resize to 256/224 of it, centre
// crop) are extracted once into -out as features-train.gmfeats and
// features-test.gmfeats (utils/extract: a progress bar, all cores,
// checkpointed every -chunk images so that an interrupted run continues
// where it stopped; a later run reuses files that match the trunk and
// the images, refuses ones that do not, and with -overwrite extracts
// those again), and the embedder — Linear(trunk size, -embedder), or an
// MLP with -hidden layers and -dropout — is trained on them. PML's
// examples run a frozen trunk inside the trainer and the tester instead,
// embedding every image again at every epoch. -embedder 0 trains nothing:
// the trunk's features are the embeddings, and -epochs 0 evaluates the
// trunk alone.
//
// -trunk resnet18, resnet34, resnet50 or resnet101 is torchvision's ResNet
// without fc (PML's trunk.fc = Identity()) on -trunk-size images (224),
// its weights from -weights: a torchvision state dict saved by torch.save
// (.pth) or as .safetensors, matched by torchvision's names (an ImageNet
// file's fc is ignored), or a .gmw checkpoint of an earlier run. Without
// -freeze-trunk the ResNet is fine-tuned with the embedder after it, the
// trunk at -trunk-lr and the embedder at -lr (PML's CUB recipe: Adam 1e-5
// and 1e-4, Linear(2048, 128), batch 32, m = 4); -freeze-bn keeps its
// BatchNorm in eval mode (PML's freeze_trunk_batchnorm). The training
// images are augmented as torchvision's ImageNet recipe (RandomResizedCrop,
// RandomHorizontalFlip; drawn from -seed and the epoch, so -resume draws
// what an uninterrupted run did), the test images go through the
// evaluation transform.
//
// CUB-200-2011 cannot be downloaded by this program; get
// CUB_200_2011.tgz from https://www.vision.caltech.edu/datasets/cub_200_2011/
// and pass the extracted directory.
package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/extract"
)

func main() { runner.Main("cub200", run) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, opts, c := runner.NewImageFlagSet("cub200", stderr, "the CUB_200_2011 directory (or the directory holding it)",
		"1-100 for images, the lower half for features", "101-200 for images, the upper half for features")
	features := fs.String("features", "", "precomputed features (datasets.Features file) to train an MLP head on, instead of images")
	hiddenFlag := fs.String("hidden", "", "MLP head: hidden layer sizes, e.g. 512 (default none: one linear layer)")
	dropout := fs.Float64("dropout", 0, "MLP head with -hidden: torch's Dropout p after each hidden ReLU, in [0, 1) (0: none)")
	var fz frozen
	fs.BoolVar(&fz.on, "freeze-trunk", false, "freeze the trunk: extract its features of the images once (cached in -out, resumable) and train the embedder (-embedder, -hidden) on them")
	fs.StringVar(&fz.trunk, "trunk", "convnet", "the trunk, one of "+strings.Join(runner.TrunkNames(), ", ")+" (torchvision's ResNets without fc; with -freeze-trunk or fine-tuned)")
	fs.StringVar(&fz.flags.Weights, "weights", "", "the trunk's weights: a torchvision state dict (.pth or .safetensors) for a ResNet, or a checkpoint of an earlier run (.gmw); default: initialised from -seed")
	fs.IntVar(&fz.flags.Side, "trunk-size", 224, "a ResNet trunk's input side (torchvision's eval transform: Resize(side·256/224), CenterCrop(side))")
	fs.BoolVar(&fz.flags.FreezeBN, "freeze-bn", false, "a ResNet trunk's BatchNorm in eval mode: running statistics used and not updated, its weight and bias still trained (PML's freeze_trunk_batchnorm)")
	fs.IntVar(&fz.chunk, "chunk", extract.DefaultChunkSize, "-freeze-trunk: images per checkpoint of the feature extraction")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: cub200 -data DIR [-freeze-trunk [-trunk KIND] [-weights FILE] -embedder SIZE] | -features FILE [flags]\n\nTrains on CUB-200-2011 classes 1-100 and evaluates retrieval on classes 101-200.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := opts.ParseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case c.Data == "" && *features == "":
		return fmt.Errorf("-data is required: %s (or pass -features FILE to train on precomputed features): %w",
			runner.ImageDataHelp(runner.KindCUB200), gometric.ErrSetting)
	case c.Data != "" && *features != "":
		return fmt.Errorf("-data and -features exclude each other: %w", gometric.ErrSetting)
	case c.Embedding < 1:
		return fmt.Errorf("-embedding %d: want at least 1: %w", c.Embedding, gometric.ErrSetting)
	case fz.on && *features != "":
		return fmt.Errorf("-freeze-trunk extracts features from the images of -data; -features gives them already: choose one: %w", gometric.ErrSetting)
	case *features != "" && (fz.flags.Weights != "" || fz.trunk != "convnet"):
		return fmt.Errorf("-trunk and -weights are for images (-data); -features trains an MLP head: %w", gometric.ErrSetting)
	case fz.flags.Side < 1:
		return fmt.Errorf("-trunk-size %d: want at least 1: %w", fz.flags.Side, gometric.ErrSetting)
	case !fz.on && fz.trunk == "convnet" && fz.flags.Weights != "":
		return fmt.Errorf("-weights with -trunk convnet is for -freeze-trunk (a ConvNet run continues with -resume): %w", gometric.ErrSetting)
	case *dropout != 0 && ((!fz.on && *features == "") || *hiddenFlag == ""):
		return fmt.Errorf("-dropout %v: the dropout of an MLP head's hidden layers: give -hidden with -features or -freeze-trunk: %w", *dropout, gometric.ErrSetting)
	case !(*dropout >= 0 && *dropout < 1):
		return fmt.Errorf("-dropout %v: want p in [0, 1): %w", *dropout, gometric.ErrSetting)
	}
	if fz.on {
		fz.hidden, fz.dropout = *hiddenFlag, *dropout
		return fz.run(ctx, c, *opts, stdout, stderr)
	}
	if fz.trunk != "convnet" {
		return fz.fineTune(ctx, c, *opts, stdout, stderr)
	}

	if *features == "" {
		return runner.TrainImages(ctx, runner.KindCUB200, c, *opts, stdout, stderr)
	}
	start := time.Now()
	enc, train, test, err := featureRun(c, *features, *hiddenFlag, *dropout, opts.Seed)
	if err != nil {
		return err
	}
	runner.PrintSplits(stdout, runner.ImageName(runner.KindCUB200), train, test, start)
	r := &runner.Run{Options: *opts, Encoder: enc, Train: train, Test: test, Stdout: stdout, Stderr: stderr}
	_, err = r.Execute(ctx)
	return err
}

// featureRun reads the features, splits their classes and builds the MLP.
func featureRun(c *runner.ImageFlags, path, hiddenFlag string, dropout float64, seed uint64) (models.Encoder, datasets.Dataset, datasets.Dataset, error) {
	hidden, err := runner.IntList("-hidden", hiddenFlag)
	if err != nil {
		return nil, nil, nil, err
	}
	trainC, testC, err := c.Classes()
	if err != nil {
		return nil, nil, nil, err
	}
	f, err := datasets.LoadFeatures(path)
	if err != nil {
		return nil, nil, nil, err
	}
	if trainC, testC, err = runner.HalfClasses(f.Labels(), trainC, testC, "-features", path); err != nil {
		return nil, nil, nil, err
	}
	train, test, err := datasets.ClassDisjoint(f, f, trainC, testC)
	if err != nil {
		return nil, nil, nil, err
	}
	sizes := append(append([]int{f.Dim()}, hidden...), c.Embedding)
	enc, err := models.NewMLP(models.MLPConfig{Sizes: sizes, Seed: seed, Dropout: dropout})
	if err != nil {
		return nil, nil, nil, err
	}
	return enc, train, test, nil
}
