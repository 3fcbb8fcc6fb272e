package gemm

import (
	"fmt"

	"gonum.org/v1/gonum/blas/gonum"
)

// float is the element type of a GEMM.
type float interface{ float32 | float64 }

// Dgemm computes C = alpha·op(A)·op(B) + beta·C on row-major float64
// matrices, op(X) being X or Xᵀ as transA / transB say. op(A) is m×k, op(B)
// is k×n and C is m×n; lda, ldb and ldc are the row strides. It has the
// semantics of gonum's blas.Float64.Dgemm (reference BLAS DGEMM in row-major
// order): when beta is 0, C is not read (NaN in C is overwritten); when
// alpha is 0 or k is 0, A and B are not read and C becomes beta·C.
//
// Invalid arguments (negative sizes, a stride below the width, a slice too
// short for its matrix) are programmer errors and panic, as in gonum; the
// library validates user input before it reaches this package.
//
// The fast path (see the package doc) is used when it is compiled in and
// the CPU supports it; otherwise the portable one. Either way the result
// does not depend on GOMAXPROCS.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	p := problem[float64]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
	if !p.prepare("Dgemm") {
		return
	}
	if fast64 == nil {
		// Portable path: gonum's kernels beat the pure-Go one (doc.go).
		gonum.Implementation{}.Dgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	run(fast64, &p)
}

// Sgemm is Dgemm for float32 matrices, with the semantics of gonum's
// blas.Float32.Sgemm.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	p := problem[float32]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
	if !p.prepare("Sgemm") {
		return
	}
	if fast32 == nil {
		gonum.Implementation{}.Sgemm(trans(transA), trans(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	run(fast32, &p)
}

// Dsyrk sets C = alpha·A·Aᵀ for the n×k row-major matrix A (stride lda),
// writing all of the n×n matrix C (stride ldc): the Gram matrix of the rows
// of A, as a pairwise-distance matrix of a batch with itself needs. Only
// the tiles on and above the diagonal are computed, then mirrored, so it
// takes about half the work of the equivalent Dgemm(false, true, n, n, k,
// alpha, a, lda, a, lda, 0, c, ldc) and C is exactly symmetric. On the
// SIMD path the result is bit-identical to that Dgemm call; on the portable
// path it uses the pure-Go kernel (half the work beats gonum's full GEMM).
// C is not read. Invalid arguments panic, as for Dgemm; the result does
// not depend on GOMAXPROCS.
//
// It mirrors reference BLAS DSYRK with uplo and trans chosen for row-major
// A·Aᵀ and beta = 0, except that both triangles are written.
func Dsyrk(n, k int, alpha float64, a []float64, lda int, c []float64, ldc int) {
	kn := fast64
	if kn == nil {
		kn = &portable64
	}
	syrk(kn, "Dsyrk", n, k, alpha, a, lda, c, ldc)
}

// DsyrkUpper is Dsyrk that writes only the upper triangle of C, the
// diagonal included, with the same bits; the entries below the diagonal
// are left unspecified (some hold products, some their old values). It
// saves the mirror copy where the caller reads only i ≤ j.
func DsyrkUpper(n, k int, alpha float64, a []float64, lda int, c []float64, ldc int) {
	kn := fast64
	if kn == nil {
		kn = &portable64
	}
	p := problem[float64]{transB: true, m: n, n: n, k: k, alpha: alpha, a: a, lda: lda, b: a, ldb: lda, c: c, ldc: ldc, sym: true, upper: true}
	if p.prepare("DsyrkUpper") {
		run(kn, &p)
	}
}

// Ssyrk is Dsyrk for float32.
func Ssyrk(n, k int, alpha float32, a []float32, lda int, c []float32, ldc int) {
	kn := fast32
	if kn == nil {
		kn = &portable32
	}
	syrk(kn, "Ssyrk", n, k, alpha, a, lda, c, ldc)
}

// syrk computes C = alpha·A·Aᵀ (both triangles) with kernel kn.
func syrk[T float](kn *kernel[T], fn string, n, k int, alpha T, a []T, lda int, c []T, ldc int) {
	p := problem[T]{transB: true, m: n, n: n, k: k, alpha: alpha, a: a, lda: lda, b: a, ldb: lda, c: c, ldc: ldc, sym: true}
	if p.prepare(fn) {
		run(kn, &p)
	}
}

// Impl names the code that Dgemm and Sgemm use on this build and CPU (and
// GOMETRIC_GEMM, see EnvKernel): the float64 micro-kernel of the fast path
// ("asm-avx512-12x16" or "asm-avx2fma-6x8" in the default build on amd64,
// "avx2fma-4x8" with GOEXPERIMENT=simd), or "portable".
func Impl() string {
	if fast64 != nil {
		return fast64.name
	}
	return "portable"
}

// problem is one validated GEMM call.
type problem[T float] struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a              []T
	lda            int
	b              []T
	ldb            int
	c              []T
	ldc            int
	// sym: b is a, op(B) = Aᵀ, beta = 0, so C is symmetric; only the
	// tiles that reach the diagonal or above are computed, then mirrored.
	sym bool
	// upper: with sym, the lower triangle is not mirrored.
	upper bool
	// inPlace: the product runs serially, and the panels of op(A) and of
	// op(B) = B are read from the stored matrices instead of packed copies
	// (same values, same order of products: the same bits).
	inPlace bool
	// pack, if not nil, packs op(B) (b is nil): see PackFunc.
	pack PackFunc[T]
}

// prepare checks the arguments (panicking on a programmer error) and
// handles the cases without a product: it returns false when C is already
// final.
func (p *problem[T]) prepare(fn string) bool {
	m, n, k := p.m, p.n, p.k
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: %s: negative size m=%d n=%d k=%d", fn, m, n, k))
	}
	rowsA, colsA := m, k // the stored shape of A
	if p.transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if p.transB {
		rowsB, colsB = n, k
	}
	checkStride(fn, "lda", p.lda, colsA)
	checkStride(fn, "ldb", p.ldb, colsB)
	checkStride(fn, "ldc", p.ldc, n)
	if m == 0 || n == 0 {
		return false
	}
	checkLen(fn, "a", len(p.a), rowsA, colsA, p.lda)
	if p.pack == nil {
		checkLen(fn, "b", len(p.b), rowsB, colsB, p.ldb)
	}
	checkLen(fn, "c", len(p.c), m, n, p.ldc)
	if p.alpha == 0 || k == 0 {
		scale(p.c, p.ldc, m, n, p.beta)
		return false
	}
	return true
}

func checkStride(fn, what string, ld, cols int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: %s: %s = %d, want at least %d", fn, what, ld, max(1, cols)))
	}
}

func checkLen(fn, what string, n, rows, cols, ld int) {
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; n < need {
		panic(fmt.Sprintf("gemm: %s: len(%s) = %d, want at least %d for a %d×%d matrix with stride %d", fn, what, n, need, rows, cols, ld))
	}
}

// scale sets C = beta·C (C = 0 when beta is 0, whatever C held).
func scale[T float](c []T, ldc, m, n int, beta T) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// MirrorUpper copies the upper triangle of the n×n row-major matrix c
// (row stride ldc) onto its lower triangle, on the calling goroutine: what
// the syrk routines do to complete C, for a caller that computed only the
// upper triangle.
func MirrorUpper(c []float64, ldc, n int) {
	for bi := range ceilDiv(n, mirrorBlock) {
		mirrorRows(c, ldc, n, bi)
	}
}
