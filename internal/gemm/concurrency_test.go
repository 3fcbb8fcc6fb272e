package gemm

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/blas"

	"github.com/gometric/gometric/internal/testkit"
)

// TestConcurrencyClaims backs BLAS's claim (run with -race): one BLAS
// value multiplies from several goroutines at once, on one goroutine each
// (small products) and across the worker pool (a product above
// parallelMin), giving every goroutine the bits of a lone call.
func TestConcurrencyClaims(t *testing.T) {
	testkit.CheckConcurrencyDocs(t, ".")
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "BLAS", Run: func(t *testing.T) {
			var impl BLAS
			rng := rand.New(rand.NewPCG(3, 3))
			for _, sz := range [][3]int{{17, 9, 13}, {96, 80, 64}, {300, 130, 120}} {
				m, n, k := sz[0], sz[1], sz[2]
				a, b := make([]float64, m*k), make([]float64, k*n)
				a32, b32 := make([]float32, m*k), make([]float32, k*n)
				for i := range a {
					a[i] = rng.NormFloat64()
					a32[i] = float32(a[i])
				}
				for i := range b {
					b[i] = rng.NormFloat64()
					b32[i] = float32(b[i])
				}
				want, want32 := make([]float64, m*n), make([]float32, m*m)
				impl.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, want, n)
				impl.Sgemm(blas.NoTrans, blas.Trans, m, m, k, 1, a32, k, a32, k, 0, want32, m)
				testkit.Concurrently(t, 4, 3, func(int) error {
					c, c32 := make([]float64, m*n), make([]float32, m*m)
					impl.Dgemm(blas.NoTrans, blas.NoTrans, m, n, k, 1, a, k, b, n, 0, c, n)
					impl.Sgemm(blas.NoTrans, blas.Trans, m, m, k, 1, a32, k, a32, k, 0, c32, m)
					if !slices.Equal(c, want) || !slices.Equal(c32, want32) {
						return fmt.Errorf("%d×%d×%d: a concurrent product differs from a lone one", m, n, k)
					}
					return nil
				})
			}
		}},
	})
}
