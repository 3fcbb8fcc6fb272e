package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/runner"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/extract"
)

// The feature caches of -freeze-trunk in -out.
const (
	trainFeatures = "features-train.gmfeats"
	testFeatures  = "features-test.gmfeats"
)

// frozen is the -freeze-trunk workflow and its flags.
type frozen struct {
	on      bool
	trunk   string
	flags   runner.Trunk
	chunk   int
	hidden  string
	dropout float64 // the MLP head's (-dropout)
}

// run extracts the trunk's features of both splits (or reuses them) and
// trains the embedder on them with the runner, or with -embedder 0
// evaluates them.
func (fz *frozen) run(ctx context.Context, c *runner.ImageFlags, opts runner.Options, stdout, stderr io.Writer) error {
	hidden, err := runner.IntList("-hidden", fz.hidden)
	if err != nil {
		return err
	}
	switch {
	case opts.Embedder == 0 && opts.Epochs > 0:
		return fmt.Errorf("-freeze-trunk -embedder 0: the trunk is frozen and there is no embedder, so there is nothing to train: give -embedder SIZE, or -epochs 0 to evaluate the trunk: %w", gometric.ErrSetting)
	case opts.Embedder == 0 && hidden != nil:
		return fmt.Errorf("-hidden is the embedder's: give -embedder SIZE: %w", gometric.ErrSetting)
	case fz.chunk < 1:
		return fmt.Errorf("-chunk %d: want at least 1: %w", fz.chunk, gometric.ErrSetting)
	}
	start := time.Now()
	trunk, transform, train, test, err := fz.openTrunk(ctx, c, opts.Seed)
	if err != nil {
		return err
	}
	side := trunk.InputShape()[1]
	if err := os.MkdirAll(opts.Out, 0o755); err != nil {
		return err
	}
	var progress io.Writer
	if !opts.Quiet {
		progress = stderr
	}
	key, err := runner.TrunkKey(fz.trunk, fz.flags.Weights, trunk, transform)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "frozen trunk %s: %d features of 3×%d×%d images (%s, ImageNet normalisation), cached in %s\n",
		fz.trunk, trunk.EmbeddingSize(), side, side, runner.TransformLine(transform), opts.Out)
	var feats [2]*datasets.Features
	for i, split := range []struct {
		ds   datasets.Dataset
		file string
	}{{train, trainFeatures}, {test, testFeatures}} {
		images, ok := split.ds.(*datasets.ImageFiles)
		if !ok {
			return fmt.Errorf("runner.OpenImages returned a %T without -preload, not image files", split.ds)
		}
		images.Transform = transform
		path := filepath.Join(opts.Out, split.file)
		f, err := runner.Extract(ctx, trunk, images, path, extract.Options{
			BatchSize: opts.EvalBatch, ChunkSize: fz.chunk, Progress: progress, Key: key, Overwrite: opts.Overwrite},
			"the extraction's batch size is -eval-batch; -overwrite extracts the features of this trunk again", stdout)
		if err != nil {
			return err
		}
		feats[i] = f
	}
	runner.PrintSplits(stdout, runner.ImageName(runner.KindCUB200), feats[0], feats[1], start)
	if opts.Embedder == 0 {
		fmt.Fprintf(stdout, "no embedder (-embedder 0): the trunk's features are the embeddings\n")
		r := &runner.Run{Options: opts, Test: feats[1], Stdout: stdout, Stderr: stderr}
		_, err := r.Evaluate(ctx, testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) { return x, nil }))
		return err
	}
	sizes := append(append([]int{trunk.EmbeddingSize()}, hidden...), opts.Embedder)
	head, err := models.NewMLP(models.MLPConfig{Sizes: sizes, Seed: opts.Seed, Dropout: fz.dropout})
	if err != nil {
		return fmt.Errorf("-embedder %d: %w", opts.Embedder, err)
	}
	if fz.dropout > 0 {
		fmt.Fprintf(stdout, "embedder %v with Dropout(%v) after each hidden ReLU trained on the cached features (the checkpoints hold it)\n", sizes, fz.dropout)
	} else {
		fmt.Fprintf(stdout, "embedder %v trained on the cached features (the checkpoints hold it)\n", sizes)
	}
	// The head is the run's model: the runner adds no embedder of its own.
	opts.Embedder = 0
	r := &runner.Run{Options: opts, Encoder: head, Train: feats[0], Test: feats[1], Stdout: stdout, Stderr: stderr}
	_, err = r.Execute(ctx)
	return err
}

// fineTune is -trunk without -freeze-trunk: the trunk trained with the
// runner (its own Adam at -trunk-lr), with the embedder of -embedder
// after it (runner.TrainTrunk: torchvision's training augmentation and
// evaluation transform; PML's CUB recipe: -trunk resnet50 -weights FILE
// -trunk-lr 1e-5 -lr 1e-4 -embedder 128 -batch 32 -m 4).
func (fz *frozen) fineTune(ctx context.Context, c *runner.ImageFlags, opts runner.Options, stdout, stderr io.Writer) error {
	t := fz.flags
	t.Kind = fz.trunk
	return runner.TrainTrunk(ctx, runner.KindCUB200, c, t, opts, stdout, stderr)
}

// openTrunk builds the -trunk of the flags and opens CUB-200's images at
// its input size, without preloading, for torchvision's evaluation
// transform at that size (Resize(256) and CenterCrop(224) at 224), which
// it returns for the caller to set.
func (fz *frozen) openTrunk(ctx context.Context, c *runner.ImageFlags, seed uint64) (models.Encoder, datasets.Compose, datasets.Dataset, datasets.Dataset, error) {
	t := fz.flags
	t.Kind = fz.trunk
	trunk, err := t.Build(c, seed)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	in := trunk.InputShape()
	if len(in) != 3 || in[0] != 3 || in[1] != in[2] {
		return nil, nil, nil, nil, fmt.Errorf("-trunk %s takes %v inputs, want 3×S×S images: %w", fz.trunk, in, gometric.ErrSetting)
	}
	side := in[1]
	transform := datasets.EvalTransform(side, int(math.Round(float64(side)*256/224)))
	flags := *c
	flags.Size, flags.Preload = side, false
	train, test, err := runner.OpenImages(ctx, runner.KindCUB200, &flags, nil)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	for _, ds := range []datasets.Dataset{train, test} {
		if _, ok := ds.(*datasets.ImageFiles); !ok {
			return nil, nil, nil, nil, fmt.Errorf("runner.OpenImages returned a %T without -preload, not image files", ds)
		}
	}
	return trunk, transform, train, test, nil
}
