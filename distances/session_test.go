package distances_test

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

// entriesOf lists the non-zero entries of g; with merge (a symmetric
// session) each pair above the diagonal carries its mirror too.
func entriesOf(g *mat.Dense, merge bool) []distances.Entry {
	n, m := g.Dims()
	var out []distances.Entry
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			v := g.At(i, j)
			if merge {
				if j < i {
					continue
				}
				if j > i {
					v += g.At(j, i)
				}
			}
			if v != 0 {
				out = append(out, distances.Entry{I: i, J: j, G: v})
			}
		}
	}
	return out
}

// sparseDense returns an r×c matrix with about k random non-zero entries.
func sparseDense(rng *rand.Rand, r, c, k int) *mat.Dense {
	g := mat.NewDense(r, c, nil)
	for range k {
		g.Set(rng.IntN(r), rng.IntN(c), 2*rng.Float64()-1)
	}
	return g
}

// TestSessionMatchesPublic checks the sessions losses use against the
// public methods: the same matrix and gradients bit for bit with Backward,
// and to rounding with BackwardEntries (entry by entry instead of a GEMM),
// for dense and sparse gradients, with and without ref.
func TestSessionMatchesPublic(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, c := range configs() {
		for _, self := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/self=%v", c, self), func(t *testing.T) {
				d := c.build()
				dim := c.dim(rng)
				q := c.gen(rng, 30, dim)
				var r *mat.Dense
				m := 30
				if !self {
					r = c.gen(rng, 25, dim)
					m = 25
				}
				want, err := d.Matrix(q, r)
				if err != nil {
					t.Fatal(err)
				}
				s, err := distances.NewSession(d, q, r)
				if err != nil {
					t.Fatalf("NewSession: %v", err)
				}
				if s.Distance() != d {
					t.Fatalf("session for %v, want %v", s.Distance(), d)
				}
				defer s.Release()
				if s.Symmetric() != (self && c.kind != "SNR") {
					t.Errorf("Symmetric() = %v", s.Symmetric())
				}
				up := s.Upper()
				for i := 0; i < 30; i++ {
					j0 := 0
					if s.Symmetric() {
						j0 = i
					}
					for j := j0; j < m; j++ {
						if up.At(i, j) != want.At(i, j) {
							t.Fatalf("Upper (%d,%d) = %v, want %v", i, j, up.At(i, j), want.At(i, j))
						}
					}
				}
				if !mat.Equal(s.Matrix(), want) {
					t.Fatal("session matrix differs from Matrix")
				}
				for _, g := range []*mat.Dense{testkit.UniformDense(rng, 30, m), sparseDense(rng, 30, m, 12)} {
					wq, wr, err := d.MatrixVJP(q, r, want, g)
					if err != nil {
						t.Fatal(err)
					}
					dq := mat.NewDense(30, dim, nil)
					var dr *mat.Dense
					if !self {
						dr = mat.NewDense(m, dim, nil)
					}
					if err := s.Backward(g, dq, dr); err != nil {
						t.Fatal(err)
					}
					if !mat.Equal(dq, wq) || (!self && !mat.Equal(dr, wr)) {
						t.Error("Backward differs from MatrixVJP")
					}
					eq := mat.NewDense(30, dim, nil)
					var er *mat.Dense
					if !self {
						er = mat.NewDense(m, dim, nil)
					}
					if err := s.BackwardEntries(entriesOf(g, s.Symmetric()), eq, er); err != nil {
						t.Fatal(err)
					}
					scale := mat.Norm(wq, 1)
					if err := fdiff.Compare(eq, wq, 1e-9, 1e-12*scale); err != nil {
						t.Errorf("BackwardEntries dQuery: %v", err)
					}
					if !self {
						if err := fdiff.Compare(er, wr, 1e-9, 1e-12*mat.Norm(wr, 1)); err != nil {
							t.Errorf("BackwardEntries dRef: %v", err)
						}
					}
				}
			})
		}
	}
}

// TestSparseVJP checks MatrixVJP against finite differences for gradients
// with few non-zero entries, which take the entry-by-entry path instead of
// the GEMM, with near-duplicate rows for the cancellation guard.
func TestSparseVJP(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	// A small step: the near rows curve the distance sharply.
	const h, rtol, atol = 1e-7, 1e-5, 1e-7
	for _, c := range []config{{"Lp", true, 2, 1}, {"Lp", false, 2, 2}, {"Lp", false, 2, 3}, {"Cosine", true, 2, 1}, {"Dot", false, 2, 2}, {"Dot", true, 2, 3}, {"SNR", true, 2, 1}} {
		for _, self := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/self=%v", c, self), func(t *testing.T) {
				d := c.build()
				// Rows at distance about 6e-4: inside the guard, far
				// enough from the kink at 0 for the finite differences.
				near := func(x []float64) []float64 {
					for k := range x {
						x[k] += 3e-4 * rng.NormFloat64()
					}
					return x
				}
				q := c.gen(rng, 40, 5)
				q.SetRow(4, near(mat.Row(nil, 9, q)))
				var r *mat.Dense
				m := 40
				if !self {
					r = c.gen(rng, 36, 5)
					r.SetRow(2, near(mat.Row(nil, 4, q)))
					m = 36
				}
				g := sparseDense(rng, 40, m, 15)
				g.Set(4, 9, 0.5)
				if !self {
					g.Set(4, 2, -0.5)
				}
				dq, dr, err := d.MatrixVJP(q, r, nil, g)
				if err != nil {
					t.Fatal(err)
				}
				loss := weighted(t, d, q, r, g)
				if err := fdiff.Compare(dq, fdiff.Gradient(loss, q, h), rtol, atol); err != nil {
					t.Errorf("dQuery: %v", err)
				}
				if !self {
					if err := fdiff.Compare(dr, fdiff.Gradient(loss, r, h), rtol, atol); err != nil {
						t.Errorf("dRef: %v", err)
					}
				}
			})
		}
	}
}

// TestSessionGOMAXPROCS checks that sessions give bit-identical results
// with 1 and 2 threads at shapes that take the parallel paths, for dense
// gradients and for entry lists long enough to be split.
func TestSessionGOMAXPROCS(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	// Every pass and entry list takes the parallel path.
	defer distances.SetParallelWork(1)()
	const n, m = 150, 140
	q, r := testkit.UniformDense(rng, n, 24), testkit.UniformDense(rng, m, 24)
	q.SetRow(3, mat.Row(nil, 7, q))
	gq, gr := testkit.UniformDense(rng, n, n), testkit.UniformDense(rng, n, m)
	sq, sr := sparseDense(rng, n, n, 600), sparseDense(rng, n, m, 600)
	run := func(procs int) []*mat.Dense {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var out []*mat.Dense
		for _, c := range []config{{"Lp", true, 2, 1}, {"Cosine", true, 2, 1}, {"SNR", true, 2, 1}} {
			for _, ref := range []*mat.Dense{nil, r} {
				g, sg, rows := gq, sq, n
				if ref != nil {
					g, sg, rows = gr, sr, m
				}
				s, err := distances.NewSession(c.build(), q, ref)
				if err != nil {
					t.Fatal(err)
				}
				dq, dr := mat.NewDense(n, 24, nil), mat.NewDense(rows, 24, nil)
				if ref == nil {
					dr = nil
				}
				if err := s.Backward(g, dq, dr); err != nil {
					t.Fatal(err)
				}
				eq, er := mat.NewDense(n, 24, nil), mat.NewDense(rows, 24, nil)
				if ref == nil {
					er = nil
				}
				if err := s.BackwardEntries(entriesOf(sg, false), eq, er); err != nil {
					t.Fatal(err)
				}
				out = append(out, mat.DenseCopyOf(s.Matrix()), dq, eq)
				if ref != nil {
					out = append(out, dr, er)
				}
				s.Release()
			}
		}
		return out
	}
	one, two := run(1), run(2)
	for i := range one {
		if !mat.Equal(one[i], two[i]) {
			t.Errorf("result %d differs between GOMAXPROCS 1 and 2", i)
		}
	}
}

// TestSparseCancellation is TestCancellationGuard with a sparse gradient:
// the entry-by-entry path must be as accurate as the guarded GEMM one.
func TestSparseCancellation(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	const n, dim = 40, 5
	q := mat.NewDense(n, dim, nil)
	base := make([]float64, dim)
	for k := range base {
		base[k] = 100 + 10*rng.Float64()
	}
	for i := 0; i < n; i++ {
		for k := 0; k < dim; k++ {
			q.Set(i, k, base[k]+1e-7*rng.NormFloat64())
		}
	}
	g := sparseDense(rng, n, n, 20)
	for _, c := range []config{{"Lp", false, 2, 1}, {"SNR", false, 2, 1}} {
		d := c.build()
		for _, r := range []*mat.Dense{nil, mat.DenseCopyOf(q)} {
			dq, dr, err := d.MatrixVJP(q, r, nil, g)
			if err != nil {
				t.Fatal(err)
			}
			wantQ, wantR := naiveVJP(c.kind, q, r, g)
			if err := fdiff.Compare(dq, wantQ, 1e-10, 1e-10*mat.Norm(wantQ, 1)); err != nil {
				t.Errorf("%s dQuery (ref %v): %v", c.kind, r != nil, err)
			}
			if r != nil {
				if err := fdiff.Compare(dr, wantR, 1e-10, 1e-10*mat.Norm(wantR, 1)); err != nil {
					t.Errorf("%s dRef: %v", c.kind, err)
				}
			}
		}
	}
}
