package losses

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/regularizers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// closeTo fails unless every entry of got is within tol·max|want| of want.
func closeTo(t *testing.T, what string, got, want *mat.Dense, tol float64) {
	t.Helper()
	r, c := want.Dims()
	if gr, gc := got.Dims(); gr != r || gc != c {
		t.Fatalf("%s: %d×%d, want %d×%d", what, gr, gc, r, c)
	}
	scale := math.SmallestNonzeroFloat64
	for i := range r {
		for j := range c {
			scale = math.Max(scale, math.Abs(want.At(i, j)))
		}
	}
	for i := range r {
		for j := range c {
			if !testkit.Close(got.At(i, j), want.At(i, j), 0, tol*scale) {
				t.Fatalf("%s (%d, %d): %v, want %v (scale %v)", what, i, j, got.At(i, j), want.At(i, j), scale)
			}
		}
	}
}

// generalPath returns the matrix between the rows of x and r and its VJP
// given g, computed on the general path of the distance (normalised rows,
// then one GEMM): as the off-diagonal block of the self matrix of x and r
// stacked.
func generalPath(t *testing.T, dist distances.Distance, x, r, g *mat.Dense) (m, dx, dr *mat.Dense) {
	t.Helper()
	n, d := x.Dims()
	k, _ := r.Dims()
	st := mat.NewDense(n+k, d, nil)
	st.Slice(0, n, 0, d).(*mat.Dense).Copy(x)
	st.Slice(n, n+k, 0, d).(*mat.Dense).Copy(r)
	all, err := dist.Matrix(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	m = mat.DenseCopyOf(all.Slice(0, n, n, n+k))
	gs := mat.NewDense(n+k, n+k, nil)
	gs.Slice(0, n, n, n+k).(*mat.Dense).Copy(g)
	ds, _, err := dist.MatrixVJP(st, nil, all, gs)
	if err != nil {
		t.Fatal(err)
	}
	return m, mat.DenseCopyOf(ds.Slice(0, n, 0, d)), mat.DenseCopyOf(ds.Slice(n, n+k, 0, d))
}

// TestClassMatrixFastPath: the class-head product of the unit dot products
// (distances.NewSession and NewColumnSession) gives the matrix and the
// gradients of the general path, for class vectors in rows and in
// columns, embeddings given as a strided view, zero and tiny rows, and
// norms extreme enough to take the normalised copy.
func TestClassMatrixFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		name    string
		n, k, d int
		edit    func(x, r *mat.Dense)
	}{
		{"plain", 9, 4, 7, nil},
		{"one", 1, 1, 1, nil},
		{"zero and tiny rows", 6, 3, 5, func(x, r *mat.Dense) {
			x.Scale(1, x)
			for j := range 5 {
				x.Set(1, j, 0)
				x.Set(2, j, 1e-14*x.At(2, j))
				r.Set(1, j, 0)
			}
		}},
		{"huge row", 5, 3, 4, func(x, r *mat.Dense) {
			for j := range 4 {
				x.Set(3, j, 1e300*x.At(3, j))
			}
		}},
		{"large row", 5, 3, 4, func(x, r *mat.Dense) {
			for j := range 4 {
				x.Set(2, j, 1e255*x.At(2, j))
			}
		}},
		{"minute row", 5, 3, 4, func(x, r *mat.Dense) {
			for j := range 4 {
				x.Set(0, j, 1e-290*x.At(0, j))
			}
		}},
	} {
		for _, cols := range []bool{false, true} {
			for _, dist := range []distances.Distance{distances.NewCosineSimilarity(), distances.NewDotProductSimilarity()} {
				t.Run(fmt.Sprintf("%s/cols=%v/%T", tc.name, cols, dist), func(t *testing.T) {
					// x is a view with a stride wider than d.
					big := testkit.NormalDense(rng, tc.n, tc.d+3)
					x := big.Slice(0, tc.n, 1, 1+tc.d).(*mat.Dense)
					r := testkit.NormalDense(rng, tc.k, tc.d)
					if tc.edit != nil {
						tc.edit(x, r)
					}
					ref := r
					if cols {
						ref = mat.DenseCopyOf(r.T())
					}
					for range 2 { // the second round reuses pooled buffers
						cm, err := newClassMatrix("test", dist, x, ref, cols)
						if err != nil {
							t.Fatal(err)
						}
						g := testkit.NormalDense(rng, tc.n, tc.k)
						want, wantDx, wantDr := generalPath(t, dist, x, r, g)
						closeTo(t, "matrix", cm.m, want, 1e-13)
						dx0, dr0 := testkit.NormalDense(rng, tc.n, tc.d), testkit.NormalDense(rng, tc.k, tc.d)
						wantDx.Add(wantDx, dx0)
						wantDr.Add(wantDr, dr0)
						dx := mat.DenseCopyOf(dx0)
						dref := mat.DenseCopyOf(dr0)
						if cols {
							dref = mat.DenseCopyOf(dr0.T())
						}
						if err := cm.addVJP("test", g, dx, dref); err != nil {
							t.Fatal(err)
						}
						cm.release()
						if cols {
							dref = mat.DenseCopyOf(dref.T())
						}
						closeTo(t, "dx", dx, wantDx, 1e-12)
						closeTo(t, "dref", dref, wantDr, 1e-12)
					}
				})
			}
		}
	}
}

// TestArcFaceModify: the identities of modify's ArcFace branch give the
// values and derivatives of the angle computation it replaces.
func TestArcFaceModify(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, deg := range []float64{0, 10, 28.6, 90, 150, 180, 200, -30} {
		m := deg * math.Pi / 180
		h := &marginHead{kind: headArc, margin: m, cosM: math.Cos(m), sinM: math.Sin(m)}
		cs := []float64{-1, 1, 0, -math.Cos(m), -math.Cos(m) + 1e-13, -math.Cos(m) - 2e-12, 1 - 1e-15, -1 + 1e-15, 1.5, -2}
		for range 2000 {
			cs = append(cs, 2*rng.Float64()-1)
		}
		for _, c := range cs {
			angle, dAngle := acosClamped(c)
			var want, wantD float64
			if angle <= math.Pi-m {
				want, wantD = math.Cos(angle+m), -math.Sin(angle+m)*dAngle
			} else {
				want, wantD = math.Cos(angle)-m*math.Sin(m), -math.Sin(angle)*dAngle
			}
			got, gotD := h.modify(c)
			if !(math.Abs(got-want) <= 1e-14) {
				t.Errorf("margin %v°, cos %v: %v, want %v", deg, c, got, want)
			}
			// Near c = ±1 the angle computation itself loses digits
			// (sin(acos c) against √(1 − c²)): 3e-9 at c = −1 + 1e-15.
			if !(gotD == wantD || math.IsNaN(gotD) && math.IsNaN(wantD) || math.Abs(gotD-wantD) <= 1e-8*math.Abs(wantD)) {
				t.Errorf("margin %v°, cos %v: derivative %v, want %v", deg, c, gotD, wantD)
			}
		}
	}
}

// proxyAnchorReference is the former ProxyAnchor computation, class by
// class through lse.Row and the distance, kept to check the current one.
func proxyAnchorReference(l *ProxyAnchor) func(in *input) (*term, error) {
	return func(in *input) (*term, error) {
		c := l.NumClasses
		mw, err := tuples.Weights(in.tuples, in.n, false)
		if err != nil {
			return nil, err
		}
		for i := range mw {
			mw[i]--
		}
		cos, err := in.dist.Matrix(in.emb, l.Proxies)
		if err != nil {
			return nil, err
		}
		n, alpha, mg := in.n, l.Alpha, l.Margin
		dsign := 1.0
		if in.dist.Settings().Inverted {
			dsign = -1
		}
		posX, negX := make([]float64, n), make([]float64, n)
		posKeep, negKeep := make([]bool, n), make([]bool, n)
		wPos, wNeg := mat.NewDense(c, n, nil), mat.NewDense(c, n, nil)
		pos, neg := make([]float64, c), make([]float64, c)
		withPos := 0
		for k := range c {
			has := false
			for i := range n {
				s := cos.At(i, k)
				posKeep[i] = in.labels[i] == k
				negKeep[i] = !posKeep[i]
				has = has || posKeep[i]
				posX[i] = alpha*(dsign*(s-mg)) + mw[i]
				negX[i] = alpha*(dsign*(-mg-s)) + mw[i]
			}
			if has {
				withPos++
			}
			pos[k] = lse.Row(posX, posKeep, true, wPos.RawRowView(k))
			neg[k] = lse.Row(negX, negKeep, true, wNeg.RawRowView(k))
		}
		idx := make([]int, c)
		for k := range idx {
			idx[k] = k
		}
		t := &term{
			subLosses: []reducers.SubLoss{
				{Name: "pos_loss", Values: pos, Indices: [][]int{idx}, Kind: reducers.Element, Divisor: float64(withPos), HasDivisor: true},
				{Name: "neg_loss", Values: neg, Indices: [][]int{idx}, Kind: reducers.Element, Divisor: float64(c), HasDivisor: true},
			},
			backward: func(dv [][]float64, g *grads) error {
				gm := mat.NewDense(n, c, nil)
				for k := range c {
					dp, dn := dv[0][k]*alpha*dsign, -dv[1][k]*alpha*dsign
					for i := range n {
						gm.Set(i, k, dp*wPos.At(k, i)+dn*wNeg.At(k, i))
					}
				}
				dq, dp, err := in.dist.MatrixVJP(in.emb, l.Proxies, cos, gm)
				if err != nil {
					return err
				}
				g.q.Add(g.q, dq)
				pg := g.param("proxies", c, in.d)
				pg.Add(pg, dp)
				return nil
			},
		}
		return l.WeightReg.addTo("ref", t, l.WeightReg.names("pos_loss", "neg_loss"), "proxies", l.Proxies, false)
	}
}

// TestProxyAnchorMatchesReference: ProxyAnchor (all classes at once, the
// classMatrix fast path for unit dot products) gives the loss, parts and
// gradients of the class-by-class computation through the distance, with
// and without mined tuples, for several distances and settings.
func TestProxyAnchorMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	lp := distances.NewLp()
	rawDot := distances.NewDotProductSimilarity()
	rawDot.NormalizeEmbeddings = false
	for ci, tc := range []struct {
		n, c, d int
		dist    distances.Distance
		tuples  func(n int) tuples.Tuples
		set     func(l *ProxyAnchor)
	}{
		{n: 40, c: 6, d: 8},
		{n: 1, c: 3, d: 4},
		{n: 5, c: 7, d: 3}, // classes without embeddings
		{n: 30, c: 4, d: 6, dist: distances.NewDotProductSimilarity()},
		{n: 30, c: 4, d: 6, dist: lp},
		{n: 30, c: 4, d: 6, dist: rawDot, set: func(l *ProxyAnchor) { l.Alpha, l.Margin = 4, -0.3 }},
		{n: 20, c: 5, d: 6, tuples: func(n int) tuples.Tuples {
			return &tuples.Triplets{A: []int{0, 1, 2, 2}, P: []int{3, 4, 5, 5}, N: []int{6, 7, 8, 9}}
		}},
		{n: 20, c: 5, d: 6, tuples: func(n int) tuples.Tuples {
			return &tuples.Pairs{A1: []int{0, 1}, P: []int{2, 3}, A2: []int{4, 4, 5}, N: []int{6, 7, 8}}
		}},
		{n: 20, c: 5, d: 6, set: func(l *ProxyAnchor) {
			l.WeightRegularizer, l.WeightRegWeight = regularizers.NewLp(), 0.5
		}},
	} {
		t.Run(fmt.Sprint(ci), func(t *testing.T) {
			l, err := NewProxyAnchor(tc.c, tc.d, rng)
			if err != nil {
				t.Fatal(err)
			}
			l.Distance = tc.dist
			if tc.set != nil {
				tc.set(l)
			}
			labels := make([]int, tc.n)
			for i := range labels {
				labels[i] = rng.IntN(tc.c)
				if tc.c == 7 {
					labels[i] = rng.IntN(3) // classes 3–6 have no embedding
				}
			}
			b := Batch{Embeddings: testkit.NormalDense(rng, tc.n, tc.d), Labels: labels}
			if tc.tuples != nil {
				b.Tuples = tc.tuples(tc.n)
			}
			got, err := l.Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			d := &decl{
				name:         "ref",
				needLabels:   true,
				subLossNames: l.WeightReg.names("pos_loss", "neg_loss"),
				defDistance:  func() distances.Distance { return distances.NewCosineSimilarity() },
				defReducer:   func() reducers.Reducer { return reducers.NewDivisor() },
			}
			want, err := run(d, &funcLoss{&l.Base, proxyAnchorReference(l)}, b)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.Loss-want.Loss) > 1e-12*math.Max(1, math.Abs(want.Loss)) {
				t.Errorf("loss %v, want %v", got.Loss, want.Loss)
			}
			for k, v := range want.Parts {
				if math.Abs(got.Parts[k]-v) > 1e-12*math.Max(1, math.Abs(v)) {
					t.Errorf("part %s %v, want %v", k, got.Parts[k], v)
				}
			}
			closeTo(t, "grad", got.Grad, want.Grad, 1e-11)
			closeTo(t, "proxies grad", got.ParamGrads["proxies"], want.ParamGrads["proxies"], 1e-11)
		})
	}
}

// TestPooledConcurrent: losses on the pooled classMatrix buffers give the
// same bits when called from several goroutines at once.
func TestPooledConcurrent(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	arc, err := NewArcFace(6, 8, rng)
	if err != nil {
		t.Fatal(err)
	}
	pa, err := NewProxyAnchor(6, 8, rng)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := NewNormalizedSoftmax(6, 8, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []Loss{arc, pa, ns} {
		batches := make([]Batch, 4)
		want := make([]Result, len(batches))
		for i := range batches {
			labels := make([]int, 10+i)
			for j := range labels {
				labels[j] = rng.IntN(6)
			}
			batches[i] = Batch{Embeddings: testkit.NormalDense(rng, len(labels), 8), Labels: labels}
			if want[i], err = l.Compute(batches[i]); err != nil {
				t.Fatal(err)
			}
		}
		errs := make(chan error, 4*len(batches))
		done := make(chan struct{})
		for g := range 4 {
			go func() {
				defer func() { done <- struct{}{} }()
				for r := range 20 {
					i := (g + r) % len(batches)
					got, err := l.Compute(batches[i])
					if err != nil {
						errs <- err
						return
					}
					if got.Loss != want[i].Loss || !mat.Equal(got.Grad, want[i].Grad) {
						errs <- fmt.Errorf("%T batch %d: loss %v, want %v", l, i, got.Loss, want[i].Loss)
						return
					}
				}
			}()
		}
		for range 4 {
			<-done
		}
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	}
}

// TestCrossEntropyUnit: the matrix-wide forward loop of ArcFace and
// CosFace gives the bits of crossEntropyRow row by row.
func TestCrossEntropyUnit(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const n, c = 7, 5
	h := &marginHead{scale: 13.5}
	cos := testkit.NormalDense(rng, n, c)
	labels, lgY, weights := make([]int, n), make([]float64, n), make([]float64, n)
	for i := range n {
		labels[i], lgY[i], weights[i] = rng.IntN(c), rng.NormFloat64(), rng.Float64()
	}
	pg, values := make([]float64, n*c), make([]float64, n)
	h.crossEntropyUnit(cos, labels, lgY, weights, pg, values)
	for i := range n {
		row := make([]float64, c)
		for j := range row {
			row[j] = cos.At(i, j) * h.scale
		}
		row[labels[i]] = lgY[i] * h.scale
		grad := make([]float64, c)
		if v := crossEntropyRow(row, labels[i], grad) * weights[i]; v != values[i] {
			t.Errorf("row %d: %v, want %v", i, values[i], v)
		}
		for j, g := range grad {
			if pg[i*c+j] != g {
				t.Errorf("(%d, %d): gradient %v, want %v", i, j, pg[i*c+j], g)
			}
		}
	}
}
