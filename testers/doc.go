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
// Test keys the results by the metric names of package accuracy;
// Evaluate by PML's keys, metric + "_level" + L ("precision_at_1_level0"),
// with "AVERAGE_" + metric over several levels. Every PML BaseTester
// option is a field: Normalize, BatchSize, UseTrunkOutput (with a
// TrunkEmbedder, PML's trunk and embedder models), PCA, LabelHierarchyLevel
// and AllLevels (labels by level from data sets implementing MultiLevel),
// EndOfTesting (PML's end_of_testing_hook) and Visualize (PML's visualizer;
// PNGVisualizer and ScatterPNG draw PCA scatter plots, as no UMAP is kept
// in Go). PML's former reference_set modes are Evals: ComparedToSelf,
// ComparedToSetsCombined, ComparedToTrainingSet. WithSameParentLabel and
// GlobalTwoStreamEmbeddingSpace mirror PML's WithSameParentLabelTester and
// GlobalTwoStreamEmbeddingSpaceTester.
package testers
