// Package distances mirrors pytorch-metric-learning's distances module:
// LpDistance (Lp), CosineSimilarity, DotProductSimilarity, SNRDistance
// (SNR) and BatchedDistance (Batched).
//
// Every distance implements Distance: the N×M matrix between query rows and
// reference rows (after the optional row normalisation, raised to Power),
// the row-by-row pairwise values PML's pairwise_distance returns, and the
// vector-Jacobian products that carry a loss gradient back to the
// embeddings. Inputs are float64 gonum matrices with one embedding per row.
//
// Matrices come from one GEMM (internal/gemm: AVX2/FMA kernels on amd64,
// gonum's elsewhere; half of it for a batch against itself) for the p = 2
// Lp distance, the dot-product similarities and SNR; entries where the
// GEMM formula would cancel (near-identical rows, self-distances) are
// recomputed directly, so a self-distance is exactly 0. Work that is split
// across goroutines uses fixed blocks, so results do not depend on
// GOMAXPROCS.
//
// # Sessions: the path of the losses
//
// A loss computes a distance matrix once and back-propagates through it in
// a Session (NewSession; NewColumnSession for class vectors held as
// columns). The distances of this package implement SessionOpener, whose
// sessions keep the normalised rows from the matrix to its VJP and reuse
// pooled buffers; a Distance of your own needs only the Distance methods,
// and its session is built on Matrix and MatrixVJP, with its own numbers.
// A type that embeds one of this package's distances and overrides its
// methods takes that generic path too (see SessionOpener).
//
// # Magnitudes
//
// Every path is right for finite rows of any magnitude, or returns an
// error wrapping gometric.ErrNonFinite that names the distance; none
// returns zeros, NaN or ±Inf silently. Normalisation divides each row by
// its P-norm computed with scaling where the plain sum of powers
// overflows or underflows (as BLAS's nrm2), so any finite row has unit
// norm afterwards; a row whose norm is at most 1e-12 is divided by 1e-12,
// torch's clamp, exactly as before. Without normalisation: Lp distances
// between rows whose squares overflow or underflow (entries beyond about
// 1e153 or below about 1e-146) are computed entry by entry from the
// scaled difference, so a distance float64 can hold is returned; SNR,
// free of scale, multiplies the rows by a power of two first, and returns
// an error when its rows differ in magnitude beyond what that can hold;
// dot products are the rounded products. A matrix entry, or a gradient,
// that exceeds float64's range (a distance or a product beyond 1.8e308,
// or such a value raised to Power) is an error; one below the smallest
// subnormal rounds to 0, as any float64 result. The VJPs keep full
// precision where a powered entry underflows (the distance or product is
// recomputed from the rows). Smallest and Largest return an error for a
// NaN anywhere in the row.
//
// # Settings and zero values
//
// Settings are exported fields, checked at every call: an invalid setting
// gives an error wrapping gometric.ErrSetting, bad input one wrapping
// gometric.ErrShape or gometric.ErrNonFinite, each starting with the
// component's name ("distances.Lp: ..."). The zero CosineSimilarity is
// PML's default; the zero Lp, DotProductSimilarity, SNR and Batched are
// refused with an error that names their constructor (New<Name>), since
// PML normalises by default. Every method of a nil distance returns an
// error (Settings returns the zero Settings). The distances are safe for
// concurrent use while their fields are not being changed.
package distances
