package losses_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/regularizers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// proxyRng is the generator of one proxy-family test.
func proxyRng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed+1)) }

func newProxyAnchor(t testing.TB, c, d int, set func(*losses.ProxyAnchor)) *losses.ProxyAnchor {
	l, err := losses.NewProxyAnchor(c, d, proxyRng(11))
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(l)
	}
	return l
}

func newProxyNCA(t testing.TB, c, d int, set func(*losses.ProxyNCA)) *losses.ProxyNCA {
	l, err := losses.NewProxyNCA(c, d, proxyRng(12))
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(l)
	}
	return l
}

func newSoftTriple(t testing.TB, c, d, k int, set func(*losses.SoftTriple)) *losses.SoftTriple {
	l, err := losses.NewSoftTriple(c, d, k, proxyRng(13))
	if err != nil {
		t.Fatal(err)
	}
	if set != nil {
		set(l)
	}
	return l
}

func TestProxyFiniteDifferences(t *testing.T) {
	const c, d = 3, 5
	trip := &tuples.Triplets{A: []int{0, 1, 2, 0, 7}, P: []int{3, 4, 5, 6, 1}, N: []int{5, 2, 1, 7, 0}}
	pairs := &tuples.Pairs{A1: []int{0, 1, 1}, P: []int{3, 4, 4}, A2: []int{2, 5}, N: []int{1, 0}}
	perClass := func(nu float64, learn bool) *losses.Margin {
		l, err := losses.NewMarginPerClass(c, 0.9)
		if err != nil {
			t.Fatal(err)
		}
		l.Beta.SetRow(0, []float64{0.8, 1.0, 1.1})
		l.Nu, l.LearnBeta = nu, learn
		return l
	}
	tests := []struct {
		name   string
		loss   losses.Learnable
		tuples bool // also check with mined tuples
		ref    bool // also check with ref embeddings
	}{
		{"ProxyAnchor", newProxyAnchor(t, c, d, nil), true, false},
		{"ProxyAnchor/settings", newProxyAnchor(t, c, d, func(l *losses.ProxyAnchor) { l.Margin, l.Alpha = 0.3, 4 }), true, false},
		{"ProxyAnchor/lp-sum", newProxyAnchor(t, c, d, func(l *losses.ProxyAnchor) {
			l.Distance, l.Reducer, l.Alpha = distances.NewLp(), reducers.NewSum(), 2
		}), false, false},
		{"ProxyAnchor/weight-reg", newProxyAnchor(t, c, d, func(l *losses.ProxyAnchor) {
			l.WeightRegularizer, l.WeightRegWeight, l.Alpha = regularizers.NewCenterInvariant(), 0.7, 8
		}), false, false},
		{"ProxyNCA", newProxyNCA(t, c, d, nil), true, false},
		{"ProxyNCA/scale-cosine", newProxyNCA(t, c, d, func(l *losses.ProxyNCA) {
			l.SoftmaxScale, l.Distance = 3, distances.NewCosineSimilarity()
		}), true, false},
		{"ProxyNCA/weight-reg", newProxyNCA(t, c, d, func(l *losses.ProxyNCA) {
			l.WeightRegularizer, l.WeightRegWeight = regularizers.NewLp(), 0.5
		}), false, false},
		{"SoftTriple", newSoftTriple(t, c, d, 4, func(l *losses.SoftTriple) { l.La = 5 }), true, false},
		{"SoftTriple/settings", newSoftTriple(t, c, d, 2, func(l *losses.SoftTriple) { l.La, l.Gamma, l.Margin = 3, 0.5, 0.2 }), true, false},
		{"SoftTriple/weight-reg", newSoftTriple(t, c, d, 3, func(l *losses.SoftTriple) {
			l.La, l.WeightRegularizer = 4, regularizers.NewSparseCenters(c, 3)
		}), false, false},
		{"Margin/learn-global", func() *losses.Margin {
			l := losses.NewMargin()
			l.LearnBeta, l.Nu, l.Beta = true, 0.1, mat.NewDense(1, 1, []float64{1.1})
			return l
		}(), true, true},
		{"Margin/learn-per-class", perClass(0.2, true), true, true},
		{"Margin/fixed-per-class-cosine", func() *losses.Margin {
			l := perClass(0, false)
			l.Distance = distances.NewCosineSimilarity()
			l.Beta.SetRow(0, []float64{0.1, 0.2, -0.1})
			return l
		}(), true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := proxyRng(21)
			emb := testkit.NormalDense(rng, 8, d)
			labels := randLabels(rng, 8, c)
			b := losses.Batch{Embeddings: emb, Labels: labels}
			checkGrad(t, tc.loss, b, 1e-5, 1e-7)
			checkParamGrads(t, tc.loss, b, 1e-5, 1e-7)
			if tc.tuples {
				for _, tu := range []tuples.Tuples{trip, pairs} {
					b := losses.Batch{Embeddings: emb, Labels: labels, Tuples: tu}
					checkGrad(t, tc.loss, b, 1e-5, 1e-7)
					checkParamGrads(t, tc.loss, b, 1e-5, 1e-7)
				}
			}
			if tc.ref {
				b := losses.Batch{Embeddings: emb, Labels: labels, Ref: testkit.NormalDense(rng, 6, d), RefLabels: randLabels(rng, 6, c)}
				checkGrad(t, tc.loss, b, 1e-5, 1e-7)
				checkParamGrads(t, tc.loss, b, 1e-5, 1e-7)
			}
		})
	}
}

// p2sgradReference is P2SGradLoss's forward for a weight that is already
// renormalised (no renormalisation, so W can be perturbed freely).
func p2sgradReference(emb, w *mat.Dense, labels []int) float64 {
	n, _ := emb.Dims()
	_, c := w.Dims()
	var z mat.Dense
	z.Mul(emb, w)
	var s float64
	for i := range n {
		norm := mat.Norm(emb.RowView(i), 2)
		for j := range c {
			v := math.Max(-1, math.Min(1, z.At(i, j)/norm))
			if j == labels[i] {
				v--
			}
			s += v * v
		}
	}
	return s / float64(n*c)
}

func TestProxyP2SGrad(t *testing.T) {
	rng := proxyRng(31)
	l, err := losses.NewP2SGrad(5, 3, rng)
	if err != nil {
		t.Fatal(err)
	}
	emb := testkit.NormalDense(rng, 7, 5)
	labels := randLabels(rng, 7, 3)
	b := losses.Batch{Embeddings: emb, Labels: labels}
	// The embedding gradient is a plain finite difference (the weight is
	// already unit-norm, so its renormalisation is idempotent up to
	// torch's 1e-7 in the divisor).
	checkGrad(t, l, b, 1e-5, 1e-7)
	res, err := l.Compute(b)
	if err != nil {
		t.Fatal(err)
	}
	if want := p2sgradReference(emb, l.Weight, labels); math.Abs(res.Loss-want) > 1e-12 {
		t.Errorf("loss %v, reference %v", res.Loss, want)
	}
	// The weight gradient is w.r.t. the renormalised weight: check it on
	// the reference forward, which does not renormalise.
	w := mat.DenseCopyOf(l.Weight)
	num := fdiff.Gradient(func() float64 { return p2sgradReference(emb, w, labels) }, w, 1e-6)
	if err := fdiff.Compare(res.ParamGrads["weight"], num, 1e-5, 1e-8); err != nil {
		t.Errorf("gradient w.r.t. weight: %v", err)
	}
	// Columns are renormalised in place.
	l.Weight.Scale(3, l.Weight)
	if _, err := l.Compute(b); err != nil {
		t.Fatal(err)
	}
	for j := range 3 {
		if n := mat.Norm(l.Weight.ColView(j), 2); math.Abs(n-1) > 1e-6 {
			t.Errorf("column %d has norm %v after Compute", j, n)
		}
	}
	// A zero column cannot be renormalised: PML's assertion, an error here.
	l.Weight.SetCol(1, make([]float64, 5))
	_, err = l.Compute(b)
	checkErr(t, err, gometric.ErrNonFinite, "losses.P2SGrad")
}

func TestProxyManifold(t *testing.T) {
	const n, d, k = 7, 4, 3
	rng := proxyRng(35)
	emb := testkit.NormalDense(rng, n, d)
	b := losses.Batch{Embeddings: emb}
	for _, tc := range []struct {
		name string
		set  func(*losses.Manifold)
	}{
		{"default", func(*losses.Manifold) {}},
		{"settings", func(l *losses.Manifold) { l.LambdaC, l.Alpha, l.Margin = 0.5, 0.6, 0.02 }},
		{"intrinsic-only", func(l *losses.Manifold) { l.LambdaC = 0 }},
		{"dot-sum", func(l *losses.Manifold) {
			l.Distance, l.Reducer = distances.NewDotProductSimilarity(), reducers.NewSum()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := losses.NewManifold(d, k, proxyRng(36))
			if err != nil {
				t.Fatal(err)
			}
			l.MetaClasses = []int{0, 1, 2, 2, 1, 0, 1}
			tc.set(l)
			res, err := l.Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			if res.Loss <= 0 {
				t.Fatalf("loss %v: the test would not exercise the hinges", res.Loss)
			}
			checkGrad(t, l, b, 1e-5, 1e-9)
			checkParamGrads(t, l, b, 1e-5, 1e-9)
		})
	}
	// Random meta classes: every proxy is used, and the draw is
	// reproducible from the seed.
	l, err := losses.NewManifold(d, k, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Rand = proxyRng(37)
	r1, err := l.Compute(b)
	if err != nil {
		t.Fatal(err)
	}
	l.Rand = proxyRng(37)
	r2, err := l.Compute(b)
	if err != nil {
		t.Fatal(err)
	}
	if r1.Loss != r2.Loss {
		t.Errorf("same seed, losses %v and %v", r1.Loss, r2.Loss)
	}
	// Bad input.
	for _, c := range []struct {
		name     string
		set      func(*losses.Manifold)
		b        losses.Batch
		sentinel error
	}{
		{"labels", nil, losses.Batch{Embeddings: emb, Labels: make([]int, n)}, gometric.ErrLabels},
		{"ref", nil, losses.Batch{Embeddings: emb, Ref: emb}, gometric.ErrUnsupported},
		{"tuples", nil, losses.Batch{Embeddings: emb, Tuples: &tuples.Triplets{}}, gometric.ErrUnsupported},
		{"size", nil, losses.Batch{Embeddings: testkit.NormalDense(rng, n, d+1)}, gometric.ErrShape},
		{"meta-range", func(l *losses.Manifold) { l.MetaClasses = []int{0, 1, 2, 3, 0, 0, 0} }, b, gometric.ErrIndex},
		{"meta-count", func(l *losses.Manifold) { l.MetaClasses = []int{0, 1} }, b, gometric.ErrLabels},
		{"too-few-for-random", nil, losses.Batch{Embeddings: testkit.NormalDense(rng, 2, d)}, gometric.ErrShape},
		{"alpha", func(l *losses.Manifold) { l.Alpha = 1 }, b, gometric.ErrSetting},
		{"lambda-inf", func(l *losses.Manifold) { l.LambdaC = math.Inf(1) }, b, gometric.ErrSetting},
		{"lambda-neg", func(l *losses.Manifold) { l.LambdaC = -1 }, b, gometric.ErrSetting},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := losses.NewManifold(d, k, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.set != nil {
				c.set(l)
			}
			_, err = l.Compute(c.b)
			checkErr(t, err, c.sentinel, "losses.Manifold")
		})
	}
}

func TestProxyEdgeCases(t *testing.T) {
	rng := proxyRng(41)
	emb := testkit.NormalDense(rng, 1, 4)
	one := losses.Batch{Embeddings: emb, Labels: []int{1}}
	// One embedding: PML computes normally (no early exit for proxies).
	for _, l := range []losses.Learnable{newProxyAnchor(t, 3, 4, nil), newProxyNCA(t, 3, 4, nil), newSoftTriple(t, 3, 4, 2, nil)} {
		res, err := l.Compute(one)
		if err != nil {
			t.Fatalf("%T: %v", l, err)
		}
		checkFinite(t, res)
		if res.Loss == 0 {
			t.Errorf("%T: zero loss for one embedding", l)
		}
	}
	// ProxyAnchor: classes without embeddings give pos_loss 0 and are not
	// counted in its divisor.
	pa := newProxyAnchor(t, 4, 4, nil)
	two := losses.Batch{Embeddings: testkit.NormalDense(rng, 3, 4), Labels: []int{2, 2, 2}}
	res, err := pa.Compute(two)
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, res)
	// With one class present the pos_loss is that class's only term.
	if _, ok := res.Parts["pos_loss"]; !ok {
		t.Errorf("parts %v lack pos_loss", res.Parts)
	}
	// Margin: no triplet (one class only) is PML's zero loss.
	m := losses.NewMargin()
	m.LearnBeta = true
	res, err = m.Compute(losses.Batch{Embeddings: testkit.NormalDense(rng, 4, 3), Labels: []int{0, 0, 0, 0}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 || res.Parts["margin_loss"] != 0 || res.Parts["beta_reg_loss"] != 0 {
		t.Errorf("no triplets: %v", res.Parts)
	}
	checkFinite(t, res)
	// Margin with every term inactive: divisor 0, loss 0.
	m = losses.NewMargin()
	m.Margin, m.Beta = -5, mat.NewDense(1, 1, []float64{1})
	res, err = m.Compute(losses.Batch{Embeddings: testkit.NormalDense(rng, 6, 3), Labels: []int{0, 0, 1, 1, 2, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != 0 {
		t.Errorf("all inactive: loss %v", res.Loss)
	}
	// Weight regularizer parts are reported.
	pa.WeightRegularizer = regularizers.NewLp()
	res, err = pa.Compute(two)
	if err != nil {
		t.Fatal(err)
	}
	if res.Parts["weight_reg_loss"] <= 0 {
		t.Errorf("weight_reg_loss %v", res.Parts["weight_reg_loss"])
	}
}

func TestProxyBadInput(t *testing.T) {
	rng := proxyRng(51)
	emb := testkit.NormalDense(rng, 6, 4)
	labels := []int{0, 1, 2, 0, 1, 2}
	bad := []int{0, 1, 3, 0, 1, 2}
	ok := losses.Batch{Embeddings: emb, Labels: labels}
	type tc struct {
		name     string
		loss     losses.Loss
		b        losses.Batch
		sentinel error
		comp     string
	}
	var cases []tc
	mk := []struct {
		comp string
		new  func() losses.Loss
	}{
		{"losses.ProxyAnchor", func() losses.Loss { return newProxyAnchor(t, 3, 4, nil) }},
		{"losses.ProxyNCA", func() losses.Loss { return newProxyNCA(t, 3, 4, nil) }},
		{"losses.SoftTriple", func() losses.Loss { return newSoftTriple(t, 3, 4, 2, nil) }},
		{"losses.P2SGrad", func() losses.Loss {
			l, err := losses.NewP2SGrad(4, 3, proxyRng(14))
			if err != nil {
				t.Fatal(err)
			}
			return l
		}},
	}
	for _, m := range mk {
		cases = append(cases,
			tc{m.comp + "/label>=classes", m.new(), losses.Batch{Embeddings: emb, Labels: bad}, gometric.ErrLabels, m.comp},
			tc{m.comp + "/size-mismatch", m.new(), losses.Batch{Embeddings: testkit.NormalDense(rng, 6, 5), Labels: labels}, gometric.ErrShape, m.comp},
			tc{m.comp + "/ref", m.new(), losses.Batch{Embeddings: emb, Labels: labels, Ref: emb, RefLabels: labels}, gometric.ErrUnsupported, m.comp},
			tc{m.comp + "/no-labels", m.new(), losses.Batch{Embeddings: emb}, gometric.ErrLabels, m.comp},
			tc{m.comp + "/label-count", m.new(), losses.Batch{Embeddings: emb, Labels: labels[:4]}, gometric.ErrLabels, m.comp},
		)
	}
	nanEmb := mat.DenseCopyOf(emb)
	nanEmb.Set(2, 1, math.NaN())
	cases = append(cases,
		tc{"nan-embedding", newProxyAnchor(t, 3, 4, nil), losses.Batch{Embeddings: nanEmb, Labels: labels}, gometric.ErrNonFinite, "losses.ProxyAnchor"},
		tc{"nan-margin", newProxyAnchor(t, 3, 4, func(l *losses.ProxyAnchor) { l.Margin = math.NaN() }), ok, gometric.ErrSetting, "losses.ProxyAnchor"},
		tc{"nil-proxies", newProxyAnchor(t, 3, 4, func(l *losses.ProxyAnchor) { l.Proxies = nil }), ok, gometric.ErrSetting, "losses.ProxyAnchor"},
		tc{"nan-proxy", newProxyAnchor(t, 3, 4, func(l *losses.ProxyAnchor) { l.Proxies.Set(0, 0, math.Inf(1)) }), ok, gometric.ErrNonFinite, "losses.ProxyAnchor"},
		tc{"num-classes-vs-proxies", newProxyAnchor(t, 3, 4, func(l *losses.ProxyAnchor) { l.NumClasses = 4 }), ok, gometric.ErrShape, "losses.ProxyAnchor"},
		tc{"nan-reg-weight", newProxyAnchor(t, 3, 4, func(l *losses.ProxyAnchor) {
			l.WeightRegularizer, l.WeightRegWeight = regularizers.NewLp(), math.NaN()
		}), ok, gometric.ErrSetting, "losses.ProxyAnchor"},
		tc{"tuple-out-of-range", newProxyAnchor(t, 3, 4, nil), losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{0}, P: []int{9}, N: []int{1}}}, gometric.ErrIndex, "losses.ProxyAnchor"},
		tc{"nca-nan-scale", newProxyNCA(t, 3, 4, func(l *losses.ProxyNCA) { l.SoftmaxScale = math.Inf(1) }), ok, gometric.ErrSetting, "losses.ProxyNCA"},
		tc{"softtriple-distance", newSoftTriple(t, 3, 4, 2, func(l *losses.SoftTriple) { l.Distance = distances.NewLp() }), ok, gometric.ErrSetting, "losses.SoftTriple"},
		tc{"softtriple-gamma0", newSoftTriple(t, 3, 4, 2, func(l *losses.SoftTriple) { l.Gamma = 0 }), ok, gometric.ErrSetting, "losses.SoftTriple"},
		tc{"softtriple-fc-shape", newSoftTriple(t, 3, 4, 2, func(l *losses.SoftTriple) { l.CentersPerClass = 3 }), ok, gometric.ErrShape, "losses.SoftTriple"},
		tc{"p2sgrad-tuples", mk[3].new(), losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{}}, gometric.ErrUnsupported, "losses.P2SGrad"},
		tc{"margin-nan-beta", func() losses.Loss { l := losses.NewMargin(); l.Beta.Set(0, 0, math.NaN()); return l }(), ok, gometric.ErrNonFinite, "losses.Margin"},
		tc{"margin-nil-beta", func() losses.Loss { l := losses.NewMargin(); l.Beta = nil; return l }(), ok, gometric.ErrSetting, "losses.Margin"},
		tc{"margin-nan-nu", func() losses.Loss { l := losses.NewMargin(); l.Nu = math.NaN(); return l }(), ok, gometric.ErrSetting, "losses.Margin"},
		tc{"margin-label>=classes", func() losses.Loss {
			l, err := losses.NewMarginPerClass(3, 1)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}(), losses.Batch{Embeddings: emb, Labels: []int{0, 3, 2, 0, 3, 2}}, gometric.ErrLabels, "losses.Margin"},
		tc{"margin-no-labels-no-tuples", losses.NewMargin(), losses.Batch{Embeddings: emb}, gometric.ErrLabels, "losses.Margin"},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.loss.Compute(c.b)
			checkErr(t, err, c.sentinel, c.comp)
		})
	}
	for _, f := range []func() error{
		func() error { _, err := losses.NewProxyAnchor(0, 4, nil); return err },
		func() error { _, err := losses.NewProxyNCA(3, -1, nil); return err },
		func() error { _, err := losses.NewSoftTriple(3, 4, 0, nil); return err },
		func() error { _, err := losses.NewP2SGrad(0, 3, nil); return err },
		func() error { _, err := losses.NewMarginPerClass(0, 1); return err },
	} {
		if err := f(); err == nil {
			t.Error("New with a non-positive size: no error")
		}
	}
}

// TestProxyAnchorTrains trains ProxyAnchor's proxies with plain SGD on
// fixed, separable embeddings until every embedding's most similar proxy
// is its own class's.
func TestProxyAnchorTrains(t *testing.T) {
	const c, d, perClass = 4, 8, 6
	rng := proxyRng(61)
	centres := testkit.NormalDense(rng, c, d)
	emb := mat.NewDense(c*perClass, d, nil)
	labels := make([]int, c*perClass)
	for i := range labels {
		labels[i] = i % c
		for j := range d {
			emb.Set(i, j, centres.At(labels[i], j)+0.2*rng.NormFloat64())
		}
	}
	l := newProxyAnchor(t, c, d, nil)
	accuracy := func() float64 {
		sim, err := distances.NewCosineSimilarity().Matrix(emb, l.Proxies)
		if err != nil {
			t.Fatal(err)
		}
		right := 0
		for i, y := range labels {
			best := 0
			for k := range c {
				if sim.At(i, k) > sim.At(i, best) {
					best = k
				}
			}
			if best == y {
				right++
			}
		}
		return float64(right) / float64(len(labels))
	}
	start := accuracy()
	b := losses.Batch{Embeddings: emb, Labels: labels}
	var first, last float64
	for step := range 200 {
		res, err := l.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = res.Loss
		}
		last = res.Loss
		for _, p := range l.Params() {
			var upd mat.Dense
			upd.Scale(-0.05, res.ParamGrads[p.Name])
			p.Value.Add(p.Value, &upd)
		}
	}
	if acc := accuracy(); acc != 1 {
		t.Errorf("accuracy %v after training (start %v); loss %v -> %v", acc, start, first, last)
	}
	if !(last < first) {
		t.Errorf("loss did not decrease: %v -> %v", first, last)
	}
}

func FuzzProxyLosses(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []byte{0, 0, 1, 1}, byte(2), byte(0), []byte{})
	f.Add([]byte{200, 3, 40, 5, 99, 1, 0, 0}, []byte{0, 1}, byte(2), byte(3), []byte{0, 1, 1, 0})
	f.Add([]byte{1, 2, 3, 4, 5, 6}, []byte{}, byte(3), byte(1), []byte{0, 1, 2, 0, 1, 2})
	f.Add([]byte{0, 0, 0, 0}, []byte{3, 3}, byte(1), byte(2), []byte{5, 0, 9})
	f.Fuzz(func(t *testing.T, raw, labelBytes []byte, dim, mode byte, tupleBytes []byte) {
		d := int(dim%4) + 1
		n := min(len(raw)/d, 16)
		emb := &mat.Dense{}
		if n > 0 {
			vals := make([]float64, n*d)
			for i := range vals {
				vals[i] = float64(int(raw[i])-128) / 16
			}
			emb = mat.NewDense(n, d, vals)
		}
		b := losses.Batch{Embeddings: emb}
		if len(labelBytes) > 0 {
			b.Labels = make([]int, len(labelBytes))
			for i, v := range labelBytes {
				b.Labels[i] = int(v%5) - int(mode>>7) // may be negative or ≥ classes
			}
		}
		if len(tupleBytes) >= 3 {
			k := len(tupleBytes) / 3
			tr := &tuples.Triplets{}
			for i := range k {
				tr.A = append(tr.A, int(tupleBytes[3*i]%10))
				tr.P = append(tr.P, int(tupleBytes[3*i+1]%10))
				tr.N = append(tr.N, int(tupleBytes[3*i+2]%10))
			}
			b.Tuples = tr
		}
		if mode&1 != 0 {
			b.Ref, b.RefLabels = emb, b.Labels
		}
		dd := d
		if mode&2 != 0 {
			dd = d + 1 // parameter size mismatch
		}
		pa, _ := losses.NewProxyAnchor(4, dd, proxyRng(1))
		pn, _ := losses.NewProxyNCA(4, dd, proxyRng(2))
		st, _ := losses.NewSoftTriple(4, dd, 2, proxyRng(3))
		p2, _ := losses.NewP2SGrad(dd, 4, proxyRng(4))
		mg, _ := losses.NewMarginPerClass(4, 1)
		mg.LearnBeta = mode&4 != 0
		mg.Nu = 0.1
		if mode&8 != 0 {
			pa.WeightRegularizer = regularizers.NewCenterInvariant()
			st.WeightRegularizer = regularizers.NewLp()
		}
		for _, l := range []losses.Loss{pa, pn, st, p2, mg, losses.NewMargin()} {
			res, err := l.Compute(b)
			if err != nil {
				continue
			}
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
				t.Fatalf("%T: loss %v without error", l, res.Loss)
			}
		}
	})
}
