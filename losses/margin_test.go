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

// marginFresh makes DynamicSoftMargin a pure function of the batch for the
// finite-difference tests: every Compute builds a new loss, optionally
// warms its histogram with a fixed batch first, and then computes.
type marginFresh struct {
	mk   func() *losses.DynamicSoftMargin
	warm *losses.Batch
}

func (f marginFresh) Compute(b losses.Batch) (losses.Result, error) {
	l := f.mk()
	if f.warm != nil {
		if _, err := l.Compute(*f.warm); err != nil {
			return losses.Result{}, err
		}
	}
	return l.Compute(b)
}

func TestMarginFiniteDifferences(t *testing.T) {
	warmRng := rand.New(rand.NewPCG(77, 78))
	warm := losses.Batch{Embeddings: testkit.NormalDense(warmRng, 10, 5), Labels: randLabels(warmRng, 10, 3)}
	dsm := func(set func(l *losses.DynamicSoftMargin)) func() *losses.DynamicSoftMargin {
		return func() *losses.DynamicSoftMargin {
			l := losses.NewDynamicSoftMargin()
			l.MinVal = -2.5 // keeps every value inside PML's range
			set(l)
			return l
		}
	}
	tcm := func(set func(l *losses.ThresholdConsistentMargin)) *losses.ThresholdConsistentMargin {
		l := losses.NewThresholdConsistentMargin()
		set(l)
		return l
	}
	tests := []struct {
		name    string
		loss    losses.Loss
		noLabel bool // also check the label-free path (DynamicSoftMargin)
	}{
		{"DynamicSoftMargin", marginFresh{mk: dsm(func(*losses.DynamicSoftMargin) {})}, true},
		{"DynamicSoftMargin/bins", marginFresh{mk: dsm(func(l *losses.DynamicSoftMargin) { l.MinVal, l.NumBins = -3, 23 })}, true},
		{"DynamicSoftMargin/warm", marginFresh{mk: dsm(func(l *losses.DynamicSoftMargin) { l.Momentum = 0.3 }), warm: &warm}, true},
		{"DynamicSoftMargin/warm-default-momentum", marginFresh{mk: dsm(func(*losses.DynamicSoftMargin) {}), warm: &warm}, false},
		{"DynamicSoftMargin/regularized-sum", marginFresh{mk: dsm(func(l *losses.DynamicSoftMargin) {
			l.Reducer, l.EmbeddingRegularizer, l.EmbeddingRegWeight = reducers.NewSum(), regularizers.NewLp(), 0.3
		})}, false},
		{"ThresholdConsistentMargin", losses.NewThresholdConsistentMargin(), false},
		{"ThresholdConsistentMargin/lambdas", tcm(func(l *losses.ThresholdConsistentMargin) {
			l.LambdaPlus, l.LambdaMinus, l.MarginPlus, l.MarginMinus = 0.5, 2, 0.7, 0.3
		}), false},
		{"ThresholdConsistentMargin/low", tcm(func(l *losses.ThresholdConsistentMargin) { l.MarginPlus, l.MarginMinus = 0.2, -0.1 }), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			emb := testkit.NormalDense(rng, 8, 5)
			labels := randLabels(rng, 8, 3)
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels}, 1e-5, 1e-7)
			ref := testkit.NormalDense(rng, 6, 5)
			refLabels := randLabels(rng, 6, 3)
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels}, 1e-5, 1e-7)
			trip := &tuples.Triplets{A: []int{0, 1, 2, 0, 7}, P: []int{3, 4, 5, 6, 1}, N: []int{5, 2, 1, 7, 0}}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Tuples: trip}, 1e-5, 1e-7)
			pairs := &tuples.Pairs{A1: []int{0, 1, 2, 0}, P: []int{3, 4, 5, 6}, A2: []int{0, 3, 5, 6, 1}, N: []int{1, 2, 7, 4, 6}}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Tuples: pairs}, 1e-5, 1e-7)
			// Mined tuples against a reference set without ref labels.
			refTrip := &tuples.Triplets{A: []int{0, 1, 2, 7}, P: []int{3, 4, 5, 0}, N: []int{5, 2, 1, 3}}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Ref: ref, Tuples: refTrip}, 1e-5, 1e-7)
			if tc.noLabel {
				checkGrad(t, tc.loss, losses.Batch{Embeddings: emb}, 1e-5, 1e-7)
				checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Ref: ref}, 1e-5, 1e-7)                            // r > c
				checkGrad(t, tc.loss, losses.Batch{Embeddings: ref, Ref: testkit.NormalDense(rng, 9, 5)}, 1e-5, 1e-7) // r < c
			}
		})
	}
}

// TestDynamicSoftMarginHistogram follows the histogram over two calls on
// inputs whose distances are known in closed form (unit vectors in the
// plane, no labels), against PML's update rule computed by hand.
func TestDynamicSoftMarginHistogram(t *testing.T) {
	const minVal, delta, mom = -2.0, 0.4, 0.01
	l := losses.NewDynamicSoftMargin()
	if h := l.Histogram(); len(h) != 10 || mat.Norm(mat.NewVecDense(10, h), 1) != 0 {
		t.Fatalf("fresh histogram %v, want 10 zeros", h)
	}
	q := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	bin := func(v float64) (int, float64) {
		x := (v - minVal) / delta
		return int(math.Floor(x)), x - math.Floor(x)
	}
	check := func(call string, got, want []float64) {
		t.Helper()
		if err := fdiff.CompareSlices(got, want, 1e-12, 1e-14); err != nil {
			t.Errorf("%s: histogram %v, want %v: %v", call, got, want, err)
		}
	}
	cdfLoss := func(h []float64, vs ...float64) float64 {
		s := 0.0
		for _, v := range vs {
			k, _ := bin(v)
			c := 0.0
			for _, x := range h[:k+1] {
				c += x
			}
			s += c * v
		}
		return s / float64(len(vs))
	}

	// Call 1: ref = query, so the matrix is [[0, √2], [√2, 0]]: d_pos = 0,
	// d_neg = √2, and both values are −√2. Momentum is 1 (empty histogram).
	v1 := -math.Sqrt2
	k1, a1 := bin(v1)
	want1 := make([]float64, 10)
	want1[k1] += 2 * (1 - a1)
	want1[k1+1] += 2 * a1
	for i := range want1 {
		want1[i] /= 2
	}
	res, err := l.Compute(losses.Batch{Embeddings: q, Ref: mat.DenseCopyOf(q)})
	if err != nil {
		t.Fatal(err)
	}
	check("call 1", l.Histogram(), want1)
	if w := cdfLoss(want1, v1, v1); math.Abs(res.Loss-w) > 1e-12 {
		t.Errorf("call 1: loss %v, want %v", res.Loss, w)
	}

	// Call 2: ref = [(1,0), (0.6,0.8)]: matrix [[0, √0.8], [√2, √0.4]];
	// column minima (off-diagonal) [√2, √0.8], row minima [√0.8, √2], so
	// d_neg = √0.8 twice and the values are −√0.8 and √0.4 − √0.8.
	ref2 := mat.NewDense(2, 2, []float64{1, 0, 0.6, 0.8})
	v2 := []float64{-math.Sqrt(0.8), math.Sqrt(0.4) - math.Sqrt(0.8)}
	h2 := make([]float64, 10)
	for i, h := range want1 {
		h2[i] = (1 - mom) * h
	}
	for _, v := range v2 {
		k, a := bin(v)
		h2[k] += mom * (1 - a)
		h2[k+1] += mom * a
	}
	want2 := make([]float64, 10)
	for i, h := range h2 {
		want2[i] = h / (1 - mom + 2*mom)
	}
	res, err = l.Compute(losses.Batch{Embeddings: q, Ref: ref2})
	if err != nil {
		t.Fatal(err)
	}
	check("call 2", l.Histogram(), want2)
	if w := cdfLoss(want2, v2...); math.Abs(res.Loss-w) > 1e-12 {
		t.Errorf("call 2: loss %v, want %v", res.Loss, w)
	}

	// Reset: the next call behaves as the first call of a fresh loss.
	l.Reset()
	res, err = l.Compute(losses.Batch{Embeddings: q, Ref: ref2})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := losses.NewDynamicSoftMargin().Compute(losses.Batch{Embeddings: q, Ref: ref2})
	if err != nil {
		t.Fatal(err)
	}
	if res.Loss != fresh.Loss {
		t.Errorf("after Reset: loss %v, fresh loss %v", res.Loss, fresh.Loss)
	}
}

// TestDynamicSoftMarginMomentum checks the momentum rule on random batches:
// with H1 the histogram after batch 1 and B the histogram a fresh loss
// builds from batch 2 alone (T values), the histogram after both calls is
// ((1−m)·H1 + m·T·B) / ((1−m) + m·T).
func TestDynamicSoftMarginMomentum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	b1 := losses.Batch{Embeddings: testkit.NormalDense(rng, 12, 6), Labels: randLabels(rng, 12, 3)}
	b2 := losses.Batch{Embeddings: testkit.NormalDense(rng, 9, 6), Labels: randLabels(rng, 9, 3)}
	for _, mom := range []float64{0.01, 0.4, 1} {
		mk := func() *losses.DynamicSoftMargin {
			l := losses.NewDynamicSoftMargin()
			l.MinVal, l.NumBins, l.Momentum = -2.5, 12, mom
			return l
		}
		seq, alone := mk(), mk()
		if _, err := seq.Compute(b1); err != nil {
			t.Fatal(err)
		}
		h1 := seq.Histogram()
		if _, err := seq.Compute(b2); err != nil {
			t.Fatal(err)
		}
		if _, err := alone.Compute(b2); err != nil {
			t.Fatal(err)
		}
		count, err := tuples.CountAllTriplets(b2.Labels, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		tc, bh := float64(count), alone.Histogram()
		want := make([]float64, len(h1))
		for i := range want {
			want[i] = ((1-mom)*h1[i] + mom*tc*bh[i]) / ((1 - mom) + mom*tc)
		}
		if err := fdiff.CompareSlices(seq.Histogram(), want, 1e-12, 1e-15); err != nil {
			t.Errorf("momentum %v: %v", mom, err)
		}
	}
	// Changing NumBins starts a fresh histogram.
	l := losses.NewDynamicSoftMargin()
	if _, err := l.Compute(b1); err != nil {
		t.Fatal(err)
	}
	l.NumBins = 16
	if h := l.Histogram(); len(h) != 16 || mat.Norm(mat.NewVecDense(16, h), 1) != 0 {
		t.Errorf("histogram after changing NumBins: %v", h)
	}
	res, err := l.Compute(b2)
	if err != nil {
		t.Fatal(err)
	}
	f := losses.NewDynamicSoftMargin()
	f.NumBins = 16
	want, err := f.Compute(b2)
	if err != nil || res.Loss != want.Loss {
		t.Errorf("after changing NumBins: loss %v, fresh %v (%v)", res.Loss, want.Loss, err)
	}
}

func TestMarginEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	emb := testkit.NormalDense(rng, 5, 3)
	for _, tc := range []struct {
		name   string
		labels []int
	}{
		{"one class", []int{1, 1, 1, 1, 1}},
		{"all distinct", []int{0, 1, 2, 3, 4}},
		{"single-sample classes", []int{0, 0, 1, 2, 3}},
		{"N = 1", []int{0}},
	} {
		b := losses.Batch{Embeddings: emb, Labels: tc.labels}
		if len(tc.labels) == 1 {
			b.Embeddings = mat.NewDense(1, 3, []float64{1, 2, 3})
		}
		dsm := losses.NewDynamicSoftMargin()
		for _, loss := range []losses.Loss{dsm, losses.NewThresholdConsistentMargin()} {
			res, err := loss.Compute(b)
			if err != nil {
				t.Fatalf("%s %T: %v", tc.name, loss, err)
			}
			checkFinite(t, res)
			_, isDSM := loss.(*losses.DynamicSoftMargin)
			if tc.name == "N = 1" || (isDSM && tc.name != "single-sample classes") {
				if res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
					t.Errorf("%s %T: loss %v, grad norm %v, want zeros", tc.name, loss, res.Loss, mat.Norm(res.Grad, 1))
				}
			}
		}
		// No triplets: PML returns zero_losses() without updating hist_.
		if tc.name != "single-sample classes" && mat.Norm(mat.NewVecDense(10, dsm.Histogram()), 1) != 0 {
			t.Errorf("%s: histogram updated without triplets: %v", tc.name, dsm.Histogram())
		}
	}
	// TCM with one class only: a positive part, no negatives.
	one, err := losses.NewThresholdConsistentMargin().Compute(losses.Batch{Embeddings: emb, Labels: []int{1, 1, 1, 1, 1}})
	if err != nil || one.Loss <= 0 {
		t.Errorf("TCM one class: loss %v, err %v", one.Loss, err)
	}
	// Every TCM term inactive: identical positives (s = 1 > 0.9), opposite
	// negatives (s = −1 < 0.5).
	far := mat.NewDense(4, 2, []float64{1, 0, 2, 0, -1, 0, -3, 0})
	res, err := losses.NewThresholdConsistentMargin().Compute(losses.Batch{Embeddings: far, Labels: []int{0, 0, 1, 1}})
	if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
		t.Errorf("TCM inactive: loss %v, err %v", res.Loss, err)
	}
	// A zero row: F.cosine_similarity's eps keeps everything finite.
	zero := mat.DenseCopyOf(emb)
	zero.SetRow(2, []float64{0, 0, 0})
	res, err = losses.NewThresholdConsistentMargin().Compute(losses.Batch{Embeddings: zero, Labels: []int{0, 0, 1, 1, 0}})
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, res)

	// TCM with ref embeddings mirrors PML: the pairs come from the ref
	// labels, but the query rows are compared and the ref gets no gradient.
	ref := testkit.NormalDense(rng, 4, 3)
	refLabels := []int{0, 1, 1, 0}
	labels := []int{0, 0, 1, 1, 0}
	withRef, err := losses.NewThresholdConsistentMargin().Compute(losses.Batch{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels})
	if err != nil {
		t.Fatal(err)
	}
	all, err := tuples.AllPairs(labels, refLabels, false)
	if err != nil {
		t.Fatal(err)
	}
	viaTuples, err := losses.NewThresholdConsistentMargin().Compute(losses.Batch{Embeddings: emb, Tuples: all})
	if err != nil {
		t.Fatal(err)
	}
	if withRef.Loss != viaTuples.Loss || mat.Norm(withRef.RefGrad, 1) != 0 {
		t.Errorf("TCM with ref: loss %v, want %v; ref grad norm %v, want 0", withRef.Loss, viaTuples.Loss, mat.Norm(withRef.RefGrad, 1))
	}
	if err := fdiff.Compare(withRef.Grad, viaTuples.Grad, 1e-14, 1e-15); err != nil {
		t.Errorf("TCM with ref: gradient: %v", err)
	}
	// A ref index beyond the query rows: PML's IndexError.
	_, err = losses.NewThresholdConsistentMargin().Compute(losses.Batch{Embeddings: emb, Labels: labels, Ref: testkit.NormalDense(rng, 7, 3), RefLabels: []int{0, 1, 1, 0, 0, 1, 0}})
	checkErr(t, err, gometric.ErrIndex, "losses.ThresholdConsistentMargin")

	// DynamicSoftMargin: PML raises when a value leaves the histogram's
	// range; one embedding and no labels gives d_neg = +Inf.
	_, err = losses.NewDynamicSoftMargin().Compute(losses.Batch{Embeddings: mat.NewDense(1, 2, []float64{1, 2})})
	checkErr(t, err, gometric.ErrUnsupported, "losses.DynamicSoftMargin")
	// d(a,p) = 2 and d(a,n) ≈ 0: v ≈ 2 ≥ 1.6 with the default settings.
	out := mat.NewDense(3, 2, []float64{1, 0, -1, 0, 1, 0.001})
	l := losses.NewDynamicSoftMargin()
	if _, err := l.Compute(losses.Batch{Embeddings: out, Labels: []int{0, 1, 0}}); err != nil {
		t.Fatal(err) // here every triplet is in range
	}
	before := l.Histogram()
	_, err = l.Compute(losses.Batch{Embeddings: out, Labels: []int{0, 0, 1}})
	checkErr(t, err, gometric.ErrUnsupported, "losses.DynamicSoftMargin")
	if err := fdiff.CompareSlices(l.Histogram(), before, 0, 0); err != nil {
		t.Errorf("histogram changed by a failed call: %v", err)
	}
	// A wider range accepts it.
	l.MinVal = -3
	res, err = l.Compute(losses.Batch{Embeddings: out, Labels: []int{0, 0, 1}})
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, res)
}

func TestMarginBadInput(t *testing.T) {
	emb := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, -6, 7, 8})
	nan := mat.DenseCopyOf(emb)
	nan.Set(1, 1, math.NaN())
	lab := []int{0, 0, 1, 1}
	tests := []struct {
		name     string
		b        losses.Batch
		sentinel error
	}{
		{"label count", losses.Batch{Embeddings: emb, Labels: []int{0, 1}}, gometric.ErrLabels},
		{"nan", losses.Batch{Embeddings: nan, Labels: lab}, gometric.ErrNonFinite},
		{"empty", losses.Batch{Embeddings: &mat.Dense{}}, gometric.ErrShape},
		{"ref without ref labels", losses.Batch{Embeddings: emb, Labels: lab, Ref: emb}, gometric.ErrLabels},
		{"ref labels without ref", losses.Batch{Embeddings: emb, Labels: lab, RefLabels: lab}, gometric.ErrLabels},
		{"ref dim", losses.Batch{Embeddings: emb, Labels: lab, Ref: mat.NewDense(2, 3, nil), RefLabels: []int{0, 1}}, gometric.ErrShape},
		{"tuple range", losses.Batch{Embeddings: emb, Labels: lab, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{9}}}, gometric.ErrIndex},
		{"pair range", losses.Batch{Embeddings: emb, Labels: lab, Tuples: &tuples.Pairs{A1: []int{-1}, P: []int{1}}}, gometric.ErrIndex},
		{"ragged triplets", losses.Batch{Embeddings: emb, Labels: lab, Tuples: &tuples.Triplets{A: []int{0, 1}, P: []int{1}, N: []int{2}}}, gometric.ErrShape},
	}
	for _, tc := range tests {
		for _, c := range []struct {
			name string
			loss losses.Loss
		}{
			{"losses.DynamicSoftMargin", losses.NewDynamicSoftMargin()},
			{"losses.ThresholdConsistentMargin", losses.NewThresholdConsistentMargin()},
		} {
			t.Run(tc.name+"/"+c.name, func(t *testing.T) {
				_, err := c.loss.Compute(tc.b)
				checkErr(t, err, tc.sentinel, c.name)
			})
		}
	}
	// TCM needs labels or tuples (PML fails on labels=None).
	_, err := losses.NewThresholdConsistentMargin().Compute(losses.Batch{Embeddings: emb})
	checkErr(t, err, gometric.ErrLabels, "losses.ThresholdConsistentMargin")

	dsm := func(set func(l *losses.DynamicSoftMargin)) losses.Loss {
		l := losses.NewDynamicSoftMargin()
		set(l)
		return l
	}
	tcm := func(set func(l *losses.ThresholdConsistentMargin)) losses.Loss {
		l := losses.NewThresholdConsistentMargin()
		set(l)
		return l
	}
	lp1 := distances.NewLp()
	lp1.P = 1
	unnorm := distances.NewLp()
	unnorm.NormalizeEmbeddings = false
	var nilLp *distances.Lp
	settings := []struct {
		name, component string
		loss            losses.Loss
	}{
		{"MinVal NaN", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.MinVal = math.NaN() })},
		{"MinVal 0", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.MinVal = 0 })},
		{"MinVal Inf", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.MinVal = math.Inf(-1) })},
		{"NumBins 1", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.NumBins = 1 })},
		{"NumBins huge", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.NumBins = 1 << 40 })},
		{"Momentum NaN", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.Momentum = math.NaN() })},
		{"cosine distance", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.Distance = distances.NewCosineSimilarity() })},
		{"Lp p=1", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.Distance = lp1 })},
		{"Lp unnormalised", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.Distance = unnorm })},
		{"nil *Lp", "losses.DynamicSoftMargin", dsm(func(l *losses.DynamicSoftMargin) { l.Distance = nilLp })},
		{"margin NaN", "losses.ThresholdConsistentMargin", tcm(func(l *losses.ThresholdConsistentMargin) { l.MarginPlus = math.NaN() })},
		{"lambda Inf", "losses.ThresholdConsistentMargin", tcm(func(l *losses.ThresholdConsistentMargin) { l.LambdaMinus = math.Inf(1) })},
		{"Lp distance", "losses.ThresholdConsistentMargin", tcm(func(l *losses.ThresholdConsistentMargin) { l.Distance = distances.NewLp() })},
		{"dot distance", "losses.ThresholdConsistentMargin", tcm(func(l *losses.ThresholdConsistentMargin) { l.Distance = distances.NewDotProductSimilarity() })},
	}
	for _, s := range settings {
		t.Run(s.name, func(t *testing.T) {
			_, err := s.loss.Compute(losses.Batch{Embeddings: emb, Labels: lab})
			checkErr(t, err, gometric.ErrSetting, s.component)
		})
	}
	// A momentum that overflows the histogram's sum (PML gives NaN).
	l := losses.NewDynamicSoftMargin()
	b := losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 2}}
	if _, err := l.Compute(b); err != nil {
		t.Fatal(err)
	}
	l.Momentum = 1e308
	_, err = l.Compute(b)
	checkErr(t, err, gometric.ErrSetting, "losses.DynamicSoftMargin")
}

// FuzzMarginLosses feeds arbitrary small batches and settings to
// DynamicSoftMargin and ThresholdConsistentMargin: they must never panic,
// and a nil error must come with a finite loss and gradient.
func FuzzMarginLosses(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, []byte{0, 0, 1, 1}, byte(2), byte(0), []byte{}, -2.0, 10, 0.01)
	f.Add([]byte{200, 3, 40, 5, 99, 1, 0, 0}, []byte{0, 1}, byte(2), byte(3), []byte{0, 1, 1, 0}, -1.5, 20, 0.1)
	f.Add([]byte{1, 2, 3, 4, 5, 6}, []byte{}, byte(3), byte(1), []byte{0, 1, 2, 0, 1, 2}, 0.5, 3, 2.0)
	f.Add([]byte{7, 7, 7, 7}, []byte{3, 3}, byte(1), byte(2), []byte{5, 0, 9}, -2.0, 1, 0.0)
	f.Fuzz(func(t *testing.T, raw, labelBytes []byte, dim, mode byte, tupleBytes []byte, minVal float64, numBins int, momentum float64) {
		d := int(dim%4) + 1
		n := len(raw) / d
		if n > 24 {
			n = 24
		}
		var emb *mat.Dense
		if n > 0 {
			vals := make([]float64, n*d)
			for i := range vals {
				vals[i] = float64(int(raw[i])-128) / 16
			}
			emb = mat.NewDense(n, d, vals)
		} else {
			emb = &mat.Dense{}
		}
		b := losses.Batch{Embeddings: emb}
		if len(labelBytes) > 0 {
			b.Labels = make([]int, len(labelBytes))
			for i, v := range labelBytes {
				b.Labels[i] = int(v % 4)
			}
		}
		if mode&1 != 0 && n > 1 {
			m := n / 2
			b.Ref = mat.NewDense(m, d, nil)
			for i := 0; i < m; i++ {
				for j := 0; j < d; j++ {
					b.Ref.Set(i, j, emb.At(n-1-i, j)+0.5)
				}
			}
			if b.Labels != nil && mode&4 == 0 {
				b.RefLabels = make([]int, m)
				for i := range b.RefLabels {
					b.RefLabels[i] = int(labelBytes[i%len(labelBytes)] % 3)
				}
			}
		}
		if mode&2 != 0 && len(tupleBytes) > 0 {
			idx := func(i int) int { return int(tupleBytes[i%len(tupleBytes)]%16) - 1 }
			k := len(tupleBytes) / 3
			if mode&8 != 0 {
				b.Tuples = &tuples.Pairs{A1: make([]int, k), P: make([]int, k), A2: make([]int, k), N: make([]int, k)}
				p := b.Tuples.(*tuples.Pairs)
				for i := 0; i < k; i++ {
					p.A1[i], p.P[i], p.A2[i], p.N[i] = idx(3*i), idx(3*i+1), idx(3*i+2), idx(3*i)
				}
			} else {
				tr := &tuples.Triplets{A: make([]int, k), P: make([]int, k), N: make([]int, k)}
				for i := 0; i < k; i++ {
					tr.A[i], tr.P[i], tr.N[i] = idx(3*i), idx(3*i+1), idx(3*i+2)
				}
				b.Tuples = tr
			}
		}
		dsm := losses.NewDynamicSoftMargin()
		dsm.MinVal, dsm.NumBins, dsm.Momentum = minVal, numBins, momentum
		tcm := losses.NewThresholdConsistentMargin()
		tcm.MarginPlus, tcm.MarginMinus = minVal, momentum
		for _, loss := range []losses.Loss{dsm, tcm} {
			for call := 0; call < 2; call++ {
				res, err := loss.Compute(b)
				if err != nil {
					if !testkit.WrapsSentinel(err) {
						t.Fatalf("%T: error wraps no sentinel: %v", loss, err)
					}
					continue
				}
				checkFinite(t, res)
			}
		}
	})
}
