package gemm

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS is gonum's pure-Go BLAS (gonum.org/v1/gonum/blas/gonum) with Dgemm
// and Sgemm replaced by this package's. It satisfies blas.Float64 and
// blas.Float32, so it can be installed with blas64.Use, blas32.Use or
// Gorgonia's gorgonia.Use to speed up every matrix product made through
// them. Level 1 and 2 routines and the other Level 3 ones are gonum's.
// A BLAS holds no state (each Dgemm and Sgemm call takes its packing
// buffers from a pool): it is safe for concurrent use.
type BLAS struct {
	gonum.Implementation
}

var (
	_ blas.Float64 = BLAS{}
	_ blas.Float32 = BLAS{}
)

// Dgemm implements blas.Float64's Dgemm (row-major C = alpha·op(A)·op(B) +
// beta·C) with the package-level Dgemm. blas.ConjTrans means blas.Trans for
// real matrices; any other Transpose value panics, as in gonum.
func (BLAS) Dgemm(tA, tB blas.Transpose, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	Dgemm(isTrans("Dgemm", tA), isTrans("Dgemm", tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm implements blas.Float32's Sgemm with the package-level Sgemm.
func (BLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	Sgemm(isTrans("Sgemm", tA), isTrans("Sgemm", tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func isTrans(fn string, t blas.Transpose) bool {
	switch t {
	case blas.NoTrans:
		return false
	case blas.Trans, blas.ConjTrans:
		return true
	}
	panic(fmt.Sprintf("gemm: %s: bad transpose %q", fn, rune(t)))
}
