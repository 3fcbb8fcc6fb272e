package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// trunkKind is one -trunk value.
type trunkKind struct {
	name string
	// build returns the trunk of the flags: read from weights, or
	// initialised from seed when weights is "". Its input is 3×S×S.
	build func(c *runner.ImageFlags, t trunkFlags, seed uint64) (models.Encoder, error)
}

// trunkFlags are the flags of a trunk beyond the ConvNet's.
type trunkFlags struct {
	weights  string
	side     int  // -trunk-size: a ResNet's input side
	freezeBN bool // -freeze-bn: PML's freeze_trunk_batchnorm
}

// trunks are the -trunk values, one line each.
var trunks = []trunkKind{
	{"convnet", convNetTrunk},
	{"resnet18", resNetTrunk(18)},
	{"resnet34", resNetTrunk(34)},
	{"resnet50", resNetTrunk(50)},
	{"resnet101", resNetTrunk(101)},
}

// resNetTrunk builds torchvision's ResNet of depth without fc (PML's
// trunk.fc = Identity()) on 3×side×side images, with -weights read from
// a torchvision state dict (.pth or .safetensors, by torchvision's names;
// an ImageNet file's fc is ignored) or from a checkpoint of an earlier run
// (.gmw).
func resNetTrunk(depth int) func(*runner.ImageFlags, trunkFlags, uint64) (models.Encoder, error) {
	return func(_ *runner.ImageFlags, t trunkFlags, seed uint64) (models.Encoder, error) {
		m, err := models.NewResNet(models.ResNetConfig{Depth: depth, Height: t.side, Width: t.side, FreezeBatchNorm: t.freezeBN, Seed: seed})
		if err != nil {
			return nil, fmt.Errorf("-trunk resnet%d: %w", depth, err)
		}
		switch {
		case t.weights == "":
		case strings.HasSuffix(t.weights, ".gmw"):
			if err := m.Load(t.weights); err != nil {
				return nil, fmt.Errorf("-weights: %w", err)
			}
		default:
			sd, err := models.ReadStateDict(t.weights)
			if err != nil {
				return nil, fmt.Errorf("-weights: %w", err)
			}
			if err := m.LoadStateDict(sd); err != nil {
				return nil, fmt.Errorf("-weights %s (torchvision's resnet%d state_dict): %w", t.weights, depth, err)
			}
		}
		return m, nil
	}
}

// trunkByName is the -trunk kind called name.
func trunkByName(name string) (*trunkKind, error) {
	for i := range trunks {
		if trunks[i].name == name {
			return &trunks[i], nil
		}
	}
	return nil, fmt.Errorf("-trunk %q: want one of %v: %w", name, trunkNames(), gometric.ErrSetting)
}

func trunkNames() []string {
	out := make([]string, len(trunks))
	for i, k := range trunks {
		out[i] = k.name
	}
	return out
}

// convNetTrunk is the ConvNet of -size, -blocks and -embedding, or the
// one of a checkpoint.
func convNetTrunk(c *runner.ImageFlags, t trunkFlags, seed uint64) (models.Encoder, error) {
	weights := t.weights
	if weights == "" {
		cfg, err := c.ConvNetConfig(seed)
		if err != nil {
			return nil, err
		}
		return models.NewConvNet(cfg)
	}
	enc, err := models.LoadEncoder(weights)
	if err != nil {
		return nil, fmt.Errorf("-weights: %w", err)
	}
	if _, ok := enc.(*models.ConvNet); !ok {
		return nil, fmt.Errorf("-weights %s holds a %T, not a ConvNet (-trunk convnet): %w", weights, enc, gometric.ErrSetting)
	}
	return enc, nil
}

// frozen is the -freeze-trunk workflow and its flags.
type frozen struct {
	on      bool
	trunk   string
	flags   trunkFlags
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
	key, err := trunkKey(fz.trunk, fz.flags.weights, trunk, transform)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "frozen trunk %s: %d features of 3×%d×%d images (%s, ImageNet normalisation), cached in %s\n",
		fz.trunk, trunk.EmbeddingSize(), side, side, oneLine(transform), opts.Out)
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
		t0 := time.Now()
		res, err := extract.Features(ctx, trunk, images, path, extract.Options{
			BatchSize: opts.EvalBatch, ChunkSize: fz.chunk, Progress: progress, Key: key, Overwrite: opts.Overwrite})
		if errors.Is(err, extract.ErrMismatch) {
			return fmt.Errorf("%w (the extraction's batch size is -eval-batch; -overwrite extracts the features of this trunk again)", err)
		}
		if err != nil {
			return err
		}
		f := res.Features
		switch {
		case res.Reused:
			fmt.Fprintf(stdout, "%s: reused, not extracted again (%d × %d features; its first batch re-embedded matches)\n", path, f.Len(), f.Dim())
		case res.Resumed > 0:
			fmt.Fprintf(stdout, "%s: resumed after image %d of %d, extracted %d × %d features in %.1f s\n", path, res.Resumed, f.Len(), f.Len(), f.Dim(), time.Since(t0).Seconds())
		default:
			fmt.Fprintf(stdout, "%s: extracted %d × %d features in %.1f s\n", path, f.Len(), f.Dim(), time.Since(t0).Seconds())
		}
		if res.Discarded != "" {
			fmt.Fprintf(stdout, "%s: the end of the partial file was extracted again: %s\n", path, res.Discarded)
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

// trunkKey identifies the trunk and the preprocessing for the partial
// files of the extraction: the kind, the transform, a SHA-256 of every
// parameter's name, shape and values and, with -weights, of the file
// (which holds what the parameters may not, such as running statistics).
func trunkKey(kind, weights string, trunk models.Encoder, transform datasets.Compose) (string, error) {
	h := sha256.New()
	var b [8]byte
	if sd, ok := trunk.(interface{ StateDict() models.StateDict }); ok {
		// A ResNet: every weight and BatchNorm statistic, by name.
		d := sd.StateDict()
		for _, name := range slices.Sorted(maps.Keys(d)) {
			t := d[name]
			h.Write([]byte(name))
			for _, v := range t.Data {
				binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
				h.Write(b[:4])
			}
			for _, v := range t.Ints {
				binary.LittleEndian.PutUint64(b[:], uint64(v))
				h.Write(b[:])
			}
		}
	}
	for _, p := range trunk.Params() {
		h.Write([]byte(p.Name()))
		for _, d := range p.Shape() {
			binary.LittleEndian.PutUint64(b[:], uint64(d))
			h.Write(b[:])
		}
		v, _ := p.Float32s()
		for _, x := range v {
			binary.LittleEndian.PutUint32(b[:4], math.Float32bits(x))
			h.Write(b[:4])
		}
	}
	if weights != "" {
		f, err := os.Open(weights)
		if err != nil {
			return "", fmt.Errorf("-weights: %w", err)
		}
		defer f.Close()
		if _, err := io.Copy(h, f); err != nil {
			return "", fmt.Errorf("-weights: %w", err)
		}
	}
	return fmt.Sprintf("%s %v ImageNet-normalised sha256:%x", kind, transform, h.Sum(nil)), nil
}

// fineTune is -trunk without -freeze-trunk: the trunk trained with the
// runner (its own Adam at -trunk-lr), with the embedder of -embedder
// after it, on the images at the trunk's input size with torchvision's
// training augmentation and evaluation transform (PML's CUB recipe:
// -trunk resnet50 -weights FILE -trunk-lr 1e-5 -lr 1e-4 -embedder 128
// -batch 32 -m 4).
func (fz *frozen) fineTune(ctx context.Context, c *runner.ImageFlags, opts runner.Options, stdout, stderr io.Writer) error {
	start := time.Now()
	trunk, transform, train, test, err := fz.openTrunk(ctx, c, opts.Seed)
	if err != nil {
		return err
	}
	side := trunk.InputShape()[1]
	// torchvision's ImageNet recipes, as PML's examples: training images
	// augmented (RandomResizedCrop, RandomHorizontalFlip), drawn from
	// -seed and the epoch (the trainer sets it), test images evaluated.
	ti := train.(*datasets.ImageFiles)
	ti.Transform, ti.Seed = datasets.TrainTransform(side), opts.Seed
	test.(*datasets.ImageFiles).Transform = transform
	runner.PrintSplits(stdout, runner.ImageName(runner.KindCUB200), train, test, start)
	bn := "BatchNorm in train mode"
	if fz.flags.freezeBN {
		bn = "BatchNorm frozen (PML's freeze_trunk_batchnorm)"
	}
	fmt.Fprintf(stdout, "fine-tuning trunk %s (%d features of 3×%d×%d images; training %s, test %s, ImageNet normalisation), %s\n", fz.trunk, trunk.EmbeddingSize(), side, side, oneLine(datasets.TrainTransform(side)), oneLine(transform), bn)
	r := &runner.Run{Options: opts, Encoder: trunk, Train: train, Test: test, Stdout: stdout, Stderr: stderr}
	_, err = r.Execute(ctx)
	return err
}

// openTrunk builds the -trunk of the flags and opens CUB-200's images at
// its input size, without preloading, for torchvision's evaluation
// transform at that size (Resize(256) and CenterCrop(224) at 224), which
// it returns for the caller to set.
func (fz *frozen) openTrunk(ctx context.Context, c *runner.ImageFlags, seed uint64) (models.Encoder, datasets.Compose, datasets.Dataset, datasets.Dataset, error) {
	kind, err := trunkByName(fz.trunk)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	trunk, err := kind.build(c, fz.flags, seed)
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

// oneLine is a transform's steps on one line, separated by commas.
func oneLine(c datasets.Compose) string {
	steps := make([]string, len(c))
	for i, t := range c {
		steps[i] = fmt.Sprint(t)
	}
	return strings.Join(steps, ", ")
}
