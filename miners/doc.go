// Package miners mirrors pytorch-metric-learning's miners module: the
// components that pick the informative pairs or triplets of a batch for a
// loss to use.
//
// Every miner implements Miner: Mine takes an Input (embeddings, labels and
// optionally reference embeddings with their labels) and returns a
// *tuples.Pairs (PML's 4-tuple a1, p, a2, n) or a *tuples.Triplets (PML's
// 3-tuple a, p, n), with anchors indexing the query rows and positives and
// negatives the reference rows (the query itself when Ref is nil, in which
// case an element is never its own positive).
//
// The miners and the PML classes they mirror:
//
//	Angular                              AngularMiner
//	BatchEasyHard                        BatchEasyHardMiner
//	BatchHard                            BatchHardMiner
//	DistanceWeighted                     DistanceWeightedMiner (random)
//	EmbeddingsAlreadyPackagedAsTriplets  EmbeddingsAlreadyPackagedAsTriplets
//	HDC                                  HDCMiner
//	MultiSimilarity                      MultiSimilarityMiner
//	PairMargin                           PairMarginMiner
//	TripletMargin                        TripletMarginMiner
//	UniformHistogram                     UniformHistogramMiner (random)
//
// New<Name>() returns a miner with PML 2.8.1's defaults; settings are
// exported fields, checked at every call. A nil Distance field means the
// PML default of the class: LpDistance (normalised, p = 2) for all but
// MultiSimilarity, whose default is CosineSimilarity. Miners compute no
// gradients (PML runs them under torch.no_grad).
//
// Zero values: the zero BatchEasyHard, BatchHard, UniformHistogram and
// EmbeddingsAlreadyPackagedAsTriplets are PML's defaults (each field's doc
// says which 0 stands for a default). The other miners have settings for
// which 0 is legal (a margin, an angle, an epsilon), so their zero value
// cannot mean PML's defaults: Mine refuses it, and any literal not made by
// the constructor, with an error wrapping gometric.ErrSetting that names
// the constructor. Make them with New<Name>() and set fields. A method
// called on a nil miner returns an error.
//
// Results are PML's index lists in PML's order. Triplet mining never
// materialises the N×M×M triplet tensor PML builds: triplets are streamed
// per anchor (tuples.EachAnchor) and only the selected ones are kept.
//
// The random miners (DistanceWeighted, UniformHistogram) draw from their
// Rand field, a *math/rand/v2.Rand. If it is nil (the default), they draw
// from math/rand/v2's process-wide generator: fresh draws at every call,
// as PML draws from torch's global generator, and safe for concurrent use.
// A seeded Rand makes the draws reproducible — the same seed gives the
// same result, though not torch's — and makes the miner unsafe for
// concurrent use. Every other miner except HDC (which keeps state) is safe
// for concurrent use as long as its fields are not changed meanwhile.
//
// Bad input — empty or non-finite embeddings, a label count that does not
// match, Ref without RefLabels, an invalid setting — gives an error that
// starts with the miner's name ("miners.TripletMargin: ...") and wraps one
// of gometric's sentinel errors (ErrShape, ErrNonFinite, ErrLabels,
// ErrIndex, ErrSetting, ErrUnsupported). No miner panics on user input.
package miners
