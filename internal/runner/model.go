package runner

import (
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"testing/fstest"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/utils/extract"
)

// The splits of Dataset.
const (
	SplitTrain = datasets.SplitTrain
	SplitTest  = datasets.SplitTest
	// SplitAll is every image of an image data set (OpenAllImages):
	// embedded into one feature file, it is what -dataset features splits
	// by class halves again, which for CUB-200-2011 and Cars196 are
	// PML's class-disjoint splits.
	SplitAll = "all"
)

// ModelFlags name a trained model for the programs that use one (gometric
// eval, embed, index, serve): the trunk's weights and, optionally, an
// embedder's. Register sets the defaults; the zero value has no -weights,
// which Open refuses. A ModelFlags is filled by flag parsing and is not
// safe for concurrent use.
type ModelFlags struct {
	// Weights is the trunk's weight file (-weights): a .gmw checkpoint
	// of any encoder (models.LoadEncoder), or with Trunk a ResNet's
	// torchvision state dict.
	Weights string
	// EmbedderWeights is the embedder's weight file (-embedder-weights);
	// "" takes the file beside Weights that a run writes
	// (checkpoint-embedder.gmw beside checkpoint.gmw, epoch-N-embedder.gmw
	// beside epoch-N.gmw) when it exists, and "none" refuses it.
	EmbedderWeights string
	// Trunk is "" for a .gmw checkpoint, or a ResNet kind of TrunkNames
	// (-trunk) whose Weights are a torchvision state dict.
	Trunk string
	// Side is a ResNet trunk's input side (-trunk-size).
	Side int
}

// Register defines the flags of m on fs.
func (m *ModelFlags) Register(fs *flag.FlagSet) {
	if m == nil || fs == nil {
		return
	}
	if m.Side == 0 {
		m.Side = 224
	}
	fs.StringVar(&m.Weights, "weights", m.Weights, "the trunk's weights: a checkpoint of a run (e.g. out/"+CheckpointFile+"), or with -trunk a torchvision state dict (.pth, .safetensors)")
	fs.StringVar(&m.EmbedderWeights, "embedder-weights", m.EmbedderWeights, "the embedder's weights (default: the -embedder file a run wrote beside -weights, if any; none: no embedder)")
	fs.StringVar(&m.Trunk, "trunk", m.Trunk, "with a torchvision state dict as -weights: its ResNet, one of "+strings.Join(TrunkNames()[1:], ", "))
	fs.IntVar(&m.Side, "trunk-size", m.Side, "-trunk: the ResNet's input side")
}

// Model is a trained model opened by ModelFlags.Open. It is safe for
// concurrent use (its encoders serialise their calls).
type Model struct {
	// Trunk is the trunk; its InputShape is the model's input.
	Trunk models.Encoder
	// Embedder is nil, or the embedder after the trunk.
	Embedder models.Encoder
	// Key identifies the model's weights (a SHA-256 of its files and its
	// preprocessing), for extract.Options.Key.
	Key string
	// Transform is the images' preprocessing before normalisation: nil
	// for a run's ConvNet (datasets.ImageFiles' centre crop), torchvision's
	// evaluation transform for a ResNet (a state dict with -trunk, or a
	// checkpoint of TrainTrunk).
	Transform datasets.Compose
}

// Embed runs the trunk and the embedder (testers.TrunkEmbedder).
func (m *Model) Embed(x gometric.Matrix) (gometric.Matrix, error) {
	if m == nil || m.Trunk == nil {
		return gometric.Matrix{}, fmt.Errorf("runner.Model: not opened by ModelFlags.Open: %w", gometric.ErrSetting)
	}
	if m.Embedder == nil {
		return m.Trunk.Embed(x)
	}
	return testers.TrunkEmbedder{Trunk: m.Trunk, Embedder: m.Embedder}.Embed(x)
}

// Dim is the size of the model's embeddings (0 for a nil Model).
func (m *Model) Dim() int {
	switch {
	case m == nil || m.Trunk == nil:
		return 0
	case m.Embedder != nil:
		return m.Embedder.EmbeddingSize()
	}
	return m.Trunk.EmbeddingSize()
}

// Open reads the model's weight files.
func (m *ModelFlags) Open() (*Model, error) {
	if m == nil {
		return nil, fmt.Errorf("runner.ModelFlags: nil: %w", gometric.ErrSetting)
	}
	if m.Weights == "" {
		return nil, fmt.Errorf("-weights is required: the trunk's weights (e.g. out/%s): %w", CheckpointFile, gometric.ErrSetting)
	}
	out := &Model{}
	var err error
	h := sha256.New()
	if m.Trunk == "" {
		if out.Trunk, err = models.LoadEncoder(m.Weights); err != nil {
			return nil, fmt.Errorf("-weights: %w", err)
		}
		if _, ok := out.Trunk.(*models.ResNet); ok {
			// A ResNet checkpoint (TrainTrunk's): evaluated as it was.
			side := out.Trunk.InputShape()[1]
			out.Transform = datasets.EvalTransform(side, int(math.Round(float64(side)*256/224)))
		}
	} else {
		if !slices.Contains(TrunkNames()[1:], m.Trunk) {
			return nil, fmt.Errorf("-trunk %q: want one of %v (a ConvNet checkpoint needs no -trunk): %w", m.Trunk, TrunkNames()[1:], gometric.ErrSetting)
		}
		if out.Trunk, err = (Trunk{Kind: m.Trunk, Weights: m.Weights, Side: m.Side}).Build(nil, 0); err != nil {
			return nil, err
		}
		side := out.Trunk.InputShape()[1]
		out.Transform = datasets.EvalTransform(side, int(math.Round(float64(side)*256/224)))
	}
	fmt.Fprintf(h, "%s %v\n", m.Trunk, out.Transform)
	if err := hashFile(h, m.Weights); err != nil {
		return nil, fmt.Errorf("-weights: %w", err)
	}
	emb := m.EmbedderWeights
	if emb == "" && strings.HasSuffix(m.Weights, ".gmw") {
		beside := strings.TrimSuffix(m.Weights, ".gmw") + "-embedder.gmw"
		if _, err := os.Stat(beside); err == nil {
			emb = beside
		}
	}
	if emb != "" && emb != "none" {
		if out.Embedder, err = models.LoadEncoder(emb); err != nil {
			return nil, fmt.Errorf("-embedder-weights: %w", err)
		}
		if in := out.Embedder.InputShape(); len(in) != 1 || in[0] != out.Trunk.EmbeddingSize() {
			return nil, fmt.Errorf("-embedder-weights %s takes %v inputs, but the trunk's embeddings have %d values: %w", emb, in, out.Trunk.EmbeddingSize(), gometric.ErrShape)
		}
		if err := hashFile(h, emb); err != nil {
			return nil, fmt.Errorf("-embedder-weights: %w", err)
		}
	}
	out.Key = fmt.Sprintf("%s sha256:%x", m.Weights, h.Sum(nil))
	return out, nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Dataset opens split (SplitTrain, SplitTest, or for an image kind
// SplitAll) of the data set of the
// given kind (OpenData) as model's inputs: images at the trunk's input
// side, decoded batch by batch (not preloaded) with the model's
// Transform; Fashion-MNIST and feature files as they are. A model whose
// input does not fit the data set is an error wrapping gometric.ErrShape.
func Dataset(ctx context.Context, kind string, f *ImageFlags, model *Model, split string, progress io.Writer) (datasets.Dataset, string, error) {
	if err := checkDataKind(kind); err != nil {
		return nil, "", err
	}
	if f == nil || model == nil || model.Trunk == nil {
		return nil, "", fmt.Errorf("runner.Dataset: image flags or model missing: %w", gometric.ErrSetting)
	}
	image := kind != KindFashionMNIST && kind != KindFeatures
	if split != SplitTrain && split != SplitTest && (split != SplitAll || !image) {
		return nil, "", fmt.Errorf("-split %q: want %s, %s or, for images, %s: %w", split, SplitTrain, SplitTest, SplitAll, gometric.ErrSetting)
	}
	in := model.Trunk.InputShape()
	flags := *f
	if image {
		if len(in) != 3 || in[0] != 3 || in[1] != in[2] {
			return nil, "", fmt.Errorf("-weights takes %v inputs, not 3×S×S images of -dataset %s: %w", in, kind, gometric.ErrShape)
		}
		flags.Size, flags.Preload = in[1], false
	}
	var ds datasets.Dataset
	var notice string
	if split == SplitAll {
		all, err := OpenAllImages(kind, &flags)
		if err != nil {
			return nil, "", err
		}
		ds = all
	} else {
		train, test, n, err := OpenData(ctx, kind, &flags, progress)
		if err != nil {
			return nil, "", err
		}
		ds, notice = test, n
		if split == SplitTrain {
			ds = train
		}
	}
	if image && model.Transform != nil {
		files, ok := ds.(*datasets.ImageFiles)
		if !ok {
			return nil, "", fmt.Errorf("runner.OpenImages returned a %T without -preload, not image files", ds)
		}
		files.Transform = model.Transform
	}
	if !slices.Equal(ds.SampleShape(), in) {
		return nil, "", fmt.Errorf("-weights takes %v inputs, but -dataset %s has %v samples: %w", in, kind, ds.SampleShape(), gometric.ErrShape)
	}
	return ds, notice, nil
}

// EvaluateModel evaluates a trained model on split of the data set
// (Dataset) with the runs' tester and metrics (Run.Evaluate): it prints
// the row, writes CSVFile and PNGFile into opts.Out and, with scatter not
// "", the scatter plot into that directory (testers.PNGVisualizer).
func EvaluateModel(ctx context.Context, kind string, f *ImageFlags, mf *ModelFlags, opts Options, split, scatter string, stdout, stderr io.Writer) (Row, error) {
	model, err := mf.Open()
	if err != nil {
		return Row{}, err
	}
	progress := stderr
	if opts.Quiet {
		progress = nil
	}
	start := time.Now()
	ds, notice, err := Dataset(ctx, kind, f, model, split, progress)
	if err != nil {
		return Row{}, err
	}
	if notice != "" {
		fmt.Fprintln(stdout, notice)
	}
	fmt.Fprintf(stdout, "%s %s split: %d samples (%d classes), loaded in %.1f s; model %s (%d-dimensional embeddings)\n",
		DataName(kind), split, ds.Len(), len(distinctLabels(ds.Labels())), time.Since(start).Seconds(), mf.Weights, model.Dim())
	r := &Run{Options: opts, Test: ds, Stdout: stdout, Stderr: stderr, Scatter: scatter}
	row, err := r.Evaluate(ctx, model)
	if err == nil && scatter != "" {
		fmt.Fprintf(stdout, "wrote the scatter plot into %s\n", scatter)
	}
	return row, err
}

// EmbedOptions are the settings of EmbedData beyond the data set and the
// model. The zero value means extract's defaults. It is a plain value,
// safe for concurrent reads.
type EmbedOptions struct {
	// BatchSize and ChunkSize are extract.Options'.
	BatchSize, ChunkSize int
	// Overwrite extracts again over a file that does not match.
	Overwrite bool
}

// EmbedData embeds split of the data set through the model into the
// feature file out (extract.Features: batched, all cores, a progress bar
// on progress, checkpointed in out+".partial" so that an interrupted run
// continues where it stopped; a complete file that matches is reused) and
// prints what it did.
func EmbedData(ctx context.Context, kind string, f *ImageFlags, mf *ModelFlags, split, out string, o EmbedOptions, stdout, progress io.Writer) (*datasets.Features, error) {
	if out == "" {
		return nil, fmt.Errorf("-o is required: the feature file to write: %w", gometric.ErrSetting)
	}
	if stdout == nil {
		stdout = io.Discard
	}
	model, err := mf.Open()
	if err != nil {
		return nil, err
	}
	ds, notice, err := Dataset(ctx, kind, f, model, split, nil)
	if err != nil {
		return nil, err
	}
	if notice != "" {
		fmt.Fprintln(stdout, notice)
	}
	return Extract(ctx, model, ds, out, extract.Options{
		BatchSize: o.BatchSize, ChunkSize: o.ChunkSize, Progress: progress, Key: model.Key, Overwrite: o.Overwrite},
		"-overwrite extracts them again", stdout)
}

// Extract runs extract.Features of enc on ds into path and reports on
// stdout whether the file was reused, resumed or extracted (and what of a
// partial file was extracted again): the one extraction step of the
// command's embed and of examples/cub200's frozen trunk. hint is appended
// to a mismatch error (how to extract again).
func Extract(ctx context.Context, enc testers.Embedder, ds datasets.Dataset, path string, o extract.Options, hint string, stdout io.Writer) (*datasets.Features, error) {
	if stdout == nil {
		stdout = io.Discard
	}
	t0 := time.Now()
	res, err := extract.Features(ctx, enc, ds, path, o)
	if errors.Is(err, extract.ErrMismatch) {
		return nil, fmt.Errorf("%w (%s)", err, hint)
	}
	if err != nil {
		return nil, err
	}
	feats := res.Features
	switch {
	case res.Reused:
		fmt.Fprintf(stdout, "%s: reused, not extracted again (%d × %d features; its first batch re-embedded matches)\n", path, feats.Len(), feats.Dim())
	case res.Resumed > 0:
		fmt.Fprintf(stdout, "%s: resumed after sample %d of %d, extracted %d × %d features in %.1f s\n", path, res.Resumed, feats.Len(), feats.Len(), feats.Dim(), time.Since(t0).Seconds())
	default:
		fmt.Fprintf(stdout, "%s: extracted %d × %d features in %.1f s\n", path, feats.Len(), feats.Dim(), time.Since(t0).Seconds())
	}
	if res.Discarded != "" {
		fmt.Fprintf(stdout, "%s: the end of the partial file was extracted again: %s\n", path, res.Discarded)
	}
	return feats, nil
}

// EmbedImages embeds encoded images (JPEG, PNG, GIF, BMP, TIFF, WebP; the
// decoders of datasets.ImageFiles, Pillow's pixels for a JPEG) as the data
// sets feed them to the model: resized and centre-cropped to the trunk's
// input side (or the model's Transform), ImageNet-normalised. maxPixels
// bounds a source image's declared size (0: datasets.DefaultMaxPixels). A
// model whose input is not 3×S×S images is an error wrapping
// gometric.ErrUnsupported; an image that does not decode names its
// position. One row per image.
func (m *Model) EmbedImages(images [][]byte, maxPixels int) (gometric.Matrix, error) {
	if m == nil || m.Trunk == nil {
		return gometric.Matrix{}, fmt.Errorf("runner.Model: not opened by ModelFlags.Open: %w", gometric.ErrSetting)
	}
	in := m.Trunk.InputShape()
	if len(in) != 3 || in[0] != 3 || in[1] != in[2] {
		return gometric.Matrix{}, fmt.Errorf("runner.Model: the model takes %v inputs, not 3×S×S images: %w", in, gometric.ErrUnsupported)
	}
	if len(images) == 0 {
		return gometric.Matrix{}, fmt.Errorf("runner.Model: no images: %w", gometric.ErrShape)
	}
	fsys := fstest.MapFS{}
	for i, b := range images {
		fsys[fmt.Sprintf("upload/%09d.jpg", i)] = &fstest.MapFile{Data: b, Mode: 0o444}
	}
	files, err := datasets.NewImageFolderFS(fsys)
	if err != nil {
		return gometric.Matrix{}, err
	}
	if files.Len() != len(images) {
		return gometric.Matrix{}, fmt.Errorf("runner.Model: %d of %d images listed: %w", files.Len(), len(images), gometric.ErrShape)
	}
	files.Width, files.Height, files.MaxPixels = in[1], in[2], maxPixels
	if m.Transform != nil {
		// (a nil Compose in the interface would be a Transform that
		// does nothing, not the default fit)
		files.Transform = m.Transform
	}
	idx := make([]int, len(images))
	for i := range idx {
		idx[i] = i
	}
	x, _, err := files.Batch(idx, gometric.Matrix{})
	if err != nil {
		return gometric.Matrix{}, err
	}
	return m.Embed(x)
}
