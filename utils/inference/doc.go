// Package inference mirrors PML's utils/inference: MatchFinder, which
// decides whether embeddings match by thresholding a distance or
// similarity, and InferenceModel (Model here), which embeds inputs of any
// type with a user function returning float32 rows (EmbedFunc; Rows for
// inputs that already are []float32 embeddings), keeps reference
// embeddings in a kNN index (knn.Exact by default, any knn.Index such as
// knn.Faiss through Model.NewIndex), finds nearest neighbours and matches,
// and saves and loads the index. Labels are []int, as everywhere in
// gometric.
//
// It adds what PML lacks: Calibrate chooses, from labelled validation
// pairs, the threshold that maximises the F1 score of "match" and reports
// precision and recall at it (MatchFinder.Calibrate and Model.Calibrate
// set the threshold they find); Model.MatchingNeighbors applies that
// threshold to the index's own results. The threshold is a cosine
// similarity while the default index returns squared L2 distances, so it
// is converted to the index's metric (Threshold.Bound): for unit vectors
// d² = 2 − 2·cos, so cos ≥ t becomes d² ≤ 2 − 2t; an InnerProduct index
// returns the dot product, the cosine of unit vectors. A combination that
// cannot be converted (unnormalised embeddings on an L2 index, a distance
// other than CosineSimilarity) is an error, never a silent comparison of
// a cosine with a squared distance. Save stores the threshold with the
// index and Load restores it.
//
// Semantics follow PML 2.8.1 exactly. A pair matches when its distance is
// <= the threshold, or its similarity >= the threshold for an inverted
// distance such as CosineSimilarity. Mask and Matches threshold the
// distance's matrix (with its normalisation and power); IsMatch
// thresholds the distance's pairwise values, which in PML apply neither,
// so IsMatch with the default CosineSimilarity compares dot products of
// the rows as given. Model normalises embeddings to unit length by
// default, which makes the two agree.
//
// Save and Load use this package's own file format (see WriteIndex): a
// versioned header with the match threshold (version 3), the float32
// vectors, optional labels (stored as int64) and a CRC-32 checksum (the
// framing of all of gometric's binary formats); files of versions 1 and 2
// (CRC-32C) still load. Files are written atomically (temporary file,
// fsync, rename, fsync of the directory; mode 0644), and a truncated or
// corrupted file gives an error naming the file and the byte offset,
// wrapping ErrCorrupt. Files are read as streams whose memory follows the
// bytes that arrive, so a header claiming a huge index, /dev/zero or a
// FIFO cannot exhaust memory. PML saves FAISS's own index format instead.
//
// Errors for bad input start with the component ("inference.Model: ...")
// and wrap gometric's sentinels: ErrShape (empty inputs, dimension
// mismatch), ErrNonFinite (NaN or ±Inf), ErrLabels (label count
// mismatch), ErrSetting (invalid settings, k outside [1, Len()]).
package inference
