package gemm

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// TestGOMAXPROCSBitIdentical checks that problems large enough to run in
// parallel give the same bits under GOMAXPROCS 1, 2 and 5, for every
// implementation and transpose pair, including k spanning several kc
// blocks.
func TestGOMAXPROCSBitIdentical(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func(old int) { parallelMin = old }(parallelMin)
	parallelMin = 1 << 15 // small problems, run in parallel
	dims := [][3]int{{160, 150, 96}, {70, 60, 300}, {20, 150, 520}, {300, 9, 90}}
	if raceEnabled {
		// Still above parallelMin, with several tasks and kc blocks.
		dims = [][3]int{{64, 48, 48}, {20, 40, 260}, {150, 30, 32}}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for i, d := range dims {
		for tr := range 4 {
			s := shape{m: d[0], n: d[1], k: d[2], transA: tr&1 != 0, transB: tr&2 != 0, alpha: 0.75, beta: -0.5, padA: i % 2, padB: 1, padC: 2}
			a, lda, b, ldb, c0, ldc := operands[float64](s, rng)
			for _, im := range impls64() {
				var first []float64
				for _, procs := range []int{1, 2, 5} {
					runtime.GOMAXPROCS(procs)
					c := slices.Clone(c0)
					im.run(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c, ldc)
					if first == nil {
						first = c
						continue
					}
					if idx := firstDiff(first, c); idx >= 0 {
						t.Errorf("%s %v: GOMAXPROCS %d differs from 1 at index %d: %v vs %v", im.name, s, procs, idx, c[idx], first[idx])
					}
				}
			}
			a32, lda, b32, ldb, c32, ldc := operands[float32](s, rng)
			for _, im := range impls32() {
				var first []float32
				for _, procs := range []int{1, 2, 5} {
					runtime.GOMAXPROCS(procs)
					c := slices.Clone(c32)
					im.run(s.transA, s.transB, s.m, s.n, s.k, float32(s.alpha), a32, lda, b32, ldb, float32(s.beta), c, ldc)
					if first == nil {
						first = c
						continue
					}
					if idx := firstDiff(first, c); idx >= 0 {
						t.Errorf("%s %v: GOMAXPROCS %d differs from 1 at index %d: %v vs %v", im.name, s, procs, idx, c[idx], first[idx])
					}
				}
			}
		}
	}
}

// firstDiff returns the first index where x and y differ bitwise (NaNs of
// the padding compare equal), or -1.
func firstDiff[T float](x, y []T) int {
	for i := range x {
		if x[i] != y[i] && !(math.IsNaN(float64(x[i])) && math.IsNaN(float64(y[i]))) {
			return i
		}
	}
	return -1
}

// TestRowChunks shrinks the packed-A budget so that problems run in many
// chunks of rows (with k spanning several kc blocks): the bits must not
// change, for GEMM and for the symmetric product.
func TestRowChunks(t *testing.T) {
	defer func(v int) { maxPackedA = v }(maxPackedA)
	rng := rand.New(rand.NewPCG(21, 22))
	for _, d := range [][3]int{{37, 21, 300}, {130, 70, 40}, {9, 50, 513}} {
		s := shape{m: d[0], n: d[1], k: d[2], transA: d[0]%2 == 0, alpha: -1.5, beta: 0.5, padA: 1, padC: 1}
		a, lda, b, ldb, c0, ldc := operands[float64](s, rng)
		for _, kn := range kernels64() {
			var ref, refSym []float64
			for _, budget := range []int{1 << 20, kn.kc * kn.mr, 3 * kn.kc * kn.mr} {
				maxPackedA = budget
				c := slices.Clone(c0)
				direct(kn)(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c, ldc)
				sym := make([]float64, s.m*s.m)
				aa := randSlice[float64](s.m*s.k, rand.New(rand.NewPCG(1, uint64(s.m))))
				syrk(kn, "test", s.m, s.k, s.alpha, aa, s.k, sym, s.m)
				if ref == nil {
					ref, refSym = c, sym
					continue
				}
				if idx := firstDiff(ref, c); idx >= 0 {
					t.Errorf("%s %v budget %d: differs at %d", kn.name, s, budget, idx)
				}
				if idx := firstDiff(refSym, sym); idx >= 0 {
					t.Errorf("%s syrk %v budget %d: differs at %d", kn.name, s, budget, idx)
				}
			}
			want := naive(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c0, ldc)
			for i := range s.m {
				for j := range s.n {
					if d := math.Abs(ref[i*ldc+j] - want[i*s.n+j]); d > 1e-12*(1+math.Abs(want[i*s.n+j]))*float64(s.k) {
						t.Fatalf("%s %v: C[%d][%d] = %v, want %v", kn.name, s, i, j, ref[i*ldc+j], want[i*s.n+j])
					}
				}
			}
		}
	}
}
