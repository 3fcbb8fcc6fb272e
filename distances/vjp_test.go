package distances_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// spreadDense is randDense with every row's spread max−min at least 1, so
// SNR's variances stay away from 0 and finite differences stay accurate.
func spreadDense(rng *rand.Rand, r, c int) *mat.Dense {
	m := testkit.UniformDense(rng, r, c)
	for i := 0; i < r; i++ {
		for {
			row := m.RawRowView(i)
			if floats.Max(row)-floats.Min(row) >= 1 {
				break
			}
			for j := range row {
				row[j] = 2*rng.Float64() - 1
			}
		}
	}
	return m
}

// config is one distance setting exercised by the gradient tests.
type config struct {
	kind      string
	normalize bool
	p, power  float64
}

func (c config) String() string {
	return fmt.Sprintf("%s/norm=%v/p=%v/power=%v", c.kind, c.normalize, c.p, c.power)
}

func (c config) build() distances.Distance {
	switch c.kind {
	case "Lp":
		return &distances.Lp{NormalizeEmbeddings: c.normalize, P: c.p, Power: c.power}
	case "Cosine":
		return &distances.CosineSimilarity{P: c.p, Power: c.power}
	case "Dot":
		return &distances.DotProductSimilarity{NormalizeEmbeddings: c.normalize, P: c.p, Power: c.power}
	case "SNR":
		return &distances.SNR{NormalizeEmbeddings: c.normalize, P: c.p, Power: c.power}
	}
	panic("unknown kind " + c.kind)
}

// gen returns a random rows×dim matrix suited to c.
func (c config) gen(rng *rand.Rand, rows, dim int) *mat.Dense {
	if c.kind == "SNR" {
		return spreadDense(rng, rows, dim)
	}
	return testkit.UniformDense(rng, rows, dim)
}

// dim returns a random embedding size suited to c.
func (c config) dim(rng *rand.Rand) int {
	if c.kind == "SNR" {
		return 4 + rng.IntN(4)
	}
	return 2 + rng.IntN(4)
}

// inputs returns random query (n×dim) and ref (m×dim, nil when self).
func (c config) inputs(rng *rand.Rand, self bool) (q, r *mat.Dense) {
	dim := c.dim(rng)
	q = c.gen(rng, 2+rng.IntN(5), dim)
	if !self {
		r = c.gen(rng, 2+rng.IntN(5), dim)
	}
	return q, r
}

// configs lists every distance with normalisation on and off, p = 1, 2, 3
// (and 2.5 for Lp) and powers 1 and 2 (and 0.5, 3 where the values are
// non-negative, so fractional powers are defined).
func configs() []config {
	var out []config
	for _, kind := range []string{"Lp", "Cosine", "Dot", "SNR"} {
		ps := []float64{1, 2, 3}
		powers := []float64{1, 2, 3}
		if kind == "Lp" {
			ps = append(ps, 2.5)
		}
		if kind == "Lp" || kind == "SNR" {
			powers = append(powers, 0.5)
		}
		for _, norm := range []bool{false, true} {
			if kind == "Cosine" && !norm {
				continue
			}
			for _, p := range ps {
				for _, pw := range powers {
					out = append(out, config{kind, norm, p, pw})
				}
			}
		}
	}
	return out
}

// weighted returns loss = Σ G∘M for the matrix of d.
func weighted(t *testing.T, d distances.Distance, q, r, g *mat.Dense) func() float64 {
	return func() float64 {
		m, err := d.Matrix(q, r)
		if err != nil {
			t.Fatal(err)
		}
		return mat.Sum(testkit.MulElem(m, g))
	}
}

// TestMatrixVJPFiniteDifferences checks MatrixVJP against central finite
// differences of loss = Σ G∘Matrix for every configuration, with and
// without ref, and that passing m or nil gives identical results.
func TestMatrixVJPFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const h, rtol, atol = 1e-6, 1e-5, 1e-7
	for _, c := range configs() {
		for _, self := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/self=%v", c, self), func(t *testing.T) {
				d := c.build()
				q, r := c.inputs(rng, self)
				n, _ := q.Dims()
				m := n
				if !self {
					m, _ = r.Dims()
				}
				g := testkit.UniformDense(rng, n, m)
				mm, err := d.Matrix(q, r)
				if err != nil {
					t.Fatal(err)
				}
				dq, dr, err := d.MatrixVJP(q, r, mm, g)
				if err != nil {
					t.Fatal(err)
				}
				dq2, dr2, err := d.MatrixVJP(q, r, nil, g)
				if err != nil {
					t.Fatal(err)
				}
				if !mat.Equal(dq, dq2) || (!self && !mat.Equal(dr, dr2)) {
					t.Error("MatrixVJP with m and with nil m differ")
				}
				loss := weighted(t, d, q, r, g)
				if err := fdiff.Compare(dq, fdiff.Gradient(loss, q, h), rtol, atol); err != nil {
					t.Errorf("dQuery: %v", err)
				}
				if self {
					if dr != nil {
						t.Error("dRef is not nil for a nil ref")
					}
					return
				}
				if err := fdiff.Compare(dr, fdiff.Gradient(loss, r, h), rtol, atol); err != nil {
					t.Errorf("dRef: %v", err)
				}
			})
		}
	}
}

// TestPairwiseVJPFiniteDifferences checks PairwiseVJP against central
// finite differences of loss = Σ g_i·Pairwise_i.
func TestPairwiseVJPFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const h, rtol, atol = 1e-6, 1e-5, 1e-7
	for _, c := range configs() {
		t.Run(c.String(), func(t *testing.T) {
			d := c.build()
			n, dim := 1+rng.IntN(6), c.dim(rng)
			x, y := c.gen(rng, n, dim), c.gen(rng, n, dim)
			g := make([]float64, n)
			for i := range g {
				g[i] = 2*rng.Float64() - 1
			}
			dx, dy, err := d.PairwiseVJP(x, y, g)
			if err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				v, err := d.Pairwise(x, y)
				if err != nil {
					t.Fatal(err)
				}
				return mat.Dot(mat.NewVecDense(n, v), mat.NewVecDense(n, g))
			}
			if err := fdiff.Compare(dx, fdiff.Gradient(loss, x, h), rtol, atol); err != nil {
				t.Errorf("dx: %v", err)
			}
			if err := fdiff.Compare(dy, fdiff.Gradient(loss, y, h), rtol, atol); err != nil {
				t.Errorf("dy: %v", err)
			}
		})
	}
}

// naiveMatrix is a direct reference: one loop over pairs, the
// normalisation and the definitions written out.
func naiveMatrix(c config, q, r *mat.Dense) *mat.Dense {
	if r == nil {
		r = q
	}
	norm := func(x []float64) []float64 {
		if !c.normalize && c.kind != "Cosine" {
			return x
		}
		var s float64
		for _, v := range x {
			s += math.Pow(math.Abs(v), c.p)
		}
		n := math.Max(math.Pow(s, 1/c.p), 1e-12)
		out := make([]float64, len(x))
		for k, v := range x {
			out[k] = v / n
		}
		return out
	}
	variance := func(x []float64) float64 {
		var mu, s float64
		for _, v := range x {
			mu += v
		}
		mu /= float64(len(x))
		for _, v := range x {
			s += (v - mu) * (v - mu)
		}
		return s / float64(len(x)-1)
	}
	n, dim := q.Dims()
	m, _ := r.Dims()
	out := mat.NewDense(n, m, nil)
	for i := 0; i < n; i++ {
		a := norm(mat.Row(nil, i, q))
		for j := 0; j < m; j++ {
			b := norm(mat.Row(nil, j, r))
			var v float64
			switch c.kind {
			case "Lp":
				for k := 0; k < dim; k++ {
					v += math.Pow(math.Abs(a[k]-b[k]), c.p)
				}
				v = math.Pow(v, 1/c.p)
			case "Cosine", "Dot":
				for k := 0; k < dim; k++ {
					v += a[k] * b[k]
				}
			case "SNR":
				e := make([]float64, dim)
				for k := range e {
					e[k] = a[k] - b[k]
				}
				v = variance(e) / variance(a)
			}
			out.Set(i, j, math.Pow(v, c.power))
		}
	}
	return out
}

// TestMatrixReference compares Matrix with the direct definitions for
// every configuration at shapes large enough for the parallel paths.
func TestMatrixReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range configs() {
		for _, self := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/self=%v", c, self), func(t *testing.T) {
				q := testkit.UniformDense(rng, 40, 7)
				var r *mat.Dense
				if !self {
					r = testkit.UniformDense(rng, 35, 7)
				}
				got, err := c.build().Matrix(q, r)
				if err != nil {
					t.Fatal(err)
				}
				if err := fdiff.Compare(got, naiveMatrix(c, q, r), 1e-11, 1e-13); err != nil {
					t.Error(err)
				}
				if self && c.kind != "Cosine" && c.kind != "Dot" {
					for i := 0; i < 40; i++ {
						if v := got.At(i, i); v != 0 {
							t.Errorf("self entry (%d, %d) = %g, want exactly 0", i, i, v)
						}
					}
				}
			})
		}
	}
}

// TestCancellationGuard uses rows far from the origin that almost
// coincide: the GEMM formula alone would lose every digit there. Matrix and
// MatrixVJP must still agree with the direct pair-by-pair formulas.
func TestCancellationGuard(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, dim = 6, 5
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
	g := testkit.UniformDense(rng, n, n)
	for _, c := range []config{{"Lp", false, 2, 1}, {"SNR", false, 2, 1}} {
		t.Run(c.kind, func(t *testing.T) {
			d := c.build()
			for _, r := range []*mat.Dense{nil, mat.DenseCopyOf(q)} {
				got, err := d.Matrix(q, r)
				if err != nil {
					t.Fatal(err)
				}
				if err := fdiff.Compare(got, naiveMatrix(c, q, r), 1e-8, 0); err != nil {
					t.Errorf("matrix (ref %v): %v", r != nil, err)
				}
				dq, dr, err := d.MatrixVJP(q, r, got, g)
				if err != nil {
					t.Fatal(err)
				}
				wantQ, wantR := naiveVJP(c.kind, q, r, g)
				if err := fdiff.Compare(dq, wantQ, 1e-10, 1e-10*mat.Norm(wantQ, math.Inf(1))); err != nil {
					t.Errorf("dQuery (ref %v): %v", r != nil, err)
				}
				if r != nil {
					if err := fdiff.Compare(dr, wantR, 1e-10, 1e-10*mat.Norm(wantR, math.Inf(1))); err != nil {
						t.Errorf("dRef: %v", err)
					}
				}
			}
		})
	}
}

// naiveVJP is the pair-by-pair gradient of Σ G∘M for the unnormalised,
// power-1 Lp (p = 2) and SNR distances. With a nil ref it returns both
// roles summed in dq.
func naiveVJP(kind string, q, r, g *mat.Dense) (dq, dr *mat.Dense) {
	self := r == nil
	if self {
		r = q
	}
	n, dim := q.Dims()
	m, _ := r.Dims()
	dq, dr = mat.NewDense(n, dim, nil), mat.NewDense(m, dim, nil)
	centre := func(x []float64) []float64 {
		var mu float64
		for _, v := range x {
			mu += v
		}
		mu /= float64(len(x))
		out := make([]float64, len(x))
		for k, v := range x {
			out[k] = v - mu
		}
		return out
	}
	for i := 0; i < n; i++ {
		a := mat.Row(nil, i, q)
		for j := 0; j < m; j++ {
			b := mat.Row(nil, j, r)
			gij := g.At(i, j)
			switch kind {
			case "Lp":
				var s float64
				for k := range a {
					s += (a[k] - b[k]) * (a[k] - b[k])
				}
				dist := math.Sqrt(s)
				if dist == 0 {
					continue
				}
				for k := range a {
					e := gij * (a[k] - b[k]) / dist
					dq.Set(i, k, dq.At(i, k)+e)
					dr.Set(j, k, dr.At(j, k)-e)
				}
			case "SNR":
				// As torch: the variance of the difference itself.
				ac := centre(a)
				e := make([]float64, len(a))
				for k := range a {
					e[k] = a[k] - b[k]
				}
				e = centre(e)
				var A, S float64
				for k := range ac {
					A += ac[k] * ac[k]
					S += e[k] * e[k]
				}
				raw := S / A
				for k := range ac {
					dq.Set(i, k, dq.At(i, k)+2*gij/A*(e[k]-raw*ac[k]))
					dr.Set(j, k, dr.At(j, k)-2*gij/A*e[k])
				}
			}
		}
	}
	if kind == "SNR" {
		for _, x := range []*mat.Dense{dq, dr} {
			rr, _ := x.Dims()
			for i := 0; i < rr; i++ {
				row := centre(mat.Row(nil, i, x))
				x.SetRow(i, row)
			}
		}
	}
	if self {
		dq.Add(dq, dr)
		return dq, nil
	}
	return dq, dr
}

// TestGOMAXPROCS checks that Matrix and MatrixVJP give bit-identical
// results with 1 and 2 threads, at shapes that take the parallel paths.
func TestGOMAXPROCS(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	// Every pass takes the parallel path.
	defer distances.SetParallelWork(1)()
	q := testkit.UniformDense(rng, 150, 24)
	r := testkit.UniformDense(rng, 140, 24)
	// A few near-duplicates exercise the cancellation guard.
	q.SetRow(3, mat.Row(nil, 7, q))
	r.SetRow(5, mat.Row(nil, 2, q))
	gq, gr := testkit.UniformDense(rng, 150, 150), testkit.UniformDense(rng, 150, 140)
	type result struct{ m, dq, dr *mat.Dense }
	run := func(procs int) []result {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var out []result
		for _, c := range []config{{"Lp", true, 2, 1}, {"Lp", false, 2, 2}, {"Lp", false, 1, 1}, {"Lp", true, 3, 1}, {"Cosine", true, 2, 1}, {"Dot", false, 2, 2}, {"SNR", true, 2, 1}} {
			for _, ref := range []*mat.Dense{nil, r} {
				g := gq
				if ref != nil {
					g = gr
				}
				d := c.build()
				m, err := d.Matrix(q, ref)
				if err != nil {
					t.Fatal(err)
				}
				dq, dr, err := d.MatrixVJP(q, ref, m, g)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, result{m, dq, dr})
			}
		}
		return out
	}
	one, two := run(1), run(2)
	for i := range one {
		if !mat.Equal(one[i].m, two[i].m) || !mat.Equal(one[i].dq, two[i].dq) ||
			(one[i].dr != nil && !mat.Equal(one[i].dr, two[i].dr)) {
			t.Errorf("result %d differs between GOMAXPROCS 1 and 2", i)
		}
	}
}

// TestViews checks that strided views (column slices) give the same
// results as compact copies.
func TestViews(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	bigQ, bigR := spreadDense(rng, 30, 9), spreadDense(rng, 20, 9)
	q := bigQ.Slice(2, 27, 1, 7).(*mat.Dense)
	r := bigR.Slice(0, 20, 2, 8).(*mat.Dense)
	g := testkit.UniformDense(rng, 25, 20)
	for _, c := range []config{{"Lp", true, 2, 1}, {"Lp", false, 1, 2}, {"Cosine", true, 2, 1}, {"Dot", false, 2, 3}, {"SNR", true, 2, 2}} {
		d := c.build()
		m1, err := d.Matrix(q, r)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := d.Matrix(mat.DenseCopyOf(q), mat.DenseCopyOf(r))
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(m1, m2) {
			t.Errorf("%v: Matrix differs on views", c)
		}
		dq1, dr1, err := d.MatrixVJP(q, r, nil, g)
		if err != nil {
			t.Fatal(err)
		}
		dq2, dr2, err := d.MatrixVJP(mat.DenseCopyOf(q), mat.DenseCopyOf(r), nil, g)
		if err != nil {
			t.Fatal(err)
		}
		if !mat.Equal(dq1, dq2) || !mat.Equal(dr1, dr2) {
			t.Errorf("%v: MatrixVJP differs on views", c)
		}
		x, y := q.Slice(0, 20, 0, 6).(*mat.Dense), r
		p1, err := d.Pairwise(x, y)
		if err != nil {
			t.Fatal(err)
		}
		p2, err := d.Pairwise(mat.DenseCopyOf(x), mat.DenseCopyOf(y))
		if err != nil {
			t.Fatal(err)
		}
		if !floats.Equal(p1, p2) {
			t.Errorf("%v: Pairwise differs on views", c)
		}
	}
}

// TestBatchedDelegates checks that Batched used as a Distance gives exactly
// the wrapped distance's results.
func TestBatchedDelegates(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	q, r := spreadDense(rng, 9, 5), spreadDense(rng, 7, 5)
	g := testkit.UniformDense(rng, 9, 7)
	pg := []float64{1, -2, 0.5, 3, 0, 1, 2, -1, 0.25}
	for _, c := range []config{{"Lp", true, 3, 2}, {"SNR", false, 2, 1}, {"Cosine", true, 2, 1}} {
		inner := c.build()
		b := distances.NewBatched(inner, 4)
		m1, err1 := inner.Matrix(q, r)
		m2, err2 := b.Matrix(q, r)
		if err1 != nil || err2 != nil || !mat.Equal(m1, m2) {
			t.Errorf("%v: Matrix differs (%v, %v)", c, err1, err2)
		}
		dq1, dr1, err1 := inner.MatrixVJP(q, r, nil, g)
		dq2, dr2, err2 := b.MatrixVJP(q, r, nil, g)
		if err1 != nil || err2 != nil || !mat.Equal(dq1, dq2) || !mat.Equal(dr1, dr2) {
			t.Errorf("%v: MatrixVJP differs (%v, %v)", c, err1, err2)
		}
		x := q.Slice(0, 7, 0, 5).(*mat.Dense)
		p1, err1 := inner.Pairwise(x, r)
		p2, err2 := b.Pairwise(x, r)
		if err1 != nil || err2 != nil || !floats.Equal(p1, p2) {
			t.Errorf("%v: Pairwise differs (%v, %v)", c, err1, err2)
		}
		dx1, dy1, err1 := inner.PairwiseVJP(x, r, pg[:7])
		dx2, dy2, err2 := b.PairwiseVJP(x, r, pg[:7])
		if err1 != nil || err2 != nil || !mat.Equal(dx1, dx2) || !mat.Equal(dy1, dy2) {
			t.Errorf("%v: PairwiseVJP differs (%v, %v)", c, err1, err2)
		}
	}
}
