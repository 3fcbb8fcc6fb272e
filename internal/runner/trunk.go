package runner

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/models"
)

// Trunk is a trunk of the programs' -trunk flags: "convnet" (the ConvNet
// of an ImageFlags' -size, -blocks and -embedding, or the one of a
// checkpoint) or torchvision's ResNet without fc ("resnet18", "resnet34",
// "resnet50", "resnet101"; PML's trunk.fc = Identity()). It is a plain
// value, safe for concurrent use.
type Trunk struct {
	// Kind is one of TrunkNames.
	Kind string
	// Weights is the trunk's weight file: for a ResNet a torchvision
	// state dict (.pth or .safetensors, by torchvision's names; an
	// ImageNet file's fc is ignored) or a .gmw checkpoint of an earlier
	// run; for the ConvNet a .gmw checkpoint. "" initialises it from the
	// seed.
	Weights string
	// Side is a ResNet's input side (3 × Side × Side images).
	Side int
	// FreezeBN keeps a ResNet's BatchNorm in eval mode, its weights not
	// trained (PML's freeze_trunk_batchnorm).
	FreezeBN bool
}

// trunkKinds are the -trunk values and their builders.
var trunkKinds = []struct {
	name  string
	build func(c *ImageFlags, t Trunk, seed uint64) (models.Encoder, error)
}{
	{"convnet", convNetTrunk},
	{"resnet18", resNetTrunk(18)},
	{"resnet34", resNetTrunk(34)},
	{"resnet50", resNetTrunk(50)},
	{"resnet101", resNetTrunk(101)},
}

// TrunkNames returns the Trunk kinds.
func TrunkNames() []string {
	out := make([]string, len(trunkKinds))
	for i, k := range trunkKinds {
		out[i] = k.name
	}
	return out
}

// Build returns the trunk: read from Weights, or initialised from seed
// when Weights is "". c gives the ConvNet's architecture (unused for a
// ResNet or a ConvNet checkpoint).
func (t Trunk) Build(c *ImageFlags, seed uint64) (models.Encoder, error) {
	for _, k := range trunkKinds {
		if k.name == t.Kind {
			return k.build(c, t, seed)
		}
	}
	return nil, fmt.Errorf("-trunk %q: want one of %v: %w", t.Kind, TrunkNames(), gometric.ErrSetting)
}

// resNetTrunk builds torchvision's ResNet of depth without fc on
// 3×Side×Side images, with Weights read from a torchvision state dict or a
// .gmw checkpoint.
func resNetTrunk(depth int) func(*ImageFlags, Trunk, uint64) (models.Encoder, error) {
	return func(_ *ImageFlags, t Trunk, seed uint64) (models.Encoder, error) {
		m, err := models.NewResNet(models.ResNetConfig{Depth: depth, Height: t.Side, Width: t.Side, FreezeBatchNorm: t.FreezeBN, Seed: seed})
		if err != nil {
			return nil, fmt.Errorf("-trunk resnet%d: %w", depth, err)
		}
		switch {
		case t.Weights == "":
		case strings.HasSuffix(t.Weights, ".gmw"):
			if err := m.Load(t.Weights); err != nil {
				return nil, fmt.Errorf("-weights: %w", err)
			}
		default:
			sd, err := models.ReadStateDict(t.Weights)
			if err != nil {
				return nil, fmt.Errorf("-weights: %w", err)
			}
			if err := m.LoadStateDict(sd); err != nil {
				return nil, fmt.Errorf("-weights %s (torchvision's resnet%d state_dict): %w", t.Weights, depth, err)
			}
		}
		return m, nil
	}
}

// convNetTrunk is the ConvNet of -size, -blocks and -embedding, or the
// one of a checkpoint.
func convNetTrunk(c *ImageFlags, t Trunk, seed uint64) (models.Encoder, error) {
	if t.Weights == "" {
		cfg, err := c.ConvNetConfig(seed)
		if err != nil {
			return nil, err
		}
		return models.NewConvNet(cfg)
	}
	enc, err := models.LoadEncoder(t.Weights)
	if err != nil {
		return nil, fmt.Errorf("-weights: %w", err)
	}
	if _, ok := enc.(*models.ConvNet); !ok {
		return nil, fmt.Errorf("-weights %s holds a %T, not a ConvNet (-trunk convnet): %w", t.Weights, enc, gometric.ErrSetting)
	}
	return enc, nil
}

// TrunkKey identifies a trunk and its preprocessing for the partial files
// of a feature extraction (extract.Options.Key): the kind, the transform,
// a SHA-256 of every parameter's name, shape and values (and of a ResNet's
// state dict, running statistics included) and, when weights is not "",
// of that file.
func TrunkKey(kind, weights string, trunk models.Encoder, transform datasets.Compose) (string, error) {
	if trunk == nil {
		return "", fmt.Errorf("runner.TrunkKey: nil trunk: %w", gometric.ErrSetting)
	}
	h := sha256.New()
	var b [8]byte
	if sd, ok := trunk.(interface{ StateDict() models.StateDict }); ok {
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

// TransformLine is a transform's steps on one line, separated by commas.
func TransformLine(c datasets.Compose) string {
	steps := make([]string, len(c))
	for i, t := range c {
		steps[i] = fmt.Sprint(t)
	}
	return strings.Join(steps, ", ")
}

// TrainTrunk fine-tunes a trunk (t, e.g. a ResNet with ImageNet weights)
// on an image data set of the given kind: the images at the trunk's input
// side, decoded at every batch, the training images augmented as
// torchvision's ImageNet recipe (datasets.TrainTransform: RandomResizedCrop,
// RandomHorizontalFlip; drawn from opts.Seed and the epoch, so -resume draws
// what an uninterrupted run did), the test images through the evaluation
// transform (datasets.EvalTransform: resize to 256/224 of the side, centre
// crop); then a Run of opts (the trunk at opts.TrunkLR, an embedder of
// opts.Embedder at opts.LR: PML's CUB recipe is Adam 1e-5 and 1e-4,
// Linear(2048, 128), batch 32, m = 4).
func TrainTrunk(ctx context.Context, kind string, f *ImageFlags, t Trunk, opts Options, stdout, stderr io.Writer) error {
	if f == nil {
		return errNilImageFlags
	}
	start := time.Now()
	trunk, err := t.Build(f, opts.Seed)
	if err != nil {
		return err
	}
	in := trunk.InputShape()
	if len(in) != 3 || in[0] != 3 || in[1] != in[2] {
		return fmt.Errorf("-trunk %s takes %v inputs, want 3×S×S images: %w", t.Kind, in, gometric.ErrSetting)
	}
	side := in[1]
	transform := datasets.EvalTransform(side, int(math.Round(float64(side)*256/224)))
	flags := *f
	flags.Size, flags.Preload = side, false
	train, test, err := OpenImages(ctx, kind, &flags, nil)
	if err != nil {
		return err
	}
	ti, ok1 := train.(*datasets.ImageFiles)
	te, ok2 := test.(*datasets.ImageFiles)
	if !ok1 || !ok2 {
		return fmt.Errorf("runner.OpenImages returned a %T without -preload, not image files", train)
	}
	ti.Transform, ti.Seed = datasets.TrainTransform(side), opts.Seed
	te.Transform = transform
	PrintSplits(stdout, ImageName(kind), train, test, start)
	bn := "BatchNorm in train mode"
	if t.FreezeBN {
		bn = "BatchNorm frozen (PML's freeze_trunk_batchnorm)"
	}
	fmt.Fprintf(stdout, "fine-tuning trunk %s (%d features of 3×%d×%d images; training %s, test %s, ImageNet normalisation), %s\n",
		t.Kind, trunk.EmbeddingSize(), side, side, TransformLine(datasets.TrainTransform(side)), TransformLine(transform), bn)
	r := &Run{Options: opts, Encoder: trunk, Train: train, Test: test, Stdout: stdout, Stderr: stderr}
	_, err = r.Execute(ctx)
	return err
}
