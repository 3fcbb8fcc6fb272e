package gemm

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// storedPacker is the PackFunc of a stored op(B): what packB does.
func storedPacker[T float](transB bool, b []T, ldb int) PackFunc[T] {
	p := &problem[T]{transB: transB, b: b, ldb: ldb}
	return func(dst []T, p0, kc, j0, nc, nr int) { packB(dst, p, p0, kc, j0, nc, nr) }
}

// TestPackedMatchesStored: a GEMM whose op(B) comes from a PackFunc has the
// bits of the GEMM on the stored matrix, on every kernel, serial and
// parallel, for every shape of the naive test.
func TestPackedMatchesStored(t *testing.T) {
	defer func(v int) { parallelMin = v }(parallelMin)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 3} {
		runtime.GOMAXPROCS(procs)
		parallelMin = 1
		rng := rand.New(rand.NewPCG(3, 4))
		for _, s := range shapes() {
			a, lda, b, ldb, c0, ldc := operands[float32](s, rng)
			for _, kn := range kernels32() {
				want := append([]float32(nil), c0...)
				direct(kn)(s.transA, s.transB, s.m, s.n, s.k, float32(s.alpha), a, lda, b, ldb, float32(s.beta), want, ldc)
				got := append([]float32(nil), c0...)
				gemmPacked(kn, "test", s.transA, s.m, s.n, s.k, float32(s.alpha), a, lda, storedPacker(s.transB, b, ldb), float32(s.beta), got, ldc)
				if i := firstDiff(got, want); i >= 0 {
					t.Fatalf("procs %d, %s, %v: C[%d] = %v packed, %v stored", procs, kn.name, s, i, got[i], want[i])
				}
			}
			a64, lda, b64, ldb, c64, ldc := operands[float64](s, rng)
			want := append([]float64(nil), c64...)
			Dgemm(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a64, lda, b64, ldb, s.beta, want, ldc)
			got := append([]float64(nil), c64...)
			DgemmPacked(s.transA, s.m, s.n, s.k, s.alpha, a64, lda, storedPacker(s.transB, b64, ldb), s.beta, got, ldc)
			if fast64 != nil {
				if i := firstDiff(got, want); i >= 0 {
					t.Fatalf("procs %d, Dgemm %v: C[%d] = %v packed, %v stored", procs, s, i, got[i], want[i])
				}
			}
		}
	}
}

func TestPackedNilPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("SgemmPacked with a nil PackFunc did not panic")
		}
	}()
	SgemmPacked(false, 1, 1, 1, 1, []float32{1}, 1, nil, 0, []float32{0}, 1)
}

// TestAddKernels: a kernel's add (the full tiles of the kc blocks after
// the first, added to C in the kernel) gives the bits of the tile buffer
// and update that a kernel without one uses, for every kernel that has it.
func TestAddKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, s := range shapes() {
		if s.k <= 256 && s.beta != 1 {
			continue // no kc block is added to C
		}
		a, lda, b, ldb, c0, ldc := operands[float32](s, rng)
		for _, kn := range kernels32() {
			if kn.add == nil {
				continue
			}
			plain := kernel[float32]{name: kn.name, mr: kn.mr, nr: kn.nr, kc: kn.kc, nc: kn.nc, dot: kn.dot, put: kn.put}
			want := append([]float32(nil), c0...)
			direct(&plain)(s.transA, s.transB, s.m, s.n, s.k, float32(s.alpha), a, lda, b, ldb, float32(s.beta), want, ldc)
			got := append([]float32(nil), c0...)
			direct(kn)(s.transA, s.transB, s.m, s.n, s.k, float32(s.alpha), a, lda, b, ldb, float32(s.beta), got, ldc)
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("%s %v: C[%d] = %v with add, %v without", kn.name, s, i, got[i], want[i])
			}
		}
		a64, lda, b64, ldb, c64, ldc := operands[float64](s, rng)
		for _, kn := range kernels64() {
			if kn.add == nil {
				continue
			}
			plain := kernel[float64]{name: kn.name, mr: kn.mr, nr: kn.nr, kc: kn.kc, nc: kn.nc, dot: kn.dot, put: kn.put}
			want := append([]float64(nil), c64...)
			direct(&plain)(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a64, lda, b64, ldb, s.beta, want, ldc)
			got := append([]float64(nil), c64...)
			direct(kn)(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a64, lda, b64, ldb, s.beta, got, ldc)
			if i := firstDiff(got, want); i >= 0 {
				t.Fatalf("%s %v: C[%d] = %v with add, %v without", kn.name, s, i, got[i], want[i])
			}
		}
	}
}

// TestBalance: few-task grids get column blocks that keep both workers
// busy; grids with enough tasks keep their blocks.
func TestBalance(t *testing.T) {
	for _, tc := range []struct{ n, nr, ncB, rows, workers, want int }{
		{576, 32, 128, 1, 2, 96},     // 18 panels: 6 tasks of 3 (5 blocks of 128 would idle one worker)
		{144, 32, 160, 1, 2, 96},     // 2 tasks of 96 and 48 rather than one of 160
		{100000, 32, 256, 1, 2, 256}, // plenty of tasks
		{512, 32, 256, 1, 2, 256},    // 2 tasks already balanced, widest kept
		{64, 32, 64, 1, 2, 64},       // one block, nothing narrower allowed
	} {
		if got := balance(tc.n, tc.nr, tc.ncB, tc.rows, tc.workers); got != tc.want {
			t.Errorf("balance(%d, %d, %d, %d, %d) = %d, want %d", tc.n, tc.nr, tc.ncB, tc.rows, tc.workers, got, tc.want)
		}
	}
}
