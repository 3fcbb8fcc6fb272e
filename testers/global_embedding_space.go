package testers

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/schollz/progressbar/v3"
)

const name = "testers.GlobalEmbeddingSpace"

// Embedder maps a batch of inputs — one flattened sample per row, as
// datasets.Dataset.Batch returns them — to their embeddings, one per row. It
// is all a tester needs of a model: a models.Encoder is one, and EmbedFunc
// makes one of any function, so evaluation does not depend on how the
// embeddings are made (and this package does not import Gorgonia). The
// tester never calls Embed concurrently (one goroutine at a time); the
// returned matrix is copied before the next call, so an Embedder may reuse
// it. While Embed runs on one batch, the tester reads the next one
// (datasets.Dataset.Batch, itself one call at a time) on another
// goroutine, so that decoding overlaps embedding: an Embedder and a data
// set that share state must be safe for use at the same time.
type Embedder interface {
	Embed(x gometric.Matrix) (gometric.Matrix, error)
}

// EmbedFunc adapts a function to the Embedder interface. It is as safe for
// concurrent use as the function it wraps.
type EmbedFunc func(x gometric.Matrix) (gometric.Matrix, error)

// Embed calls f(x); a nil f returns an error wrapping gometric.ErrSetting.
func (f EmbedFunc) Embed(x gometric.Matrix) (gometric.Matrix, error) {
	if f == nil {
		return gometric.Matrix{}, fmt.Errorf("testers.EmbedFunc: nil function: %w", gometric.ErrSetting)
	}
	return f(x)
}

// GlobalEmbeddingSpace mirrors PML's GlobalEmbeddingSpaceTester: retrieval
// and clustering metrics computed in the embedding space of the whole
// encoder. Its fields are its settings (PML's BaseTester options), checked
// at every call.
//
// Make it with NewGlobalEmbeddingSpace and set fields. The zero value (or a
// literal) is refused with an error wrapping gometric.ErrSetting that
// names NewGlobalEmbeddingSpace: its Normalize would be false while PML's
// normalize_embeddings defaults to true, so it would silently compute other
// numbers. A nil *GlobalEmbeddingSpace returns an error too.
//
// PML options with no counterpart: dataloader_num_workers, data_device,
// dtype and data_and_label_getter (a datasets.Dataset gives float32 rows
// and labels), set_min_label_to_zero and dataset_labels (relabelling does
// not change any metric: they compare labels for equality), and the
// "epoch" entry of the results (Test takes no epoch).
//
// A GlobalEmbeddingSpace is safe for concurrent use as long as its fields
// are not modified meanwhile and its Embedder, Calculator, Progress
// writer, EndOfTesting and Visualize functions are (Test and Embeddings
// only read the settings).
type GlobalEmbeddingSpace struct {
	// Calculator computes the metrics (PML's accuracy_calculator); nil
	// means accuracy.NewCalculator(), PML's default AccuracyCalculator().
	Calculator *accuracy.Calculator
	// Normalize L2-normalises the embeddings before the metrics (PML's
	// normalize_embeddings, default true).
	Normalize bool
	// BatchSize is the number of samples embedded at once (PML's
	// batch_size, default 32). It changes the speed, not the result.
	BatchSize int
	// Progress, when not nil, receives a progress bar while a split is
	// embedded (PML's tqdm bar).
	Progress io.Writer
	// UseTrunkOutput evaluates the trunk's output instead of the
	// embedder's (PML's use_trunk_output, default false). The Embedder
	// given to Test must then be a TrunkEmbedder (or *TrunkEmbedder),
	// PML's (trunk_model, embedder_model) pair; its Embedder is not run.
	UseTrunkOutput bool
	// PCA, when above 0, standardises each split's embeddings (torch's
	// column mean and unbiased std) and projects them on their first PCA
	// principal components (PML's pca, default None; PML runs FAISS's
	// PCAMatrix, this package the same projection with gonum's symmetric
	// eigendecomposition in float64 — equal to about 1e-6, and each
	// component's sign, which LAPACK leaves arbitrary, is fixed so its
	// largest coordinate is positive; distances do not depend on signs).
	// PCA is applied before Normalize, per split, as PML's
	// maybe_normalize. It must not exceed the embedding dimension.
	PCA int
	// LabelHierarchyLevel lists the label levels to evaluate (PML's
	// label_hierarchy_level as an int or a list); nil means level 0, PML's
	// default. Levels beyond level 0 come from data sets that implement
	// MultiLevel. AllLevels (PML's "all") evaluates every level the query
	// split has and overrides LabelHierarchyLevel. When more than one
	// level is evaluated, Evaluate also returns PML's "AVERAGE_" keys.
	LabelHierarchyLevel []int
	AllLevels           bool
	// EndOfTesting, when not nil, is called with Evaluate's results (PML's
	// end_of_testing_hook, which gets the tester and reads
	// all_accuracies) after every Test or Evaluate; its error is returned
	// wrapped, with no results.
	EndOfTesting func(results map[string]accuracy.Results) error
	// Visualize, when not nil, is called for every embedded split and
	// every evaluated label level with the split's embeddings (as the
	// metrics see them) and that level's labels (PML's visualizer and
	// visualizer_hook); PNGVisualizer makes one that writes scatter plots.
	// Its error is returned wrapped.
	Visualize func(split string, level int, embeddings gometric.Matrix, labels []int) error

	made bool // set by NewGlobalEmbeddingSpace
}

// NewGlobalEmbeddingSpace returns a tester with PML's defaults:
// normalised embeddings, batches of 32, the default AccuracyCalculator,
// label level 0, no PCA, no trunk output.
func NewGlobalEmbeddingSpace() *GlobalEmbeddingSpace {
	return &GlobalEmbeddingSpace{Normalize: true, BatchSize: 32, made: true}
}

// Eval is one entry of PML's splits_to_eval: a query split and the splits
// whose union is its reference. When the query is among its references, the
// query comes first in the reference and the reference includes the query
// (PML's ref_includes_query). The zero value names no split: Test refuses
// it with an error wrapping gometric.ErrSetting. An Eval is a plain value,
// safe for concurrent use. ComparedToSelf, ComparedToSetsCombined and
// ComparedToTrainingSet make the Evals of PML's former reference_set modes.
type Eval struct {
	Query      string
	References []string
}

// Test embeds the splits that evals name and computes the metrics of every
// Eval (PML's tester.test(dataset_dict, epoch, trunk_model)). With no evals,
// every split is evaluated against itself (PML's splits_to_eval=None). The
// result maps each query split to its metrics, keyed by the metric names of
// package accuracy (Evaluate gives PML's keys, "precision_at_1_level0"). A
// query split may appear in only one Eval (PML asserts the same). Test
// evaluates one label level (level 0 unless LabelHierarchyLevel says
// otherwise); for several, use Evaluate, which Test refuses to stand in for
// with an error wrapping gometric.ErrSetting.
func (g *GlobalEmbeddingSpace) Test(ctx context.Context, enc Embedder, splits map[string]datasets.Dataset, evals ...Eval) (map[string]accuracy.Results, error) {
	return plainKeys(g.run(ctx, name, enc, asSources(splits), evals, globalSpace, true))
}

// Evaluate is Test with PML's result keys: for every query split, each
// metric at each evaluated label level L under metric + "_level" + L
// ("precision_at_1_level0"), and, when several levels are evaluated, their
// mean under "AVERAGE_" + metric (its Scalar only; its Warnings are those
// of the levels, prefixed by "level L: ").
func (g *GlobalEmbeddingSpace) Evaluate(ctx context.Context, enc Embedder, splits map[string]datasets.Dataset, evals ...Eval) (map[string]accuracy.Results, error) {
	return pmlKeys(g.run(ctx, name, enc, asSources(splits), evals, globalSpace, false))
}

// Embeddings returns the embeddings of every sample of ds, in order, as
// the metrics see them (PCA and L2 normalisation applied when set), and
// their labels at level 0 (PML's get_all_embeddings).
func (g *GlobalEmbeddingSpace) Embeddings(ctx context.Context, enc Embedder, ds datasets.Dataset) (gometric.Matrix, []int, error) {
	return g.embeddings(ctx, name, enc, ds)
}

func (g *GlobalEmbeddingSpace) embeddings(ctx context.Context, who string, enc Embedder, ds datasets.Dataset) (gometric.Matrix, []int, error) {
	enc, err := g.check(ctx, who, enc)
	if err != nil {
		return gometric.Matrix{}, nil, err
	}
	if check.Nil(ds) {
		return gometric.Matrix{}, nil, fmt.Errorf("%s: nil dataset: %w", who, gometric.ErrSetting)
	}
	levels, err := labelLevels(who, ds)
	if err != nil {
		return gometric.Matrix{}, nil, err
	}
	m, err := g.embed(ctx, enc, ds, who, "")
	if err != nil {
		return gometric.Matrix{}, nil, err
	}
	if m, err = g.postprocess(m, who, ""); err != nil {
		return gometric.Matrix{}, nil, err
	}
	return m, levels[0], nil
}

// check validates the settings and returns the Embedder to run (the trunk
// when UseTrunkOutput is set).
func (g *GlobalEmbeddingSpace) check(ctx context.Context, who string, enc Embedder) (Embedder, error) {
	ctor := "New" + strings.TrimPrefix(who, "testers.")
	switch {
	case g == nil:
		return nil, fmt.Errorf("%s: nil receiver: %w", who, gometric.ErrSetting)
	case !g.made:
		return nil, fmt.Errorf("%s: not made by %s: the zero value is not PML's defaults (normalize_embeddings=True, batch_size=32); use %s() and set fields: %w", who, ctor, ctor, gometric.ErrSetting)
	case ctx == nil:
		return nil, fmt.Errorf("%s: nil context: %w", who, gometric.ErrSetting)
	case check.Nil(enc):
		return nil, fmt.Errorf("%s: nil encoder: %w", who, gometric.ErrSetting)
	case g.BatchSize < 1:
		return nil, fmt.Errorf("%s: BatchSize = %d, want at least 1: %w", who, g.BatchSize, gometric.ErrSetting)
	case g.PCA < 0:
		return nil, fmt.Errorf("%s: PCA = %d, want 0 (none) or a number of dimensions: %w", who, g.PCA, gometric.ErrSetting)
	}
	for i, l := range g.LabelHierarchyLevel {
		if l < 0 {
			return nil, fmt.Errorf("%s: LabelHierarchyLevel[%d] = %d, want a level of at least 0: %w", who, i, l, gometric.ErrSetting)
		}
		if slices.Contains(g.LabelHierarchyLevel[:i], l) {
			return nil, fmt.Errorf("%s: LabelHierarchyLevel lists level %d twice: %w", who, l, gometric.ErrSetting)
		}
	}
	if !g.UseTrunkOutput {
		return enc, nil
	}
	var te TrunkEmbedder
	switch e := enc.(type) {
	case TrunkEmbedder:
		te = e
	case *TrunkEmbedder:
		te = *e
	default:
		return nil, fmt.Errorf("%s: UseTrunkOutput needs a testers.TrunkEmbedder (the trunk and embedder models), got %T: %w", who, enc, gometric.ErrSetting)
	}
	if check.Nil(te.Trunk) {
		return nil, fmt.Errorf("%s: UseTrunkOutput: the TrunkEmbedder has no Trunk: %w", who, gometric.ErrSetting)
	}
	return te.Trunk, nil
}

// postprocess is PML's maybe_normalize: PCA of the standardised
// embeddings, then L2 normalisation; the result must be finite.
func (g *GlobalEmbeddingSpace) postprocess(m gometric.Matrix, who, split string) (gometric.Matrix, error) {
	what := who
	if split != "" {
		what = fmt.Sprintf("%s: split %q", who, split)
	}
	if g.PCA > 0 {
		if g.PCA > m.Cols {
			return gometric.Matrix{}, fmt.Errorf("%s: PCA = %d exceeds the embedding dimension %d: %w", what, g.PCA, m.Cols, gometric.ErrSetting)
		}
		if err := m.Validate(what, "embeddings"); err != nil {
			return gometric.Matrix{}, err
		}
		var err error
		if m, err = standardPCA(m, g.PCA, what); err != nil {
			return gometric.Matrix{}, err
		}
	}
	if g.Normalize {
		m.L2Normalize()
	}
	if err := m.Validate(what, "embeddings"); err != nil {
		return gometric.Matrix{}, err
	}
	return m, nil
}

// embed computes the embeddings of ds batch by batch.
func (g *GlobalEmbeddingSpace) embed(ctx context.Context, enc Embedder, ds datasets.Dataset, who, split string) (gometric.Matrix, error) {
	what := who
	if split != "" {
		what = fmt.Sprintf("%s: split %q", who, split)
	}
	n := ds.Len()
	if n < 1 {
		return gometric.Matrix{}, fmt.Errorf("%s: empty dataset: %w", what, gometric.ErrShape)
	}
	var out gometric.Matrix
	var bar *progressbar.ProgressBar
	if g.Progress != nil {
		desc := "embedding"
		if split != "" {
			desc = "embedding " + split
		}
		bar = progressbar.NewOptions(n,
			progressbar.OptionSetWriter(g.Progress),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(200*time.Millisecond),
		)
		defer func() {
			_ = bar.Exit()
			fmt.Fprintln(g.Progress)
		}()
	}
	bs := min(g.BatchSize, n) // a BatchSize beyond the dataset sizes nothing
	// Two input buffers: the next batch is read (ds.Batch) on another
	// goroutine into one while the current batch, in the other, is
	// embedded.
	var bufs [2]gometric.Matrix
	load := func(slot, s int) error {
		idx := make([]int, 0, min(bs, n-s))
		for i := s; i < min(s+bs, n); i++ {
			idx = append(idx, i)
		}
		x, _, err := ds.Batch(idx, bufs[slot])
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		bufs[slot] = x
		return nil
	}
	if err := ctx.Err(); err != nil {
		return gometric.Matrix{}, err
	}
	if err := load(0, 0); err != nil {
		return gometric.Matrix{}, err
	}
	for s, slot := 0, 0; s < n; s, slot = s+bs, 1-slot {
		end := min(s+bs, n)
		var next chan error
		if end < n {
			next = make(chan error, 1)
			go func() { next <- load(1-slot, end) }()
		}
		err := g.embedInto(&out, enc, bufs[slot], s, end, n, what)
		if next != nil {
			// The load finishes before the batch's error is returned,
			// so that no Batch call outlives this one.
			if lerr := <-next; err == nil {
				err = lerr
			}
		}
		if err != nil {
			return gometric.Matrix{}, err
		}
		if bar != nil {
			_ = bar.Add(end - s)
		}
		if end < n {
			if err := ctx.Err(); err != nil {
				return gometric.Matrix{}, err
			}
		}
	}
	return out, nil
}

// embedInto embeds x, samples [s, end) of n, into out, which the first
// batch allocates.
func (g *GlobalEmbeddingSpace) embedInto(out *gometric.Matrix, enc Embedder, x gometric.Matrix, s, end, n int, what string) error {
	y, err := enc.Embed(x)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if s == 0 {
		// The first batch's embeddings size the output: check them
		// against the values they hold before allocating n rows.
		if y.Cols < 1 || y.Rows != end-s || y.Cols > len(y.Data) || len(y.Data) != y.Rows*y.Cols {
			return fmt.Errorf("%s: the embedder returned %d×%d embeddings (%d values) for %d samples: %w", what, y.Rows, y.Cols, len(y.Data), end-s, gometric.ErrShape)
		}
		*out = gometric.Matrix{Rows: n, Cols: y.Cols, Data: make([]float32, n*y.Cols)}
	}
	e := out.Cols
	if y.Rows != end-s || y.Cols != e || len(y.Data) != (end-s)*e {
		return fmt.Errorf("%s: the embedder returned %d×%d embeddings (%d values) for %d samples, want %d columns: %w", what, y.Rows, y.Cols, len(y.Data), end-s, e, gometric.ErrShape)
	}
	copy(out.Data[s*e:end*e], y.Data)
	return nil
}
