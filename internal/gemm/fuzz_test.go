package gemm

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// FuzzGemm is a differential fuzz test: arbitrary sizes (folded into
// 1..48, or up to 300 for k so that several kc blocks occur), transposes,
// strides, scalars and values must give, through Dgemm, Sgemm, Dsyrk and
// Ssyrk, what the naive triple loop gives (within the rounding bound) and
// never panic; so must every kernel that the build has and the CPU
// supports, run directly. Arguments are always valid: invalid ones are programmer
// errors that panic by design (see TestPanics).
func FuzzGemm(f *testing.F) {
	f.Add(uint8(4), uint8(16), uint16(8), uint8(0), 1.0, 0.0, uint64(1))
	f.Add(uint8(1), uint8(1), uint16(1), uint8(3), -2.0, 1.0, uint64(2))
	f.Add(uint8(17), uint8(33), uint16(257), uint8(0x5a), 0.5, -1.5, uint64(3))
	f.Add(uint8(48), uint8(5), uint16(300), uint8(0xff), 0.0, 2.0, uint64(4))
	f.Fuzz(func(t *testing.T, m8, n8 uint8, k16 uint16, flags uint8, alpha, beta float64, seed uint64) {
		if math.IsNaN(alpha) || math.IsInf(alpha, 0) || math.IsNaN(beta) || math.IsInf(beta, 0) ||
			math.Abs(alpha) > 1e6 || math.Abs(beta) > 1e6 {
			return // keep the naive bound meaningful
		}
		s := shape{
			m: 1 + int(m8)%48, n: 1 + int(n8)%48, k: 1 + int(k16)%300,
			transA: flags&1 != 0, transB: flags&2 != 0,
			alpha: alpha, beta: beta,
			padA: int(flags>>2) & 3, padB: int(flags>>4) & 3, padC: int(flags>>6) & 3,
		}
		rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		fuzzOne(t, s, rng, Dgemm, 1e-12)
		fuzzOne(t, s, rng, Sgemm, 1e-5)
		fuzzSyrk(t, s, rng, Dsyrk, 1e-12)
		fuzzSyrk(t, s, rng, Ssyrk, 1e-5)
		// Every kernel available, whichever one Dgemm and Sgemm use.
		for _, kn := range kernels64() {
			fuzzOne(t, s, rng, direct(kn), 1e-12)
			fuzzSyrk(t, s, rng, func(n, k int, alpha float64, a []float64, lda int, c []float64, ldc int) {
				syrk(kn, "fuzz", n, k, alpha, a, lda, c, ldc)
			}, 1e-12)
		}
		for _, kn := range kernels32() {
			fuzzOne(t, s, rng, direct(kn), 1e-5)
			fuzzSyrk(t, s, rng, func(n, k int, alpha float32, a []float32, lda int, c []float32, ldc int) {
				syrk(kn, "fuzz", n, k, alpha, a, lda, c, ldc)
			}, 1e-5)
		}
	})
}

func fuzzOne[T float](t *testing.T, s shape, rng *rand.Rand, fn func(bool, bool, int, int, int, T, []T, int, []T, int, T, []T, int), tol float64) {
	a, lda, b, ldb, c0, ldc := operands[T](s, rng)
	alpha, beta := T(s.alpha), T(s.beta)
	want := naive(s.transA, s.transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c0, ldc)
	bound := naiveAbs(s, a, lda, b, ldb, c0, ldc)
	c := slices.Clone(c0)
	fn(s.transA, s.transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc)
	for idx, got := range c {
		i, j := idx/ldc, idx%ldc
		if j >= s.n {
			continue
		}
		// float32 scalars add their own rounding: allow it in the bound.
		tl := tol*bound[i*s.n+j] + tol*math.Abs(want[i*s.n+j])
		if d := math.Abs(float64(got) - want[i*s.n+j]); !(d <= tl) {
			t.Fatalf("%v: C[%d][%d] = %v, want %v", s, i, j, got, want[i*s.n+j])
		}
	}
}

func fuzzSyrk[T float](t *testing.T, s shape, rng *rand.Rand, fn func(int, int, T, []T, int, []T, int), tol float64) {
	n, k := s.m, s.k
	a, lda, _, _, _, _ := operands[T](shape{m: n, n: 1, k: k, padA: s.padA}, rng)
	ldc := n + s.padC
	c := make([]T, (n-1)*ldc+n)
	fn(n, k, T(s.alpha), a, lda, c, ldc)
	want := naive(false, true, n, n, k, T(s.alpha), a, lda, a, lda, 0, c, ldc)
	for i := range n {
		for j := range n {
			var bound float64
			for l := range k {
				bound += math.Abs(float64(a[i*lda+l]) * float64(a[j*lda+l]))
			}
			bound = tol * (math.Abs(s.alpha)*bound + math.Abs(want[i*n+j]))
			if got := c[i*ldc+j]; !(math.Abs(float64(got)-want[i*n+j]) <= bound) || got != c[j*ldc+i] {
				t.Fatalf("syrk n=%d k=%d alpha=%v: C[%d][%d] = %v (C[%d][%d] = %v), want %v", n, k, s.alpha, i, j, got, j, i, c[j*ldc+i], want[i*n+j])
			}
		}
	}
}
