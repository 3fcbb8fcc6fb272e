package gemm

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// syrkCase is one Gram-matrix problem: n×k A with strides k+padA and
// n+padC.
type syrkCase struct {
	n, k, padA, padC int
	alpha            float64
}

func syrkCases() []syrkCase {
	out := []syrkCase{
		{1, 1, 0, 0, 1}, {1, 5, 2, 1, -2}, {2, 1, 0, 3, 1}, {5, 3, 1, 0, 0.5},
		{8, 16, 0, 0, 1}, {9, 7, 3, 2, -1}, {17, 300, 0, 1, 1}, {33, 40, 2, 0, -2},
		{70, 70, 1, 1, 1}, {129, 65, 0, 3, 1}, {200, 130, 2, 2, -2},
	}
	if raceEnabled {
		out = append(out[:len(out)-2], syrkCase{90, 40, 1, 1, -2}) // still parallel
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for range 30 {
		out = append(out, syrkCase{1 + rng.IntN(70), 1 + rng.IntN(70), rng.IntN(3), rng.IntN(3), []float64{1, -2, 0.3}[rng.IntN(3)]})
	}
	return out
}

// checkSyrk checks syrk with kernel kn against the naive product, that C
// is exactly symmetric, that the padding of C stays NaN, and that the
// result equals the kernel's full A·Aᵀ GEMM bit for bit, under GOMAXPROCS
// 1 and 2.
func checkSyrk[T float](t *testing.T, kn *kernel[T], tol float64) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	defer func(old int) { parallelMin = old }(parallelMin)
	parallelMin = 1 << 15 // small problems, run in parallel
	rng := rand.New(rand.NewPCG(13, 14))
	for _, sc := range syrkCases() {
		// A is n×k with stride k+padA (operands builds op(A) as m×k).
		a, lda, _, _, _, _ := operands[T](shape{m: sc.n, n: 1, k: sc.k, padA: sc.padA}, rng)
		ldc := sc.n + sc.padC
		c0 := make([]T, (sc.n-1)*ldc+sc.n)
		for i := range c0 {
			c0[i] = T(math.NaN())
		}
		alpha := T(sc.alpha)
		want := naive(false, true, sc.n, sc.n, sc.k, alpha, a, lda, a, lda, 0, c0, ldc)
		full := slices.Clone(c0)
		direct(kn)(false, true, sc.n, sc.n, sc.k, alpha, a, lda, a, lda, 0, full, ldc)
		for _, procs := range []int{1, 2} {
			runtime.GOMAXPROCS(procs)
			c := slices.Clone(c0)
			syrk(kn, "test", sc.n, sc.k, alpha, a, lda, c, ldc)
			if idx := firstDiff(full, c); idx >= 0 {
				t.Errorf("%s %+v procs %d: syrk differs from the full GEMM at %d: %v vs %v", kn.name, sc, procs, idx, c[idx], full[idx])
			}
			for i := range sc.n {
				for j := range ldc {
					if i*ldc+j >= len(c) {
						break
					}
					got := c[i*ldc+j]
					if j >= sc.n {
						if !math.IsNaN(float64(got)) {
							t.Errorf("%s %+v: padding C[%d][%d] = %v", kn.name, sc, i, j, got)
						}
						continue
					}
					if got != c[j*ldc+i] {
						t.Errorf("%s %+v: C[%d][%d] = %v but C[%d][%d] = %v", kn.name, sc, i, j, got, j, i, c[j*ldc+i])
					}
					var bound float64
					for l := range sc.k {
						bound += math.Abs(float64(a[i*lda+l]) * float64(a[j*lda+l]))
					}
					bound *= math.Abs(sc.alpha) * tol
					if d := math.Abs(float64(got) - want[i*sc.n+j]); !(d <= bound) {
						t.Errorf("%s %+v: C[%d][%d] = %v, want %v", kn.name, sc, i, j, got, want[i*sc.n+j])
					}
				}
			}
		}
	}
}

func TestSyrk(t *testing.T) {
	for _, kn := range kernels64() {
		checkSyrk(t, kn, 1e-12)
	}
	for _, kn := range kernels32() {
		checkSyrk(t, kn, 1e-5)
	}
}

// TestSyrkExported checks that Dsyrk and Ssyrk use the kernel of the
// build and match it.
func TestSyrkExported(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	const n, k = 150, 90
	a := randSlice[float64](n*k, rng)
	c, want := make([]float64, n*n), make([]float64, n*n)
	Dsyrk(n, k, -2, a, k, c, n)
	kn := fast64
	if kn == nil {
		kn = &portable64
	}
	direct(kn)(false, true, n, n, k, -2, a, k, a, k, 0, want, n)
	if idx := firstDiff(c, want); idx >= 0 {
		t.Errorf("Dsyrk differs from the %s GEMM at %d", kn.name, idx)
	}
	a32 := randSlice[float32](n*k, rng)
	c32, want32 := make([]float32, n*n), make([]float32, n*n)
	Ssyrk(n, k, 1, a32, k, c32, n)
	kn32 := fast32
	if kn32 == nil {
		kn32 = &portable32
	}
	direct(kn32)(false, true, n, n, k, 1, a32, k, a32, k, 0, want32, n)
	if idx := firstDiff(c32, want32); idx >= 0 {
		t.Errorf("Ssyrk differs from the %s GEMM at %d", kn32.name, idx)
	}
}

// TestDsyrkUpper checks that DsyrkUpper writes Dsyrk's bits on and above
// the diagonal.
func TestDsyrkUpper(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, sc := range syrkCases() {
		a, lda, _, _, _, _ := operands[float64](shape{m: sc.n, n: 1, k: sc.k, padA: sc.padA}, rng)
		ldc := sc.n + sc.padC
		want := make([]float64, (sc.n-1)*ldc+sc.n)
		got := slices.Clone(want)
		Dsyrk(sc.n, sc.k, sc.alpha, a, lda, want, ldc)
		DsyrkUpper(sc.n, sc.k, sc.alpha, a, lda, got, ldc)
		for i := range sc.n {
			for j := i; j < sc.n; j++ {
				if w, g := want[i*ldc+j], got[i*ldc+j]; math.Float64bits(w) != math.Float64bits(g) {
					t.Fatalf("%+v: (%d, %d) = %v, Dsyrk gives %v", sc, i, j, g, w)
				}
			}
		}
	}
}
