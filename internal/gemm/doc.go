// Package gemm is the project's matrix multiply: Dgemm (float64, for the
// metric-learning layer) and Sgemm (float32, for kNN and the encoders),
// row-major C = alpha·op(A)·op(B) + beta·C with the semantics of gonum's
// blas.Float64.Dgemm / blas.Float32.Sgemm; Dsyrk and Ssyrk, the Gram
// matrix C = alpha·A·Aᵀ of a batch with itself for half the work; and
// BLAS, gonum's BLAS with Dgemm and Sgemm swapped in, for blas64.Use,
// blas32.Use or Gorgonia's gorgonia.Use.
//
// # Three paths
//
// All three run one blocked driver in the GotoBLAS/BLIS style. For each
// block of kc = 256 of the inner dimension, op(A) is packed once into
// micro-panels of mr rows; tasks (a block of columns × a run of rows) each
// pack a kc×nc block of op(B), sized for L2, into micro-panels of nr
// columns and sweep it row of tiles by row of tiles with a micro-kernel
// that keeps an mr×nr tile of accumulators in registers. Impl reports
// which path is active.
//
// The assembly path is the default build on amd64 (leave it out with
// -tags purego). It has two kernel sets, chosen at start-up by what the
// CPU reports (golang.org/x/sys/cpu, which also checks that the OS saves
// the vector state):
//
//   - AVX-512F (asm512_amd64.s): a 12×16 float64 or 12×32 float32 tile
//     in 24 of the 32 ZMM registers ("asm-avx512-12x16", "asm-avx512-12x32");
//   - AVX2 and FMA (asm_amd64.s): a 6×8 float64 or 6×16 float32 tile in
//     twelve YMM registers, as BLIS's Haswell kernels ("asm-avx2fma-6x8",
//     "asm-avx2fma-6x16").
//
// Both update their tiles with fused multiply-adds in the same order with
// the same kc, so they give the same bits. On the development machine
// (2 cores of an AMD EPYC with AVX-512, shared with other jobs) a
// register-only FMA loop peaks at 254 GFLOP/s float32 per core with ZMM
// (up to 281 when idle) and 133 with YMM; a 1024³ Sgemm on one core ran
// at 205 GFLOP/s with the AVX-512 kernel (81% of that peak) and 109 with
// the AVX2 one, Dgemm at 97 and 55, gonum at 16 and 10 (medians of five
// alternating runs: bench_test.go, peak_amd64_test.go).
//
// The environment variable GOMETRIC_GEMM (EnvKernel), read once at
// start-up, forces one set: "avx512", "avx2" or "portable", so that the
// kernels can be compared in one build. A set the build or the CPU does
// not have, or an unknown value, falls back to the default with a warning
// on standard error (not an error at first use: a setting that only picks
// among equivalent kernels should not stop a program); Impl names the
// kernel that runs.
//
// The SIMD path replaces it when built with GOEXPERIMENT=simd (files under
// the goexperiment.simd build tag, using Go 1.26's experimental
// simd/archsimd package):
//
//	GOEXPERIMENT=simd go build ./...
//	GOEXPERIMENT=simd go test ./internal/gemm
//
// Its compiled kernels keep a 4×8 tile of Float64x4 or a 4×16 tile of
// Float32x8: larger tiles were slower, since the compiler emits the 213
// form of FMA, which costs a register copy per product, and spills beyond
// 8 accumulators. Both fast paths compute every entry as the same chain of
// fused multiply-adds in order of the inner index, so they give the same
// bits.
//
// The portable path serves other architectures, CPUs without AVX2 and
// FMA, and -tags purego. It runs the driver with a pure-Go 2×4 scalar
// micro-kernel (larger scalar tiles spill), but gonum's SSE2 assembly
// measured as fast or faster at every size tried, so on this path Dgemm
// and Sgemm delegate to gonum.org/v1/gonum/blas/gonum. Dsyrk and Ssyrk use
// the pure-Go kernel there: computing half of the tiles beats gonum's full
// product.
//
// # Numbers
//
// Each entry of C is one dot product summed in order of the inner index
// within each kc block, the blocks added to C in order; alpha·(block sum)
// and beta·C are rounded separately and added (no FMA there), so a full
// tile and an edge tile give the same bits. The fast and portable paths
// round differently (FMA against a separate multiply and add, gonum's own
// order), so their results differ in the last bits. Neither depends on
// GOMAXPROCS: C is split into blocks that one goroutine each computes whole
// in an order fixed by the problem, so a result is bit-identical whatever
// the number of goroutines. Problems under 2^22 multiply-adds run on the
// calling goroutine. The extra memory is the packed copy of A (at most
// 2^20 elements, rows being taken in chunks) and a kc×nc block per worker.
//
// C is not read when beta is 0, and A and B are not read when alpha is 0
// or k is 0, as in the reference BLAS. Otherwise this package's kernels let
// NaN and Inf propagate as IEEE arithmetic says (0·Inf is NaN); gonum's,
// used by Dgemm and Sgemm on the portable path, skip the products of some
// zero elements, so there a NaN or Inf facing a zero may not propagate.
//
// # Errors
//
// Invalid arguments (a negative size, a stride below the row width, a
// slice too short for its matrix, an unknown blas.Transpose) are
// programmer errors inside the library and panic with a message naming
// the function and the argument, as gonum's BLAS does; exported library
// functions validate user input before it reaches this package.
package gemm
