package losses_test

import (
	"math"
	"math/rand/v2"
	"slices"
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

var (
	_ losses.Learnable = (*losses.LargeMarginSoftmax)(nil)
	_ losses.Learnable = (*losses.ArcFace)(nil)
	_ losses.Learnable = (*losses.CosFace)(nil)
	_ losses.Learnable = (*losses.SphereFace)(nil)
	_ losses.Learnable = (*losses.SubCenterArcFace)(nil)
	_ losses.Learnable = (*losses.NormalizedSoftmax)(nil)
)

// softmaxLogiter is a softmax loss with logits.
type softmaxLogiter interface {
	losses.Learnable
	Logits(*mat.Dense) (*mat.Dense, error)
}

// must panics on a constructor error (test inputs are valid).
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// softmaxCases are the losses of this family under several settings, for
// the finite-difference tests. Scales are moderate so that the central
// differences stay accurate (at Scale 64 the third derivative is large).
func softmaxCases() []struct {
	name string
	loss losses.Learnable
} {
	rng := rand.New(rand.NewPCG(7, 8))
	const c, d = 4, 5
	lms := must(losses.NewLargeMarginSoftmax(c, d, rng))
	lms3 := must(losses.NewLargeMarginSoftmax(c, d, rng))
	lms3.Margin, lms3.Scale = 3, 2
	lms1 := must(losses.NewLargeMarginSoftmax(c, d, rng))
	lms1.Margin = 1
	lmsReg := must(losses.NewLargeMarginSoftmax(c, d, rng))
	lmsReg.WeightRegularizer, lmsReg.WeightRegWeight = regularizers.NewRegularFace(), 0.5
	lmsReg.Distance = &distances.CosineSimilarity{P: 2, Power: 1}
	sphere := must(losses.NewSphereFace(c, d, rng))
	sphere2 := must(losses.NewSphereFace(c, d, rng))
	sphere2.Margin, sphere2.Scale = 2, 1.5
	arc := must(losses.NewArcFace(c, d, rng))
	arc.Scale = 8
	arcWide := must(losses.NewArcFace(c, d, rng))
	arcWide.Margin, arcWide.Scale = 80, 4 // many targets beyond π − m
	arcReg := must(losses.NewArcFace(c, d, rng))
	arcReg.Scale, arcReg.WeightRegularizer, arcReg.WeightRegWeight = 6, regularizers.NewRegularFace(), 0.5
	arcReg.EmbeddingRegularizer, arcReg.EmbeddingRegWeight = regularizers.NewLp(), 0.1
	cos := must(losses.NewCosFace(c, d, rng))
	cos.Scale = 8
	cosSum := must(losses.NewCosFace(c, d, rng))
	cosSum.Margin, cosSum.Scale, cosSum.Reducer = 0.2, 5, reducers.NewSum()
	cosReg := must(losses.NewCosFace(c, d, rng))
	cosReg.Scale, cosReg.WeightRegularizer = 4, regularizers.NewLp()
	ns := must(losses.NewNormalizedSoftmax(c, d, rng))
	ns.Temperature = 0.2
	nsLp := must(losses.NewNormalizedSoftmax(c, d, rng))
	nsLp.Temperature, nsLp.Distance = 0.5, distances.NewLp()
	nsDot := must(losses.NewNormalizedSoftmax(c, d, rng))
	nsDot.Distance = &distances.DotProductSimilarity{P: 3, Power: 1}
	nsDot.Temperature = 2
	nsReg := must(losses.NewNormalizedSoftmax(c, d, rng))
	nsReg.Temperature, nsReg.WeightRegularizer, nsReg.WeightRegWeight = 0.3, regularizers.NewRegularFace(), 2
	sub := must(losses.NewSubCenterArcFace(c, d, 3, rng))
	sub.Scale = 8
	sub2 := must(losses.NewSubCenterArcFace(c, d, 2, rng))
	sub2.Margin, sub2.Scale = 20, 5
	sub2.WeightRegularizer = regularizers.NewRegularFace()
	return []struct {
		name string
		loss losses.Learnable
	}{
		{"LargeMarginSoftmax", lms},
		{"LargeMarginSoftmax/m3", lms3},
		{"LargeMarginSoftmax/m1", lms1},
		{"LargeMarginSoftmax/weightreg", lmsReg},
		{"SphereFace", sphere},
		{"SphereFace/m2", sphere2},
		{"ArcFace", arc},
		{"ArcFace/wide", arcWide},
		{"ArcFace/regularized", arcReg},
		{"CosFace", cos},
		{"CosFace/sum", cosSum},
		{"CosFace/weightreg", cosReg},
		{"NormalizedSoftmax", ns},
		{"NormalizedSoftmax/lp", nsLp},
		{"NormalizedSoftmax/dotP3", nsDot},
		{"NormalizedSoftmax/weightreg", nsReg},
		{"SubCenterArcFace", sub},
		{"SubCenterArcFace/2", sub2},
	}
}

// TestSoftmaxFiniteDifferences checks the gradients with respect to the
// embeddings and to W against central differences, without tuples and
// with mined triplets and pairs (which weight the elements). The losses
// are smooth except at ArcFace's branch θ = π − m and where two
// sub-centres tie; random inputs stay away from both.
func TestSoftmaxFiniteDifferences(t *testing.T) {
	for _, tc := range softmaxCases() {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			emb := testkit.NormalDense(rng, 9, 5)
			labels := randLabels(rng, 9, 4)
			trip := &tuples.Triplets{A: []int{0, 1, 2, 0}, P: []int{3, 4, 5, 6}, N: []int{5, 2, 1, 7}}
			pairs := &tuples.Pairs{A1: []int{0, 1, 2}, P: []int{3, 4, 5}, A2: []int{0, 3, 5, 6}, N: []int{1, 2, 7, 4}}
			for _, b := range []losses.Batch{
				{Embeddings: emb, Labels: labels},
				{Embeddings: emb, Labels: labels, Tuples: trip},
				{Embeddings: emb, Labels: labels, Tuples: pairs},
			} {
				checkGrad(t, tc.loss, b, 1e-5, 1e-7)
				checkParamGrads(t, tc.loss, b, 1e-5, 1e-7)
			}
		})
	}
}

// TestSoftmaxDefaults checks PML's defaults and shapes.
func TestSoftmaxDefaults(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	lms := must(losses.NewLargeMarginSoftmax(7, 3, rng))
	arc := must(losses.NewArcFace(7, 3, rng))
	cos := must(losses.NewCosFace(7, 3, rng))
	sph := must(losses.NewSphereFace(7, 3, rng))
	ns := must(losses.NewNormalizedSoftmax(7, 3, rng))
	sub := must(losses.NewSubCenterArcFace(7, 3, 3, rng))
	tests := []struct {
		name       string
		got, want  []float64
		params     []*losses.Param
		rows, cols int
	}{
		{"LargeMarginSoftmax", []float64{float64(lms.Margin), lms.Scale, lms.WeightRegWeight}, []float64{4, 1, 1}, lms.Params(), 3, 7},
		{"ArcFace", []float64{arc.Margin, arc.Scale, arc.EmbeddingRegWeight}, []float64{28.6, 64, 1}, arc.Params(), 3, 7},
		{"CosFace", []float64{cos.Margin, cos.Scale}, []float64{0.35, 64}, cos.Params(), 3, 7},
		{"SphereFace", []float64{float64(sph.Margin), sph.Scale}, []float64{4, 1}, sph.Params(), 3, 7},
		{"NormalizedSoftmax", []float64{ns.Temperature}, []float64{0.05}, ns.Params(), 3, 7},
		{"SubCenterArcFace", []float64{sub.Margin, sub.Scale, float64(sub.SubCenters)}, []float64{28.6, 64, 3}, sub.Params(), 3, 21},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !slices.Equal(tc.got, tc.want) {
				t.Errorf("settings %v, want %v", tc.got, tc.want)
			}
			if len(tc.params) != 1 || tc.params[0].Name != "W" {
				t.Fatalf("params %v, want one named W", tc.params)
			}
			r, c := tc.params[0].Value.Dims()
			if r != tc.rows || c != tc.cols {
				t.Errorf("W is %d×%d, want %d×%d", r, c, tc.rows, tc.cols)
			}
			// Standard normal init: not all equal, finite.
			raw := tc.params[0].Value.RawMatrix().Data
			if raw[0] == raw[1] || math.IsNaN(raw[0]) {
				t.Errorf("W does not look randomly initialised: %v", raw[:2])
			}
		})
	}
	// Same seed, same weights.
	a := must(losses.NewArcFace(4, 3, rand.New(rand.NewPCG(9, 9))))
	b := must(losses.NewArcFace(4, 3, rand.New(rand.NewPCG(9, 9))))
	if !mat.Equal(a.W, b.W) {
		t.Error("the same seed gave different weights")
	}
}

// TestSoftmaxLogits checks Logits against direct formulas.
func TestSoftmaxLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	emb := testkit.NormalDense(rng, 6, 4)
	dot := func(w *mat.Dense) *mat.Dense {
		var m mat.Dense
		m.Mul(emb, w)
		return &m
	}
	norm := func(x []float64) float64 { return math.Sqrt(floatsDot(x, x)) }
	colNorm := func(w *mat.Dense, j int) float64 { return norm(mat.Col(nil, j, w)) }
	lms := must(losses.NewLargeMarginSoftmax(3, 4, rng))
	lms.Scale = 2.5
	arc := must(losses.NewArcFace(3, 4, rng))
	cos := must(losses.NewCosFace(3, 4, rng))
	cos.Scale = 10
	sph := must(losses.NewSphereFace(3, 4, rng))
	sph.Scale = 3
	ns := must(losses.NewNormalizedSoftmax(3, 4, rng))
	sub := must(losses.NewSubCenterArcFace(3, 4, 2, rng))
	cosine := func(w *mat.Dense, i, j int) float64 {
		return dot(w).At(i, j) / (norm(emb.RawRowView(i)) * colNorm(w, j))
	}
	tests := []struct {
		name string
		l    softmaxLogiter
		want func(i, j int) float64
	}{
		// ‖w‖‖x‖cos is the plain dot product.
		{"LargeMarginSoftmax", lms, func(i, j int) float64 { return 2.5 * dot(lms.W).At(i, j) }},
		{"ArcFace", arc, func(i, j int) float64 { return 64 * cosine(arc.W, i, j) }},
		{"CosFace", cos, func(i, j int) float64 { return 10 * cosine(cos.W, i, j) }},
		{"SphereFace", sph, func(i, j int) float64 { return 3 * norm(emb.RawRowView(i)) * cosine(sph.W, i, j) }},
		{"NormalizedSoftmax", ns, func(i, j int) float64 { return cosine(ns.W, i, j) / 0.05 }},
		{"SubCenterArcFace", sub, func(i, j int) float64 {
			return 64 * math.Max(cosine(sub.W, i, 2*j), cosine(sub.W, i, 2*j+1))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.l.Logits(emb)
			if err != nil {
				t.Fatal(err)
			}
			r, c := got.Dims()
			if r != 6 || c != 3 {
				t.Fatalf("logits %d×%d, want 6×3", r, c)
			}
			want := mat.NewDense(6, 3, nil)
			for i := 0; i < 6; i++ {
				for j := 0; j < 3; j++ {
					want.Set(i, j, tc.want(i, j))
				}
			}
			if err := fdiff.Compare(got, want, 1e-12, 1e-12); err != nil {
				t.Error(err)
			}
		})
	}
}

func floatsDot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// TestSoftmaxZeroMarginIsCrossEntropy: with no margin, CosFace, ArcFace
// and NormalizedSoftmax are the mean cross entropy of their logits, and
// LargeMarginSoftmax with Margin 1 too (cos(1·θ) = cos θ).
func TestSoftmaxZeroMarginIsCrossEntropy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	emb := testkit.NormalDense(rng, 10, 6)
	labels := randLabels(rng, 10, 4)
	cos := must(losses.NewCosFace(4, 6, rng))
	cos.Margin, cos.Scale = 0, 3
	arc := must(losses.NewArcFace(4, 6, rng))
	arc.Margin, arc.Scale = 0, 3
	lms := must(losses.NewLargeMarginSoftmax(4, 6, rng))
	lms.Margin = 1
	ns := must(losses.NewNormalizedSoftmax(4, 6, rng))
	for _, tc := range []struct {
		name string
		l    softmaxLogiter
	}{{"CosFace", cos}, {"ArcFace", arc}, {"LargeMarginSoftmax", lms}, {"NormalizedSoftmax", ns}} {
		t.Run(tc.name, func(t *testing.T) {
			lg, err := tc.l.Logits(emb)
			if err != nil {
				t.Fatal(err)
			}
			var want float64
			for i, y := range labels {
				row := lg.RawRowView(i)
				mx := slices.Max(row)
				var s float64
				for _, v := range row {
					s += math.Exp(v - mx)
				}
				want += mx + math.Log(s) - row[y]
			}
			want /= float64(len(labels))
			res, err := tc.l.Compute(losses.Batch{Embeddings: emb, Labels: labels})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Loss-want) > 1e-12*math.Abs(want)+1e-12 {
				t.Errorf("loss %v, want %v", res.Loss, want)
			}
		})
	}
}

// TestSoftmaxMarginRaisesLoss: a positive margin makes the target harder,
// so the loss grows.
func TestSoftmaxMarginRaisesLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	emb := testkit.NormalDense(rng, 12, 5)
	labels := randLabels(rng, 12, 3)
	arc := must(losses.NewArcFace(3, 5, rng))
	arc.Scale = 4
	b := losses.Batch{Embeddings: emb, Labels: labels}
	prev := math.Inf(-1)
	for _, m := range []float64{0, 10, 20, 30} {
		arc.Margin = m
		res, err := arc.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		if !(res.Loss > prev) {
			t.Errorf("margin %v: loss %v not above %v", m, res.Loss, prev)
		}
		prev = res.Loss
	}
}

// TestSoftmaxEdgeCases: a single embedding, a single class, miner weights
// that drop elements, the DoNothing reducer, and an embedding parallel to
// a class weight (ArcFace's infinite PML gradient becomes an error).
func TestSoftmaxEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, tc := range softmaxCases() {
		t.Run(tc.name+"/N=1", func(t *testing.T) {
			res, err := tc.loss.Compute(losses.Batch{Embeddings: testkit.NormalDense(rng, 1, 5), Labels: []int{2}})
			if err != nil {
				t.Fatal(err)
			}
			checkFinite(t, res)
		})
	}
	t.Run("one class", func(t *testing.T) {
		l := must(losses.NewCosFace(1, 3, rng))
		res, err := l.Compute(losses.Batch{Embeddings: testkit.NormalDense(rng, 4, 3), Labels: []int{0, 0, 0, 0}})
		if err != nil {
			t.Fatal(err)
		}
		// One logit per row: cross entropy 0, gradient 0.
		if res.Loss != 0 || mat.Norm(res.Grad, 2) != 0 || mat.Norm(res.ParamGrads["W"], 2) != 0 {
			t.Errorf("loss %v, |grad| %v, want 0", res.Loss, mat.Norm(res.Grad, 2))
		}
	})
	t.Run("miner weights", func(t *testing.T) {
		l := must(losses.NewArcFace(3, 4, rng))
		l.Scale = 2
		emb := testkit.NormalDense(rng, 6, 4)
		labels := []int{0, 1, 2, 0, 1, 2}
		// Element 5 never occurs: weight 0, no gradient; 0 occurs twice.
		trip := &tuples.Triplets{A: []int{0, 0}, P: []int{3, 3}, N: []int{1, 2}}
		res, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels, Tuples: trip})
		if err != nil {
			t.Fatal(err)
		}
		if n := mat.Norm(res.Grad.RowView(5), 2); n != 0 {
			t.Errorf("gradient of an unmined element has norm %v", n)
		}
		rec := *l
		rec.Reducer = reducers.NewDoNothing()
		out, err := rec.Compute(losses.Batch{Embeddings: emb, Labels: labels, Tuples: trip})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Records) != 1 || out.Records[0].Name != "loss" || out.Records[0].Values[5] != 0 {
			t.Fatalf("records %+v", out.Records)
		}
		full, err := rec.Compute(losses.Batch{Embeddings: emb, Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		// Weights: counts {0:2, 1:1, 2:1, 3:2} / 2.
		for i, w := range []float64{1, 0.5, 0.5, 1, 0, 0} {
			if got, want := out.Records[0].Values[i], w*full.Records[0].Values[i]; math.Abs(got-want) > 1e-15 {
				t.Errorf("element %d: %v, want %v", i, got, want)
			}
		}
	})
	t.Run("parallel", func(t *testing.T) {
		l := must(losses.NewArcFace(2, 2, rng))
		l.W, l.Scale = mat.NewDense(2, 2, []float64{1, 0, 0, 1}), 1
		_, err := l.Compute(losses.Batch{Embeddings: mat.NewDense(1, 2, []float64{3, 0}), Labels: []int{0}})
		checkErr(t, err, gometric.ErrNonFinite, "losses.ArcFace")
	})
	t.Run("sub-losses", func(t *testing.T) {
		l := must(losses.NewNormalizedSoftmax(3, 4, rng))
		l.WeightRegularizer, l.WeightRegWeight = regularizers.NewRegularFace(), 0.25
		res, err := l.Compute(losses.Batch{Embeddings: testkit.NormalDense(rng, 5, 4), Labels: []int{0, 1, 2, 0, 1}})
		if err != nil {
			t.Fatal(err)
		}
		v, _, err := regularizers.NewRegularFace().Compute(mat.DenseCopyOf(l.W.T()))
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Parts["weight_reg_loss"]; math.Abs(got-0.25*v) > 1e-15 {
			t.Errorf("weight_reg_loss %v, want %v", got, 0.25*v)
		}
		if math.Abs(res.Parts["loss"]+res.Parts["weight_reg_loss"]-res.Loss) > 1e-12 {
			t.Errorf("parts %v do not add up to %v", res.Parts, res.Loss)
		}
	})
}

// TestSoftmaxBadInput: invalid inputs and settings give errors naming the
// loss and wrapping the right sentinel.
func TestSoftmaxBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	emb := testkit.NormalDense(rng, 4, 3)
	labels := []int{0, 1, 2, 0}
	nan := testkit.NormalDense(rng, 4, 3)
	nan.Set(1, 1, math.NaN())
	type mk func() losses.Learnable
	makers := map[string]mk{
		"losses.LargeMarginSoftmax": func() losses.Learnable { return must(losses.NewLargeMarginSoftmax(3, 3, rng)) },
		"losses.ArcFace":            func() losses.Learnable { return must(losses.NewArcFace(3, 3, rng)) },
		"losses.CosFace":            func() losses.Learnable { return must(losses.NewCosFace(3, 3, rng)) },
		"losses.SphereFace":         func() losses.Learnable { return must(losses.NewSphereFace(3, 3, rng)) },
		"losses.NormalizedSoftmax":  func() losses.Learnable { return must(losses.NewNormalizedSoftmax(3, 3, rng)) },
		"losses.SubCenterArcFace":   func() losses.Learnable { return must(losses.NewSubCenterArcFace(3, 3, 2, rng)) },
	}
	for name, m := range makers {
		tests := []struct {
			what     string
			b        losses.Batch
			change   func(l losses.Learnable)
			sentinel error
		}{
			{"label >= classes", losses.Batch{Embeddings: emb, Labels: []int{0, 1, 3, 0}}, nil, gometric.ErrLabels},
			{"negative label", losses.Batch{Embeddings: emb, Labels: []int{0, -1, 2, 0}}, nil, gometric.ErrLabels},
			{"no labels", losses.Batch{Embeddings: emb}, nil, gometric.ErrLabels},
			{"label count", losses.Batch{Embeddings: emb, Labels: []int{0, 1}}, nil, gometric.ErrLabels},
			{"embedding size", losses.Batch{Embeddings: testkit.NormalDense(rng, 4, 5), Labels: labels}, nil, gometric.ErrShape},
			{"NaN embeddings", losses.Batch{Embeddings: nan, Labels: labels}, nil, gometric.ErrNonFinite},
			{"ref", losses.Batch{Embeddings: emb, Labels: labels, Ref: emb, RefLabels: labels}, nil, gometric.ErrUnsupported},
			{"tuple index", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: []int{9}, P: []int{0}}}, nil, gometric.ErrIndex},
			{"NaN W", losses.Batch{Embeddings: emb, Labels: labels}, func(l losses.Learnable) { l.Params()[0].Value.Set(0, 0, math.NaN()) }, gometric.ErrNonFinite},
			{"NaN weight reg weight", losses.Batch{Embeddings: emb, Labels: labels}, func(l losses.Learnable) {
				setWeightReg(l, regularizers.NewLp(), math.NaN())
			}, gometric.ErrSetting},
			{"setting", losses.Batch{Embeddings: emb, Labels: labels}, breakSetting, gometric.ErrSetting},
		}
		for _, tc := range tests {
			t.Run(name+"/"+tc.what, func(t *testing.T) {
				l := m()
				if tc.change != nil {
					tc.change(l)
				}
				_, err := l.Compute(tc.b)
				checkErr(t, err, tc.sentinel, name)
			})
		}
		t.Run(name+"/logits size", func(t *testing.T) {
			_, err := m().(softmaxLogiter).Logits(testkit.NormalDense(rng, 2, 4))
			checkErr(t, err, gometric.ErrShape, name)
		})
	}
	for _, tc := range []struct {
		name string
		l    losses.Loss
	}{
		{"losses.ArcFace", with(must(losses.NewArcFace(3, 3, rng)), func(l *losses.ArcFace) { l.Distance, l.W = distances.NewLp(), mat.NewDense(3, 3, nil) })},
		{"losses.LargeMarginSoftmax", with(must(losses.NewLargeMarginSoftmax(3, 3, rng)), func(l *losses.LargeMarginSoftmax) { l.Distance = distances.NewDotProductSimilarity() })},
	} {
		t.Run(tc.name+"/distance", func(t *testing.T) {
			_, err := tc.l.Compute(losses.Batch{Embeddings: emb, Labels: labels})
			checkErr(t, err, gometric.ErrSetting, tc.name)
		})
	}
	t.Run("nil W", func(t *testing.T) {
		l := with(must(losses.NewCosFace(3, 3, rng)), func(l *losses.CosFace) { l.W, l.Scale = nil, 1 })
		_, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels})
		checkErr(t, err, gometric.ErrShape, "losses.CosFace")
	})
	t.Run("sub-centres", func(t *testing.T) {
		l := must(losses.NewSubCenterArcFace(3, 3, 2, rng))
		l.SubCenters = 4
		_, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels})
		checkErr(t, err, gometric.ErrSetting, "losses.SubCenterArcFace")
	})
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"losses.ArcFace", second(losses.NewArcFace(0, 3, nil))},
		{"losses.CosFace", second(losses.NewCosFace(3, 0, nil))},
		{"losses.SphereFace", second(losses.NewSphereFace(-1, 3, nil))},
		{"losses.LargeMarginSoftmax", second(losses.NewLargeMarginSoftmax(0, 0, nil))},
		{"losses.NormalizedSoftmax", second(losses.NewNormalizedSoftmax(0, 3, nil))},
		{"losses.SubCenterArcFace", second(losses.NewSubCenterArcFace(3, 3, 0, nil))},
	} {
		t.Run(tc.name+"/constructor", func(t *testing.T) { checkErr(t, tc.err, gometric.ErrShape, tc.name) })
	}
}

func second[T any](_ T, err error) error { return err }

// setWeightReg sets the weight regularizer of any loss of the family.
func setWeightReg(l losses.Learnable, r regularizers.Regularizer, w float64) {
	var wr *losses.WeightReg
	switch v := l.(type) {
	case *losses.LargeMarginSoftmax:
		wr = &v.WeightReg
	case *losses.ArcFace:
		wr = &v.WeightReg
	case *losses.CosFace:
		wr = &v.WeightReg
	case *losses.SphereFace:
		wr = &v.WeightReg
	case *losses.NormalizedSoftmax:
		wr = &v.WeightReg
	case *losses.SubCenterArcFace:
		wr = &v.WeightReg
	}
	wr.WeightRegularizer, wr.WeightRegWeight = r, w
}

// breakSetting sets an invalid value of the loss's own setting.
func breakSetting(l losses.Learnable) {
	switch v := l.(type) {
	case *losses.LargeMarginSoftmax:
		v.Margin = 0
	case *losses.ArcFace:
		v.Margin = math.Inf(1)
	case *losses.CosFace:
		v.Scale = math.NaN()
	case *losses.SphereFace:
		v.Margin = -2
	case *losses.NormalizedSoftmax:
		v.Temperature = 0
	case *losses.SubCenterArcFace:
		v.Scale = math.Inf(-1)
	}
}

// TestSubCenterArcFaceOutliers checks Outliers on a hand-built case: in
// 2-D, class 0 has sub-centres at 0° and 90°, class 1 at 180° and 270°.
func TestSubCenterArcFaceOutliers(t *testing.T) {
	l := must(losses.NewSubCenterArcFace(3, 2, 2, nil))
	rad := func(deg float64) (float64, float64) {
		return math.Cos(deg * math.Pi / 180), math.Sin(deg * math.Pi / 180)
	}
	cols := []float64{0, 90, 180, 270, 45, 135} // class 2 is absent
	for j, deg := range cols {
		x, y := rad(deg)
		l.W.Set(0, j, 2*x) // norms do not matter
		l.W.Set(1, j, 2*y)
	}
	angles := []float64{5, 185, -10, 275, 80, 265, 100}
	labels := []int{0, 1, 0, 1, 0, 1, 0}
	emb := mat.NewDense(len(angles), 2, nil)
	for i, deg := range angles {
		x, y := rad(deg)
		emb.Set(i, 0, x)
		emb.Set(i, 1, y)
	}
	// Class 0: 5°, −10° → 0°; 80°, 100° → 90°; tie 2:2 → first (0°).
	// Outliers at 75°: 80° and 100°. Class 1: 275°, 265° → 270° (2 vs 1);
	// 185° is 85° away.
	out, dom, err := l.Outliers(emb, labels, 75)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{4, 6, 1}; !slices.Equal(out, want) {
		t.Errorf("outliers %v, want %v", out, want)
	}
	want := mat.NewDense(2, 3, []float64{2, l.W.At(0, 3), 0, 0, l.W.At(1, 3), 0})
	if !mat.EqualApprox(dom, want, 1e-15) {
		t.Errorf("dominant centres %v, want %v", mat.Formatted(dom), mat.Formatted(want))
	}
	out, _, err = l.Outliers(emb, labels, 89)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{6}; !slices.Equal(out, want) {
		t.Errorf("outliers at 89°: %v, want %v", out, want)
	}
	_, _, err = l.Outliers(emb, []int{0, 1, 0, 1, 0, 1, 3}, 75)
	checkErr(t, err, gometric.ErrLabels, "losses.SubCenterArcFace")
	_, _, err = l.Outliers(emb, labels, math.NaN())
	checkErr(t, err, gometric.ErrSetting, "losses.SubCenterArcFace")
}

// TestArcFaceTrainsToFullAccuracy trains an ArcFace head (W only) on fixed,
// linearly separable embeddings with plain SGD over Params and checks that
// the argmax of its logits then classifies every embedding correctly.
func TestArcFaceTrainsToFullAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const classes, d, n = 5, 8, 60
	centres := testkit.NormalDense(rng, classes, d)
	emb := mat.NewDense(n, d, nil)
	labels := make([]int, n)
	for i := 0; i < n; i++ {
		labels[i] = i % classes
		for j := 0; j < d; j++ {
			emb.Set(i, j, centres.At(labels[i], j)+0.15*rng.NormFloat64())
		}
	}
	l := must(losses.NewArcFace(classes, d, rng))
	accuracy := func() float64 {
		lg, err := l.Logits(emb)
		if err != nil {
			t.Fatal(err)
		}
		right := 0
		for i := 0; i < n; i++ {
			row := lg.RawRowView(i)
			if slices.Index(row, slices.Max(row)) == labels[i] {
				right++
			}
		}
		return float64(right) / n
	}
	before := accuracy()
	b := losses.Batch{Embeddings: emb, Labels: labels}
	var first, last float64
	for step := 0; step < 300; step++ {
		res, err := l.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = res.Loss
		}
		last = res.Loss
		for _, p := range l.Params() {
			p.Value.Apply(func(i, j int, v float64) float64 { return v - 0.05*res.ParamGrads[p.Name].At(i, j) }, p.Value)
		}
	}
	if acc := accuracy(); acc != 1 {
		t.Errorf("accuracy %v after training (before %v), loss %v → %v", acc, before, first, last)
	}
	if !(last < first) {
		t.Errorf("loss did not fall: %v → %v", first, last)
	}
}

// FuzzSoftmaxLosses feeds arbitrary embeddings, labels and settings to
// every loss of the family and to their Logits: errors are fine, panics
// and non-finite results are not.
func FuzzSoftmaxLosses(f *testing.F) {
	f.Add(uint8(0), uint8(3), uint8(2), 28.6, 64.0, []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	f.Add(uint8(1), uint8(1), uint8(1), 0.0, 1.0, []byte{0})
	f.Add(uint8(5), uint8(4), uint8(3), 90.0, -3.0, []byte{255, 0, 128, 7, 7, 7, 9})
	f.Add(uint8(2), uint8(2), uint8(4), math.NaN(), 1e308, []byte{3, 3, 3})
	f.Fuzz(func(t *testing.T, kind, n, d uint8, margin, scale float64, data []byte) {
		rows, cols := int(n%6), int(d%5)+1
		emb := mat.NewDense(max(rows, 1), cols, nil)
		raw := emb.RawMatrix().Data
		labels := make([]int, rows)
		for i := range raw {
			if i < len(data) {
				raw[i] = float64(int(data[i])-128) / 16
			}
		}
		for i := range labels {
			if i < len(data) {
				labels[i] = int(data[len(data)-1-i]%4) - 0
			}
		}
		if rows == 0 {
			labels = nil
		}
		rng := rand.New(rand.NewPCG(1, 1))
		var l softmaxLogiter
		switch kind % 6 {
		case 0:
			v := must(losses.NewLargeMarginSoftmax(3, 4, rng))
			v.Margin, v.Scale = int(math.Mod(math.Abs(margin), 8)), scale
			l = v
		case 1:
			v := must(losses.NewArcFace(3, 4, rng))
			v.Margin, v.Scale = margin, scale
			l = v
		case 2:
			v := must(losses.NewCosFace(3, 4, rng))
			v.Margin, v.Scale = margin, scale
			l = v
		case 3:
			v := must(losses.NewSphereFace(3, 4, rng))
			v.Margin, v.Scale = int(math.Mod(math.Abs(margin), 8)), scale
			l = v
		case 4:
			v := must(losses.NewNormalizedSoftmax(3, 4, rng))
			v.Temperature = margin
			l = v
		default:
			v := must(losses.NewSubCenterArcFace(3, 4, 2, rng))
			v.Margin, v.Scale = margin, scale
			l = v
		}
		if res, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels}); err == nil {
			checkFinite(t, res)
		}
		if lg, err := l.Logits(emb); err == nil {
			for _, v := range lg.RawMatrix().Data {
				if math.IsNaN(v) {
					t.Fatalf("NaN logit")
				}
			}
		}
	})
}
