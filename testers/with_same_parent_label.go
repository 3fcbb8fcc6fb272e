package testers

import (
	"context"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/utils/accuracy"
)

const nameSameParent = "testers.WithSameParentLabel"

// WithSameParentLabel mirrors PML's WithSameParentLabelTester: for each
// evaluated label level L, the samples are grouped by their label at level
// L+1 (the parent, e.g. Stanford Online Products' super class), the
// metrics are computed within each group (query and reference restricted
// to that parent) and averaged over the query's parents. Data sets give
// their levels through MultiLevel; levels without a parent level are
// skipped, and a call with none left is an error wrapping
// gometric.ErrSetting (PML asserts). Every setting of the embedded
// GlobalEmbeddingSpace applies, and the result keys are the same.
// Averaged values keep each group's Warnings (prefixed by "parent label
// P: ") but not per-class values.
//
// Make it with NewWithSameParentLabel: the zero value is refused with an
// error wrapping gometric.ErrSetting that names it, and a nil
// *WithSameParentLabel returns an error. It is safe for concurrent use on
// the same terms as GlobalEmbeddingSpace.
type WithSameParentLabel struct {
	GlobalEmbeddingSpace
}

// NewWithSameParentLabel returns the tester with PML's defaults (those of
// NewGlobalEmbeddingSpace).
func NewWithSameParentLabel() *WithSameParentLabel {
	return &WithSameParentLabel{*NewGlobalEmbeddingSpace()}
}

func (w *WithSameParentLabel) inner() *GlobalEmbeddingSpace {
	if w == nil {
		return nil
	}
	return &w.GlobalEmbeddingSpace
}

// Test is GlobalEmbeddingSpace.Test computed within parent labels.
func (w *WithSameParentLabel) Test(ctx context.Context, enc Embedder, splits map[string]datasets.Dataset, evals ...Eval) (map[string]accuracy.Results, error) {
	return plainKeys(w.inner().run(ctx, nameSameParent, enc, asSources(splits), evals, sameParent, true))
}

// Evaluate is GlobalEmbeddingSpace.Evaluate computed within parent labels
// (PML's keys, "precision_at_1_level0", and "AVERAGE_" ones).
func (w *WithSameParentLabel) Evaluate(ctx context.Context, enc Embedder, splits map[string]datasets.Dataset, evals ...Eval) (map[string]accuracy.Results, error) {
	return pmlKeys(w.inner().run(ctx, nameSameParent, enc, asSources(splits), evals, sameParent, false))
}

// Embeddings is GlobalEmbeddingSpace.Embeddings (PML's get_all_embeddings).
func (w *WithSameParentLabel) Embeddings(ctx context.Context, enc Embedder, ds datasets.Dataset) (gometric.Matrix, []int, error) {
	return w.inner().embeddings(ctx, nameSameParent, enc, ds)
}
