package testers

import (
	"context"
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/utils/accuracy"
)

const nameTwoStream = "testers.GlobalTwoStreamEmbeddingSpace"

// TwoStreamSplit is one split of a two-stream data set (PML's datasets
// yielding (anchor, positive, label)): sample i of Anchors and sample i of
// Positives form pair i, labelled by Anchors' label i (Positives must have
// the same labels; levels beyond 0 come from Anchors if it is MultiLevel).
// It is a plain value, as safe for concurrent use as its data sets.
type TwoStreamSplit struct {
	Anchors, Positives datasets.Dataset
}

// GlobalTwoStreamEmbeddingSpace mirrors PML's
// GlobalTwoStreamEmbeddingSpaceTester: each split's anchors are the
// queries and its positives the reference (which does not include the
// query), both embedded by the same model and post-processed (PCA,
// normalisation) separately, as PML's maybe_normalize on each. A split can
// only be evaluated against itself (PML asserts; another Eval is an error
// wrapping gometric.ErrSetting). Every setting of the embedded
// GlobalEmbeddingSpace applies; Visualize gets the anchors followed by the
// positives, as PML's visualizer.
//
// PML's two-stream tester keeps only the configured label level's column,
// so it fails for an int label_hierarchy_level other than 0; here every
// level of LabelHierarchyLevel is evaluated as by GlobalEmbeddingSpace.
//
// Make it with NewGlobalTwoStreamEmbeddingSpace: the zero value is refused
// with an error wrapping gometric.ErrSetting that names it, and a nil
// *GlobalTwoStreamEmbeddingSpace returns an error. It is safe for
// concurrent use on the same terms as GlobalEmbeddingSpace.
type GlobalTwoStreamEmbeddingSpace struct {
	GlobalEmbeddingSpace
}

// NewGlobalTwoStreamEmbeddingSpace returns the tester with PML's defaults
// (those of NewGlobalEmbeddingSpace).
func NewGlobalTwoStreamEmbeddingSpace() *GlobalTwoStreamEmbeddingSpace {
	return &GlobalTwoStreamEmbeddingSpace{*NewGlobalEmbeddingSpace()}
}

func (g *GlobalTwoStreamEmbeddingSpace) inner() *GlobalEmbeddingSpace {
	if g == nil {
		return nil
	}
	return &g.GlobalEmbeddingSpace
}

func pairSources(splits map[string]TwoStreamSplit) map[string]source {
	out := make(map[string]source, len(splits))
	for k, v := range splits {
		out[k] = source{pair: &v}
	}
	return out
}

// Test embeds the anchors and positives of the splits evals name (with no
// evals, every split) and returns each split's metrics of anchors
// retrieving positives, keyed by the metric names of package accuracy.
func (g *GlobalTwoStreamEmbeddingSpace) Test(ctx context.Context, enc Embedder, splits map[string]TwoStreamSplit, evals ...Eval) (map[string]accuracy.Results, error) {
	return plainKeys(g.inner().run(ctx, nameTwoStream, enc, pairSources(splits), evals, twoStream, true))
}

// Evaluate is Test with PML's keys ("precision_at_1_level0", and
// "AVERAGE_" ones over several levels).
func (g *GlobalTwoStreamEmbeddingSpace) Evaluate(ctx context.Context, enc Embedder, splits map[string]TwoStreamSplit, evals ...Eval) (map[string]accuracy.Results, error) {
	return pmlKeys(g.inner().run(ctx, nameTwoStream, enc, pairSources(splits), evals, twoStream, false))
}

// Embeddings returns the post-processed embeddings of a split's anchors
// and of its positives, and their labels at level 0 (PML's
// get_all_embeddings returns the two stacked, with the labels twice).
func (g *GlobalTwoStreamEmbeddingSpace) Embeddings(ctx context.Context, enc Embedder, split TwoStreamSplit) (anchors, positives gometric.Matrix, labels []int, err error) {
	gs := g.inner()
	if enc, err = gs.check(ctx, nameTwoStream, enc); err != nil {
		return gometric.Matrix{}, gometric.Matrix{}, nil, err
	}
	src := source{pair: &split}
	if src.missing() {
		return gometric.Matrix{}, gometric.Matrix{}, nil, fmt.Errorf("%s: nil Anchors or Positives: %w", nameTwoStream, gometric.ErrSetting)
	}
	e, err := gs.embedSplit(ctx, nameTwoStream, enc, src, "")
	if err != nil {
		return gometric.Matrix{}, gometric.Matrix{}, nil, err
	}
	return e.m, e.ref, e.levels[0], nil
}
