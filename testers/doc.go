// Package testers evaluates a trained encoder on labelled splits, the Go
// counterpart of PML's pytorch_metric_learning.testers.
//
// GlobalEmbeddingSpace mirrors PML's GlobalEmbeddingSpaceTester: it embeds
// every split in batches (inference mode), L2-normalises the embeddings
// (PML's normalize_embeddings=True) and runs an accuracy.Calculator (PML's
// AccuracyCalculator) on each query split against its reference splits —
// by default each split against itself, where the reference includes the
// query (PML's ref_includes_query) — returning the metrics per query split.
//
//	tester := testers.NewGlobalEmbeddingSpace()
//	tester.Calculator = &accuracy.Calculator{K: accuracy.KMaxBinCount()}
//	res, err := tester.Test(ctx, enc, map[string]datasets.Dataset{"test": testSet})
//	mapr := res["test"][accuracy.NameMeanAveragePrecisionAtR].Scalar
//	warnings := res["test"].Warnings() // PML's logged warnings, and why a value is NaN
//
// The model is anything with Embed(gometric.Matrix) (gometric.Matrix,
// error) — the Embedder interface, which a models.Encoder satisfies — or a
// plain function wrapped in EmbedFunc. Evaluation therefore does not depend
// on how embeddings are made: this package (with utils/accuracy, utils/knn
// and utils/inference) does not import Gorgonia.
//
// The results are keyed by the metric names of package accuracy; PML's
// tester appends the label hierarchy level ("precision_at_1_level0"), which
// is always 0 here: datasets carry one label per sample. PML's PCA option,
// visualizer and trunk-output mode are not ported.
package testers
