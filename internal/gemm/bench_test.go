package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas/gonum"
)

// benchDims are the benchmarked m×n×k: the loss case (a 256×256 distance
// matrix of 128-wide embeddings), a cube, and a 4096-row kNN-style block.
var benchDims = [][3]int{{256, 256, 128}, {1024, 1024, 1024}, {4096, 4096, 128}}

func randSlice[T float](n int, rng *rand.Rand) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = T(rng.Float64()*2 - 1)
	}
	return x
}

// benchGemm times C = A·Bᵀ (the distance-matrix form) for each size with
// each implementation, reporting GFLOP/s.
func benchGemm[T float](b *testing.B, impls []impl[T]) {
	for _, d := range benchDims {
		m, n, k := d[0], d[1], d[2]
		rng := rand.New(rand.NewPCG(1, 1))
		a, bb, c := randSlice[T](m*k, rng), randSlice[T](n*k, rng), make([]T, m*n)
		for _, im := range impls {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, n, k, im.name), func(b *testing.B) {
				for b.Loop() {
					im.run(false, true, m, n, k, 1, a, k, bb, k, 0, c, n)
				}
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func BenchmarkDgemm(b *testing.B) {
	gonumD := func(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
		gonum.Implementation{}.Dgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	benchGemm(b, append(impls64(), impl[float64]{"gonum", gonumD}))
}

func BenchmarkSgemm(b *testing.B) {
	gonumS := func(tA, tB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		gonum.Implementation{}.Sgemm(trans(tA), trans(tB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
	benchGemm(b, append(impls32(), impl[float32]{"gonum", gonumS}))
}

// BenchmarkDsyrk times the Gram matrix A·Aᵀ of n k-wide rows (the
// self-distance case) with Dsyrk and with Dgemm, reporting the GFLOP/s of
// the full product (2·n²·k flops) so that the two compare directly.
func BenchmarkDsyrk(b *testing.B) {
	for _, d := range [][2]int{{256, 128}, {4096, 128}} {
		n, k := d[0], d[1]
		a := randSlice[float64](n*k, rand.New(rand.NewPCG(1, 1)))
		c := make([]float64, n*n)
		for _, name := range []string{"Dsyrk", "Dgemm"} {
			b.Run(fmt.Sprintf("%dx%d/%s", n, k, name), func(b *testing.B) {
				for b.Loop() {
					if name == "Dsyrk" {
						Dsyrk(n, k, 1, a, k, c, n)
					} else {
						Dgemm(false, true, n, n, k, 1, a, k, a, k, 0, c, n)
					}
				}
				b.ReportMetric(2*float64(n)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
