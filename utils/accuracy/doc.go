// Package accuracy evaluates embeddings for retrieval and clustering, the Go
// counterpart of PML's utils.accuracy_calculator.AccuracyCalculator.
//
// A Calculator computes, for query embeddings against reference embeddings,
// the seven metrics of PML 2.8.1:
//
//   - kNN metrics: precision_at_1, r_precision, mean_average_precision_at_r,
//     mean_average_precision and mean_reciprocal_rank, from the k nearest
//     references of every query (exact L2 search by default, knn.Search);
//   - clustering metrics: NMI and AMI, which compare a k-means clustering of
//     the query embeddings (k = the number of distinct query labels) with the
//     query labels, as scikit-learn's normalized_mutual_info_score and
//     adjusted_mutual_info_score (average_method "arithmetic") compute them.
//
// The semantics are PML's: k is an integer, all references (KAll, PML's
// k=None) or "max_bin_count"; when the reference includes the query, each
// query's own match is removed from its neighbours; queries whose label has
// no other match in the reference ("lone" queries) are left out of the kNN
// metrics; Include / Exclude select metrics; AvgOfAvgs averages per class
// first; ReturnPerClass returns one value per class; Compare replaces label
// equality; user metrics plug in through the Metric interface.
//
// Labels are []int, as everywhere in gometric. PML casts labels (and embeddings) to
// float32 inside get_accuracy, so distinct labels above 2^24 can collide
// there (16777217 and 16777216 become the same float32); they never do
// here. Embeddings are float32 (gometric.Matrix), as in PML's get_accuracy.
//
// Every metric is defined, with PML's edge cases, in the doc of its name
// constant (NamePrecisionAt1 … NameAMI).
//
// Warnings: where PML logs a warning during get_accuracy (an integer k
// below the max bin count with r_precision or mean_average_precision_at_r;
// every query lone), the affected Values carry it in Value.Warnings, and
// Results.Warnings lists them all with their metric's name. Every NaN or
// ±Inf value comes with a warning saying why, so a NaN never reaches a
// report unexplained: log or record Results.Warnings next to the numbers.
//
// NMI and AMI are also exported as functions (NMI, AMI) on given labels and
// cluster assignments, and FromKNN computes every metric from precomputed
// neighbours and cluster labels.
//
// The defaults are pure Go: ExactKNN (exact L2 search) and DefaultKMeans
// (k-means++ then Lloyd). The kNN metrics equal PML's (up to exact ties
// between neighbours); k-means cannot reproduce FAISS's random draws, so NMI
// and AMI can differ slightly where the clusters are not clear-cut. With the
// faiss build tag, FaissKNN and FaissKMeans are PML's own backends and give
// PML's numbers for all seven metrics.
//
// Where this package departs from PML 2.8.1, on purpose:
//   - mean_reciprocal_rank is a kNN metric here; PML leaves it out of
//     requires_knn, so including it alone fails there.
//   - mean_reciprocal_rank is computed in float64; PML computes it in
//     torch's default dtype (float32 unless changed).
//   - An integer k above the number of references (less the query itself)
//     is an error; FAISS would pad with index −1, which PML reads as the last
//     reference's label. k = KMaxBinCount (or KAll) that resolves to 0, e.g.
//     when every query is lone, is an error too.
//   - Include and Exclude are checked on every call; PML checks the
//     constructor's lists only. PML's per-call include / exclude of
//     get_accuracy are the same fields on a copy of the Calculator.
package accuracy
