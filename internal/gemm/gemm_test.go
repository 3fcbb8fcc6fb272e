package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// impl is one way of computing a GEMM that the tests check.
type impl[T float] struct {
	name string
	run  func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)
}

// direct runs the blocked driver with kernel kn, bypassing the dispatch.
func direct[T float](kn *kernel[T]) func(bool, bool, int, int, int, T, []T, int, []T, int, T, []T, int) {
	return func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
		p := problem[T]{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc}
		if p.prepare("test") {
			run(kn, &p)
		}
	}
}

// kernels64 lists the portable float64 kernel and every fast one that the
// build has and the CPU supports, whatever GOMETRIC_GEMM selects.
func kernels64() []*kernel[float64] {
	out := []*kernel[float64]{&portable64}
	for _, kp := range platformKernels() {
		out = append(out, kp.k64)
	}
	return out
}

func kernels32() []*kernel[float32] {
	out := []*kernel[float32]{&portable32}
	for _, kp := range platformKernels() {
		out = append(out, kp.k32)
	}
	return out
}

// impls64 lists the exported Dgemm and every float64 kernel available.
func impls64() []impl[float64] {
	out := []impl[float64]{{"Dgemm", Dgemm}}
	for _, kn := range kernels64() {
		out = append(out, impl[float64]{kn.name, direct(kn)})
	}
	return out
}

func impls32() []impl[float32] {
	out := []impl[float32]{{"Sgemm", Sgemm}}
	for _, kn := range kernels32() {
		out = append(out, impl[float32]{kn.name, direct(kn)})
	}
	return out
}

// TestKernelsExercised names, in the test log, the kernels that the tests
// of this run exercise and the one that Dgemm and Sgemm use.
func TestKernelsExercised(t *testing.T) {
	for _, kn := range kernels64() {
		t.Logf("float64 kernel exercised: %s (%d×%d, kc %d, nc %d)", kn.name, kn.mr, kn.nr, kn.kc, kn.nc)
	}
	for _, kn := range kernels32() {
		t.Logf("float32 kernel exercised: %s (%d×%d, kc %d, nc %d)", kn.name, kn.mr, kn.nr, kn.kc, kn.nc)
	}
	t.Logf("Impl() = %s (%s=%q)", Impl(), EnvKernel, os.Getenv(EnvKernel))
}

// shape is one test problem: sizes, transposes, scalars and the extra
// width of each stride.
type shape struct {
	m, n, k        int
	transA, transB bool
	alpha, beta    float64
	padA, padB     int
	padC           int
}

func (s shape) String() string {
	return fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/alpha=%v/beta=%v/pad=%d,%d,%d",
		s.m, s.n, s.k, s.transA, s.transB, s.alpha, s.beta, s.padA, s.padB, s.padC)
}

// shapes returns the edge cases (1s, k = 1, sizes around the kernel tiles
// 2×4, 4×8, 4×16, 6×8, 6×16, 12×16 and 12×32, and the kc block of 256) with every transpose pair and
// scalar, then random shapes up to 70 in each dimension.
func shapes() []shape {
	var out []shape
	scalars := [][2]float64{{1, 0}, {1, 1}, {-2, 0}, {0.7, -1.3}, {0, 0.5}, {1, 0.5}, {-1, 1}}
	dims := [][3]int{
		{1, 1, 1}, {1, 17, 5}, {17, 1, 5}, {5, 7, 1}, {1, 1, 40},
		{4, 16, 8}, {4, 8, 3}, {5, 17, 9}, {3, 15, 2}, {8, 32, 16},
		{2, 4, 1}, {7, 9, 257}, {13, 33, 300}, {64, 64, 64},
		{12, 32, 7}, {12, 16, 1}, {11, 31, 5}, {13, 33, 2}, {24, 64, 9},
		{25, 65, 260}, {36, 48, 1},
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for i, d := range dims {
		for t := range 4 {
			sc := scalars[(i+t)%len(scalars)]
			out = append(out, shape{d[0], d[1], d[2], t&1 != 0, t&2 != 0, sc[0], sc[1], i % 3, (i + t) % 2, t % 3})
		}
	}
	for i := range 160 {
		sc := scalars[i%len(scalars)]
		out = append(out, shape{
			m: 1 + rng.IntN(70), n: 1 + rng.IntN(70), k: 1 + rng.IntN(70),
			transA: rng.IntN(2) == 1, transB: rng.IntN(2) == 1,
			alpha: sc[0], beta: sc[1],
			padA: rng.IntN(4), padB: rng.IntN(4), padC: rng.IntN(4),
		})
	}
	return out
}

// operands makes the matrices of s with random values. The padding of C
// (and, when beta is 0 so that C must not be read, all of C) is NaN.
func operands[T float](s shape, rng *rand.Rand) (a []T, lda int, b []T, ldb int, c []T, ldc int) {
	ra, ca := s.m, s.k
	if s.transA {
		ra, ca = s.k, s.m
	}
	rb, cb := s.k, s.n
	if s.transB {
		rb, cb = s.n, s.k
	}
	lda, ldb, ldc = ca+s.padA, cb+s.padB, s.n+s.padC
	fill := func(rows, cols, ld int, pad T, random bool) []T {
		x := make([]T, (rows-1)*ld+cols)
		for i := range x {
			x[i] = pad
			if random && i%ld < cols {
				x[i] = T(rng.Float64()*2 - 1)
			}
		}
		return x
	}
	nan := T(math.NaN())
	return fill(ra, ca, lda, 0, true), lda, fill(rb, cb, ldb, 0, true), ldb, fill(s.m, s.n, ldc, nan, s.beta != 0), ldc
}

// checkAgainstNaive runs every implementation on every shape and compares
// each entry with the float64 triple loop: |got − want| ≤ tol·(|alpha|·Σ|a·b|
// + |beta·c|), the scale of a sum's rounding error in any order. The
// padding of C must stay NaN.
func checkAgainstNaive[T float](t *testing.T, impls []impl[T], tol float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range shapes() {
		a, lda, b, ldb, c0, ldc := operands[T](s, rng)
		alpha, beta := T(s.alpha), T(s.beta)
		want := naive(s.transA, s.transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c0, ldc)
		bound := naiveAbs(s, a, lda, b, ldb, c0, ldc)
		for _, im := range impls {
			c := slices.Clone(c0)
			im.run(s.transA, s.transB, s.m, s.n, s.k, alpha, a, lda, b, ldb, beta, c, ldc)
			bad := 0
			for idx, got := range c {
				i, j := idx/ldc, idx%ldc
				if j >= s.n {
					if !math.IsNaN(float64(got)) {
						t.Errorf("%s %v: padding C[%d][%d] changed to %v", im.name, s, i, j, got)
					}
					continue
				}
				w, tl := want[i*s.n+j], tol*bound[i*s.n+j]
				if d := math.Abs(float64(got) - w); !(d <= tl) {
					if bad++; bad <= 3 {
						t.Errorf("%s %v: C[%d][%d] = %v, want %v (diff %.3g > %.3g)", im.name, s, i, j, got, w, d, tl)
					}
				}
			}
		}
	}
}

// naiveAbs returns |alpha|·Σ|a·b| + |beta·c| per entry, the scale of the
// rounding error of any summation order.
func naiveAbs[T float](s shape, a []T, lda int, b []T, ldb int, c []T, ldc int) []float64 {
	abs := func(x []T) []T {
		y := make([]T, len(x))
		for i, v := range x {
			if math.IsNaN(float64(v)) {
				continue // padding, or an unread C
			}
			y[i] = T(math.Abs(float64(v)))
		}
		return y
	}
	return naive(s.transA, s.transB, s.m, s.n, s.k, T(math.Abs(s.alpha)), abs(a), lda, abs(b), ldb, T(math.Abs(s.beta)), abs(c), ldc)
}

func TestDgemmAgainstNaive(t *testing.T) { checkAgainstNaive(t, impls64(), 1e-12) }

func TestSgemmAgainstNaive(t *testing.T) { checkAgainstNaive(t, impls32(), 1e-5) }

// TestFastKernelsAgree checks the claim of the fast kernels' docs: every
// fast kernel computes each entry as the same FMA chain with the same kc,
// so all of them give the same bits, whatever their tile.
func TestFastKernelsAgree(t *testing.T) {
	avail := platformKernels()
	if len(avail) < 2 {
		t.Skipf("%d fast kernel set(s) on this machine: nothing to compare", len(avail))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range shapes() {
		a, lda, b, ldb, c0, ldc := operands[float64](s, rng)
		ref := slices.Clone(c0)
		direct(avail[0].k64)(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, ref, ldc)
		a32, lda, b32, ldb, c32, ldc := operands[float32](s, rng)
		ref32 := slices.Clone(c32)
		direct(avail[0].k32)(s.transA, s.transB, s.m, s.n, s.k, float32(s.alpha), a32, lda, b32, ldb, float32(s.beta), ref32, ldc)
		for _, kp := range avail[1:] {
			c := slices.Clone(c0)
			direct(kp.k64)(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c, ldc)
			if idx := firstDiff(ref, c); idx >= 0 {
				t.Errorf("%v: %s and %s differ at %d: %v vs %v", s, avail[0].k64.name, kp.k64.name, idx, ref[idx], c[idx])
			}
			c32c := slices.Clone(c32)
			direct(kp.k32)(s.transA, s.transB, s.m, s.n, s.k, float32(s.alpha), a32, lda, b32, ldb, float32(s.beta), c32c, ldc)
			if idx := firstDiff(ref32, c32c); idx >= 0 {
				t.Errorf("%v: %s and %s differ at %d: %v vs %v", s, avail[0].k32.name, kp.k32.name, idx, ref32[idx], c32c[idx])
			}
		}
	}
}

// TestPick checks how GOMETRIC_GEMM selects a kernel set: each set by its
// name, portable, and the default with a warning for an unavailable or
// unknown value.
func TestPick(t *testing.T) {
	k64a, k32a := &kernel[float64]{name: "a64"}, &kernel[float32]{name: "a32"}
	k64b, k32b := &kernel[float64]{name: "b64"}, &kernel[float32]{name: "b32"}
	both := []kernelPair{{"avx512", k64a, k32a}, {"avx2", k64b, k32b}}
	only2 := both[1:]
	for _, c := range []struct {
		env   string
		avail []kernelPair
		want  *kernel[float64]
		warn  bool
	}{
		{"", both, k64a, false},
		{"avx512", both, k64a, false},
		{" AVX2 ", both, k64b, false},
		{"avx2", both, k64b, false},
		{"portable", both, nil, false},
		{"", only2, k64b, false},
		{"avx512", only2, k64b, true},
		{"avx512", nil, nil, true},
		{"avx2", nil, nil, true},
		{"portable", nil, nil, false},
		{"sse", both, k64a, true},
		{"", nil, nil, false},
	} {
		g64, g32, warn := pick(c.env, c.avail)
		if g64 != c.want || (warn != "") != c.warn {
			t.Errorf("pick(%q, %d sets) = %v, warning %q; want %v, warning %v", c.env, len(c.avail), g64, warn, c.want, c.warn)
		}
		if (g64 == nil) != (g32 == nil) {
			t.Errorf("pick(%q): float64 kernel %v but float32 kernel %v", c.env, g64, g32)
		}
		if warn != "" && !strings.Contains(warn, EnvKernel) {
			t.Errorf("pick(%q): warning %q does not name %s", c.env, warn, EnvKernel)
		}
	}
}
