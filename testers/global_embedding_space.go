package testers

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
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
// it.
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
// encoder. Its fields are its settings, checked at every call.
//
// Make it with NewGlobalEmbeddingSpace and set fields. The zero value (or a
// literal) is refused with an error wrapping gometric.ErrSetting that
// names NewGlobalEmbeddingSpace: its Normalize would be false while PML's
// normalize_embeddings defaults to true, so it would silently compute other
// numbers. A nil *GlobalEmbeddingSpace returns an error too.
//
// A GlobalEmbeddingSpace is safe for concurrent use as long as its fields
// are not modified meanwhile and its Embedder, Calculator and Progress
// writer are (Test and Embeddings only read the settings).
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

	made bool // set by NewGlobalEmbeddingSpace
}

// NewGlobalEmbeddingSpace returns a tester with PML's defaults:
// normalised embeddings, batches of 32, the default AccuracyCalculator.
func NewGlobalEmbeddingSpace() *GlobalEmbeddingSpace {
	return &GlobalEmbeddingSpace{Normalize: true, BatchSize: 32, made: true}
}

// Eval is one entry of PML's splits_to_eval: a query split and the splits
// whose union is its reference. When the query is among its references, the
// query comes first in the reference and the reference includes the query
// (PML's ref_includes_query). The zero value names no split: Test refuses
// it with an error wrapping gometric.ErrSetting. An Eval is a plain value,
// safe for concurrent use.
type Eval struct {
	Query      string
	References []string
}

// Test embeds the splits that evals name and computes the metrics of every
// Eval (PML's tester.test(dataset_dict, epoch, trunk_model)). With no evals,
// every split is evaluated against itself (PML's splits_to_eval=None). The
// result maps each query split to its metrics. A query split may appear in
// only one Eval (PML asserts the same).
func (g *GlobalEmbeddingSpace) Test(ctx context.Context, enc Embedder, splits map[string]datasets.Dataset, evals ...Eval) (map[string]accuracy.Results, error) {
	if err := g.check(ctx, enc); err != nil {
		return nil, err
	}
	if len(splits) == 0 {
		return nil, fmt.Errorf("%s: no split to evaluate: %w", name, gometric.ErrSetting)
	}
	names := make([]string, 0, len(splits))
	for s := range splits {
		names = append(names, s)
	}
	sort.Strings(names)
	if len(evals) == 0 {
		for _, s := range names {
			evals = append(evals, Eval{Query: s, References: []string{s}})
		}
	}
	// Normalise the evals (query first in its reference) and find the
	// splits to embed.
	plan := make([]Eval, len(evals))
	need := map[string]bool{}
	seen := map[string]bool{}
	for i, e := range evals {
		if seen[e.Query] {
			return nil, fmt.Errorf("%s: split %q is a query more than once: %w", name, e.Query, gometric.ErrSetting)
		}
		seen[e.Query] = true
		if len(e.References) == 0 {
			return nil, fmt.Errorf("%s: query split %q has no reference split: %w", name, e.Query, gometric.ErrSetting)
		}
		refs := []string{}
		includes := false
		for _, r := range e.References {
			if r == e.Query {
				includes = true
				continue
			}
			if slices.Contains(refs, r) {
				return nil, fmt.Errorf("%s: reference split %q listed twice for query %q: %w", name, r, e.Query, gometric.ErrSetting)
			}
			refs = append(refs, r)
		}
		if includes {
			refs = append([]string{e.Query}, refs...)
		}
		plan[i] = Eval{Query: e.Query, References: refs}
		for _, s := range append([]string{e.Query}, refs...) {
			if splits[s] == nil {
				return nil, fmt.Errorf("%s: unknown split %q: %w", name, s, gometric.ErrSetting)
			}
			need[s] = true
		}
	}
	type embedded struct {
		m      gometric.Matrix
		labels []int
	}
	emb := map[string]embedded{}
	for _, s := range names {
		if !need[s] {
			continue
		}
		m, l, err := g.embed(ctx, enc, splits[s], s)
		if err != nil {
			return nil, err
		}
		emb[s] = embedded{m, l}
	}
	calc := g.Calculator
	if calc == nil {
		calc = accuracy.NewCalculator()
	}
	out := make(map[string]accuracy.Results, len(plan))
	for _, e := range plan {
		q := emb[e.Query]
		ref, refLabels := q.m, q.labels
		if len(e.References) > 1 || e.References[0] != e.Query {
			ref, refLabels = gometric.Matrix{Cols: q.m.Cols}, nil
			for _, r := range e.References {
				ref.Data = append(ref.Data, emb[r].m.Data...)
				ref.Rows += emb[r].m.Rows
				refLabels = append(refLabels, emb[r].labels...)
			}
		}
		includes := e.References[0] == e.Query
		res, err := calc.Accuracy(q.m, q.labels, ref, refLabels, includes)
		if err != nil {
			return nil, fmt.Errorf("%s: split %q: %w", name, e.Query, err)
		}
		out[e.Query] = res
	}
	return out, nil
}

// Embeddings returns the embeddings of every sample of ds, in order,
// L2-normalised when Normalize is set, and their labels (PML's
// get_all_embeddings).
func (g *GlobalEmbeddingSpace) Embeddings(ctx context.Context, enc Embedder, ds datasets.Dataset) (gometric.Matrix, []int, error) {
	if err := g.check(ctx, enc); err != nil {
		return gometric.Matrix{}, nil, err
	}
	if ds == nil {
		return gometric.Matrix{}, nil, fmt.Errorf("%s: nil dataset: %w", name, gometric.ErrSetting)
	}
	return g.embed(ctx, enc, ds, "")
}

func (g *GlobalEmbeddingSpace) check(ctx context.Context, enc Embedder) error {
	switch {
	case g == nil:
		return fmt.Errorf("%s: nil receiver: %w", name, gometric.ErrSetting)
	case !g.made:
		return fmt.Errorf("%s: not made by NewGlobalEmbeddingSpace: the zero value is not PML's defaults (normalize_embeddings=True, batch_size=32); use NewGlobalEmbeddingSpace() and set fields: %w", name, gometric.ErrSetting)
	case ctx == nil:
		return fmt.Errorf("%s: nil context: %w", name, gometric.ErrSetting)
	case enc == nil:
		return fmt.Errorf("%s: nil encoder: %w", name, gometric.ErrSetting)
	case g.BatchSize < 1:
		return fmt.Errorf("%s: BatchSize = %d, want at least 1: %w", name, g.BatchSize, gometric.ErrSetting)
	}
	return nil
}

// embed computes the embeddings of ds batch by batch.
func (g *GlobalEmbeddingSpace) embed(ctx context.Context, enc Embedder, ds datasets.Dataset, split string) (gometric.Matrix, []int, error) {
	what := name
	if split != "" {
		what = fmt.Sprintf("%s: split %q", name, split)
	}
	n := ds.Len()
	if n < 1 {
		return gometric.Matrix{}, nil, fmt.Errorf("%s: empty dataset: %w", what, gometric.ErrShape)
	}
	all := ds.Labels()
	if len(all) != n {
		return gometric.Matrix{}, nil, fmt.Errorf("%s: %d samples but %d labels: %w", what, n, len(all), gometric.ErrLabels)
	}
	labels := slices.Clone(all)
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
	var x gometric.Matrix
	bs := min(g.BatchSize, n) // a BatchSize beyond the dataset sizes nothing
	idx := make([]int, 0, bs)
	for s := 0; s < n; s += bs {
		if err := ctx.Err(); err != nil {
			return gometric.Matrix{}, nil, err
		}
		end := min(s+bs, n)
		idx = idx[:0]
		for i := s; i < end; i++ {
			idx = append(idx, i)
		}
		var err error
		if x, _, err = ds.Batch(idx, x); err != nil {
			return gometric.Matrix{}, nil, fmt.Errorf("%s: %w", what, err)
		}
		y, err := enc.Embed(x)
		if err != nil {
			return gometric.Matrix{}, nil, fmt.Errorf("%s: %w", what, err)
		}
		if s == 0 {
			// The first batch's embeddings size the output: check them
			// against the values they hold before allocating n rows.
			if y.Cols < 1 || y.Rows != end-s || y.Cols > len(y.Data) || len(y.Data) != y.Rows*y.Cols {
				return gometric.Matrix{}, nil, fmt.Errorf("%s: the embedder returned %d×%d embeddings (%d values) for %d samples: %w", what, y.Rows, y.Cols, len(y.Data), end-s, gometric.ErrShape)
			}
			out = gometric.Matrix{Rows: n, Cols: y.Cols, Data: make([]float32, n*y.Cols)}
		}
		e := out.Cols
		if y.Rows != end-s || y.Cols != e || len(y.Data) != (end-s)*e {
			return gometric.Matrix{}, nil, fmt.Errorf("%s: the embedder returned %d×%d embeddings (%d values) for %d samples, want %d columns: %w", what, y.Rows, y.Cols, len(y.Data), end-s, e, gometric.ErrShape)
		}
		copy(out.Data[s*e:end*e], y.Data)
		if bar != nil {
			_ = bar.Add(end - s)
		}
	}
	if g.Normalize {
		out.L2Normalize()
	}
	if err := out.Validate(what, "embeddings"); err != nil {
		return gometric.Matrix{}, nil, err
	}
	return out, labels, nil
}
