package gemm

// PackFunc supplies op(B) of a GEMM by packing it: it writes rows [p0,
// p0+kc) and columns [j0, j0+nc) of op(B) into micro-panels of nr columns,
// panel q holding, for each l in [0, kc), the nr values
// op(B)[p0+l][j0+q·nr+c] at dst[q·nr·kc + l·nr + c], zero for the columns
// past nc. nr ≤ 32 and kc ≤ 256 on every kernel. The driver calls it from
// several goroutines at once on disjoint dst, so it must be safe for
// concurrent use (reading shared state only).
//
// A PackFunc lets a caller whose op(B) is a view of other data (the
// im2col matrix of a convolution, whose entries are pixels of the input)
// hand the GEMM that view without materialising it: the packing, which
// the GEMM does anyway, reads the pixels directly.
type PackFunc[T float] func(dst []T, p0, kc, j0, nc, nr int)

// SgemmPacked is Sgemm with op(B) (k×n) given by pack instead of a stored
// matrix: C = alpha·op(A)·op(B) + beta·C. The result has the bits of
// Sgemm on the matrix that pack describes whatever its storage, on every
// kernel set (the portable one included: this entry point always runs the
// package's blocked driver, never gonum's). Invalid arguments panic, as
// for Sgemm; the result does not depend on GOMAXPROCS.
func SgemmPacked(transA bool, m, n, k int, alpha float32, a []float32, lda int, pack PackFunc[float32], beta float32, c []float32, ldc int) {
	kn := fast32
	if kn == nil {
		kn = &portable32
	}
	gemmPacked(kn, "SgemmPacked", transA, m, n, k, alpha, a, lda, pack, beta, c, ldc)
}

// DgemmPacked is SgemmPacked for float64 matrices.
func DgemmPacked(transA bool, m, n, k int, alpha float64, a []float64, lda int, pack PackFunc[float64], beta float64, c []float64, ldc int) {
	kn := fast64
	if kn == nil {
		kn = &portable64
	}
	gemmPacked(kn, "DgemmPacked", transA, m, n, k, alpha, a, lda, pack, beta, c, ldc)
}

func gemmPacked[T float](kn *kernel[T], fn string, transA bool, m, n, k int, alpha T, a []T, lda int, pack PackFunc[T], beta T, c []T, ldc int) {
	if pack == nil {
		panic("gemm: " + fn + ": nil PackFunc")
	}
	p := problem[T]{transA: transA, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, lda: lda, ldb: max(1, n), pack: pack, c: c, ldc: ldc}
	if p.prepare(fn) {
		run(kn, &p)
	}
}
