package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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

// impls64 lists the exported Dgemm and every float64 kernel compiled in.
func impls64() []impl[float64] {
	out := []impl[float64]{{"Dgemm", Dgemm}, {portable64.name, direct(&portable64)}}
	if fast64 != nil {
		out = append(out, impl[float64]{fast64.name, direct(fast64)})
	}
	return out
}

func impls32() []impl[float32] {
	out := []impl[float32]{{"Sgemm", Sgemm}, {portable32.name, direct(&portable32)}}
	if fast32 != nil {
		out = append(out, impl[float32]{fast32.name, direct(fast32)})
	}
	return out
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
// 2×4, 4×8 and 4×16, and the kc block of 256) with every transpose pair and
// scalar, then random shapes up to 70 in each dimension.
func shapes() []shape {
	var out []shape
	scalars := [][2]float64{{1, 0}, {1, 1}, {-2, 0}, {0.7, -1.3}, {0, 0.5}, {1, 0.5}, {-1, 1}}
	dims := [][3]int{
		{1, 1, 1}, {1, 17, 5}, {17, 1, 5}, {5, 7, 1}, {1, 1, 40},
		{4, 16, 8}, {4, 8, 3}, {5, 17, 9}, {3, 15, 2}, {8, 32, 16},
		{2, 4, 1}, {7, 9, 257}, {13, 33, 300}, {64, 64, 64},
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
