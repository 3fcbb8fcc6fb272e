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

// miscTrip and miscPairs are mined tuples for an 8-element batch.
var (
	miscTrip  = &tuples.Triplets{A: []int{0, 1, 2, 0, 5}, P: []int{3, 4, 5, 6, 2}, N: []int{5, 2, 1, 7, 0}}
	miscPairs = &tuples.Pairs{A1: []int{0, 1, 2, 6}, P: []int{3, 4, 5, 0}, A2: []int{0, 3, 5, 6}, N: []int{1, 2, 7, 4}}
)

// miscLabels is a label vector for 8 elements with 3 classes.
var miscLabels = []int{0, 1, 2, 0, 1, 2, 0, 2}

func TestMiscFiniteDifferences(t *testing.T) {
	angular35 := losses.NewAngular()
	angular35.Alpha = 35
	angularSum := losses.NewAngular()
	angularSum.Alpha, angularSum.Reducer = 45, reducers.NewSum()
	angularReg := losses.NewAngular()
	angularReg.EmbeddingRegularizer, angularReg.EmbeddingRegWeight = regularizers.NewLp(), 0.3
	npairsCos := losses.NewNPairs()
	npairsCos.Distance = distances.NewCosineSimilarity()
	npairsLp := losses.NewNPairs()
	npairsLp.Distance = distances.NewLp()
	npairsRaw := losses.NewNPairs()
	npairsRaw.Distance = &distances.DotProductSimilarity{P: 2, Power: 1}
	nca2 := losses.NewNCA()
	nca2.SoftmaxScale = 2
	ncaCos := losses.NewNCA()
	ncaCos.Distance, ncaCos.SoftmaxScale = distances.NewCosineSimilarity(), 0.5
	ncaAvg := losses.NewNCA()
	ncaAvg.Reducer = reducers.NewAvgNonZero()
	instance10 := losses.NewInstance()
	instance10.Gamma = 10
	instanceSum := losses.NewInstance()
	instanceSum.Reducer, instanceSum.EmbeddingRegularizer, instanceSum.EmbeddingRegWeight = reducers.NewSum(), regularizers.NewZeroMean(), 2
	tests := []struct {
		name   string
		loss   losses.Loss
		ref    bool // the loss takes ref embeddings
		tuples bool // the loss takes mined tuples
	}{
		{"Angular", losses.NewAngular(), true, true},
		{"Angular/alpha35", angular35, true, true},
		{"Angular/alpha45/sum", angularSum, true, true},
		{"Angular/regularized", angularReg, true, true},
		{"NPairs", losses.NewNPairs(), false, true},
		{"NPairs/cosine", npairsCos, false, true},
		{"NPairs/Lp", npairsLp, false, true},
		{"NPairs/unnormalised", npairsRaw, false, true},
		{"NCA", losses.NewNCA(), true, true},
		{"NCA/scale2", nca2, true, true},
		{"NCA/cosine", ncaCos, true, true},
		{"NCA/avgNonZero", ncaAvg, true, true},
		{"Instance", losses.NewInstance(), false, false},
		{"Instance/gamma10", instance10, false, false},
		{"Instance/sum/regularized", instanceSum, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			emb := testkit.NormalDense(rng, 8, 5)
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: miscLabels}, 1e-5, 1e-7)
			if tc.ref {
				ref := testkit.NormalDense(rng, 6, 5)
				refLabels := []int{2, 0, 1, 1, 0, 2}
				checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: miscLabels, Ref: ref, RefLabels: refLabels}, 1e-5, 1e-7)
				if tc.tuples {
					trip := &tuples.Triplets{A: []int{0, 1, 7}, P: []int{1, 4, 5}, N: []int{2, 3, 1}}
					checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: miscLabels, Ref: ref, RefLabels: refLabels, Tuples: trip}, 1e-5, 1e-7)
				}
			}
			if tc.tuples {
				checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: miscLabels, Tuples: miscTrip}, 1e-5, 1e-7)
				checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: miscLabels, Tuples: miscPairs}, 1e-5, 1e-7)
			}
		})
	}
}

// vicregViews returns two N×D views whose columns have standard deviations
// well away from 1 (half of them about 0.4, half about 2.5), so that the
// relu of the variance term is away from its kink.
func vicregViews(rng *rand.Rand, n, d int) (*mat.Dense, *mat.Dense) {
	a, b := testkit.NormalDense(rng, n, d), testkit.NormalDense(rng, n, d)
	for j := 0; j < d; j++ {
		s := 0.4
		if j%2 == 1 {
			s = 2.5
		}
		for i := 0; i < n; i++ {
			a.Set(i, j, s*a.At(i, j))
			b.Set(i, j, s*(a.At(i, j)/s+0.3*b.At(i, j)))
		}
	}
	return a, b
}

func TestVICRegFiniteDifferences(t *testing.T) {
	custom := losses.NewVICReg()
	custom.InvarianceLambda, custom.VarianceMu, custom.CovarianceV, custom.Eps = 10, 5, 2, 1e-3
	sum := losses.NewVICReg()
	sum.Reducer = reducers.NewSum()
	tests := []struct {
		name string
		loss losses.Loss
		n, d int
	}{
		{"default", losses.NewVICReg(), 8, 4},
		{"custom", custom, 10, 6},
		{"sum", sum, 6, 3},
		{"two rows", losses.NewVICReg(), 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(tc.n)))
			a, b := vicregViews(rng, tc.n, tc.d)
			checkGrad(t, tc.loss, losses.Batch{Embeddings: a, Ref: b}, 1e-5, 1e-7)
			// Without ref: both views are the embeddings, as in PML.
			checkGrad(t, tc.loss, losses.Batch{Embeddings: a}, 1e-5, 1e-7)
		})
	}
}

// TestVICRegNoRef checks that without ref embeddings the loss is that of
// two identical views (PML's set_ref_emb), with the gradient of both views
// in Grad.
func TestVICRegNoRef(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, _ := vicregViews(rng, 9, 5)
	l := losses.NewVICReg()
	self, err := l.Compute(losses.Batch{Embeddings: a})
	if err != nil {
		t.Fatal(err)
	}
	twin, err := l.Compute(losses.Batch{Embeddings: a, Ref: mat.DenseCopyOf(a)})
	if err != nil {
		t.Fatal(err)
	}
	if self.RefGrad != nil {
		t.Error("a ref gradient without ref embeddings")
	}
	if math.Abs(self.Loss-twin.Loss) > 1e-12 || self.Parts["invariance_loss"] != 0 {
		t.Errorf("loss %v (parts %v), with a copy as ref %v", self.Loss, self.Parts, twin.Loss)
	}
	both := mat.NewDense(9, 5, nil)
	both.Add(twin.Grad, twin.RefGrad)
	if err := fdiff.Compare(self.Grad, both, 1e-10, 1e-13); err != nil {
		t.Error(err)
	}
}

// TestVICRegParts checks the four sub-losses against a direct evaluation
// of PML's formulas on a small batch.
func TestVICRegParts(t *testing.T) {
	a := mat.NewDense(3, 2, []float64{0, 1, 1, 0, 2, 2})
	b := mat.NewDense(3, 2, []float64{0, 0, 1, 1, 3, 1})
	l := losses.NewVICReg()
	res, err := l.Compute(losses.Batch{Embeddings: a, Ref: b})
	if err != nil {
		t.Fatal(err)
	}
	// Invariance: mean over samples of 25·mean_d (a−b)²: rows give 0.5, 0.5, 1.
	inv := 25 * (0.5 + 0.5 + 1) / 3
	// Variances: a columns (0,1,2) → 1, (1,0,2) → 1; b columns (0,1,3) → 7/3, (0,1,1) → 1/3.
	vl := func(v float64) float64 { return math.Max(0, 1-math.Sqrt(v+1e-4)) / 2 * 25 }
	var1 := (vl(1) + vl(1)) / 2
	var2 := (vl(7.0/3) + vl(1.0/3)) / 2
	// Covariances: a: cov((0,1,2),(1,0,2)) = 1/2; b: cov((0,1,3),(0,1,1)) = 2/3.
	cov := (2*0.25)/2 + (2*4.0/9)/2
	want := map[string]float64{"invariance_loss": inv, "variance_loss1": var1, "variance_loss2": var2, "covariance_loss": cov}
	for k, w := range want {
		if math.Abs(res.Parts[k]-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", k, res.Parts[k], w)
		}
	}
	if math.Abs(res.Loss-(inv+var1+var2+cov)) > 1e-12 {
		t.Errorf("loss %v, want %v", res.Loss, inv+var1+var2+cov)
	}
}

// TestAngularDirect compares Angular with a direct, per-element evaluation
// of PML's formula (no GEMM, no streaming of rows).
func TestAngularDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	emb, ref := testkit.NormalDense(rng, 7, 4), testkit.NormalDense(rng, 9, 4)
	labels, refLabels := randLabels(rng, 7, 3), randLabels(rng, 9, 3)
	l := losses.NewAngular()
	l.Alpha = 30
	res, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels})
	if err != nil {
		t.Fatal(err)
	}
	unit := func(x []float64) []float64 {
		var s float64
		for _, v := range x {
			s += v * v
		}
		out := make([]float64, len(x))
		for i, v := range x {
			out[i] = v / math.Sqrt(s)
		}
		return out
	}
	tan2 := math.Pow(math.Tan(30*math.Pi/180), 2)
	var total float64
	var count int
	for i := 0; i < 7; i++ {
		for j := 0; j < 9; j++ {
			if labels[i] != refLabels[j] {
				continue
			}
			a, p := unit(emb.RawRowView(i)), unit(ref.RawRowView(j))
			var ap float64
			for k := range a {
				ap += a[k] * p[k]
			}
			s := 1.0
			for n := 0; n < 9; n++ {
				if refLabels[n] == labels[i] {
					continue
				}
				var x float64
				for k := range a {
					x += (a[k] + p[k]) * ref.At(n, k)
				}
				s += math.Exp(4*tan2*x - 2*(1+tan2)*ap)
			}
			total += math.Log(s)
			count++
		}
	}
	if want := total / float64(count); math.Abs(res.Loss-want) > 1e-12*math.Abs(want) {
		t.Errorf("loss %v, direct evaluation %v", res.Loss, want)
	}
}

// TestNPairsHand checks NPairs on a batch whose unique-label pairs are
// (0,1) and (2,3), against the cross-entropy computed by hand.
func TestNPairsHand(t *testing.T) {
	emb := mat.NewDense(4, 2, []float64{1, 0, 0.8, 0.6, 0, 1, 0.6, 0.8})
	l := losses.NewNPairs()
	res, err := l.Compute(losses.Batch{Embeddings: emb, Labels: []int{5, 5, 7, 7}})
	if err != nil {
		t.Fatal(err)
	}
	// Anchors 0 and 2, positives 1 and 3 (unit rows: dot = cosine).
	s := [2][2]float64{{0.8, 0.6}, {0.6, 0.8}}
	ce := func(i int) float64 { return math.Log(math.Exp(s[i][0])+math.Exp(s[i][1])) - s[i][i] }
	if want := (ce(0) + ce(1)) / 2; math.Abs(res.Loss-want) > 1e-12 {
		t.Errorf("loss %v, want %v", res.Loss, want)
	}
}

func TestMiscEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	emb := testkit.NormalDense(rng, 5, 3)
	type want int
	const (
		zero     want = iota // PML's zero loss, zero gradient
		tiny                 // zero up to rounding (−log of a mass of 1 − ε)
		finite               // some finite value
		positive             // a finite value > 0
	)
	tests := []struct {
		name   string
		loss   losses.Loss
		labels []int
		want   want
	}{
		{"Angular/one class", losses.NewAngular(), []int{1, 1, 1, 1, 1}, zero},
		{"Angular/all distinct", losses.NewAngular(), []int{0, 1, 2, 3, 4}, zero},
		{"Angular/single-sample classes", losses.NewAngular(), []int{0, 0, 1, 2, 3}, positive},
		{"NPairs/one class", losses.NewNPairs(), []int{1, 1, 1, 1, 1}, zero}, // one pair: a 1×1 cross-entropy
		{"NPairs/all distinct", losses.NewNPairs(), []int{0, 1, 2, 3, 4}, zero},
		{"NPairs/single-sample classes", losses.NewNPairs(), []int{0, 0, 1, 1, 3}, positive},
		{"NCA/one class", losses.NewNCA(), []int{1, 1, 1, 1, 1}, tiny}, // all the mass is on the class
		{"NCA/all distinct", losses.NewNCA(), []int{0, 1, 2, 3, 4}, zero},
		{"NCA/single-sample classes", losses.NewNCA(), []int{0, 0, 1, 2, 3}, positive},
		{"Instance/one class", losses.NewInstance(), []int{1, 1, 1, 1, 1}, positive},
		{"Instance/all distinct", losses.NewInstance(), []int{4, 3, 2, 1, 0}, positive},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.loss.Compute(losses.Batch{Embeddings: emb, Labels: tc.labels})
			if err != nil {
				t.Fatal(err)
			}
			checkFinite(t, res)
			switch tc.want {
			case zero:
				if res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
					t.Errorf("loss %v, |grad| %v, want 0", res.Loss, mat.Norm(res.Grad, 1))
				}
			case tiny:
				if math.Abs(res.Loss) > 1e-12 || mat.Norm(res.Grad, 1) > 1e-12 {
					t.Errorf("loss %v, |grad| %v, want ~0", res.Loss, mat.Norm(res.Grad, 1))
				}
			case positive:
				if !(res.Loss > 0) {
					t.Errorf("loss %v, want > 0", res.Loss)
				}
			}
		})
	}
	// N = 1: zero loss for every loss with labels; NCA even without labels
	// (PML returns before requiring them). Instance's 1×1 cross-entropy is 0.
	one := mat.NewDense(1, 3, []float64{1, 2, 3})
	for _, l := range []losses.Loss{losses.NewAngular(), losses.NewNPairs(), losses.NewNCA(), losses.NewInstance()} {
		res, err := l.Compute(losses.Batch{Embeddings: one, Labels: []int{0}})
		if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
			t.Errorf("%T with N=1: %v, %v", l, res.Loss, err)
		}
	}
	if res, err := losses.NewNCA().Compute(losses.Batch{Embeddings: one}); err != nil || res.Loss != 0 {
		t.Errorf("NCA with N=1 and no labels: %v, %v", res.Loss, err)
	}
	// Angular with a ref whose rows all share the anchor's class: no
	// negatives, zero loss.
	ref := testkit.NormalDense(rng, 3, 3)
	res, err := losses.NewAngular().Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 0, 0, 0}, Ref: ref, RefLabels: []int{0, 0, 0}})
	if err != nil || res.Loss != 0 || mat.Norm(res.RefGrad, 1) != 0 {
		t.Errorf("Angular without negatives: %v, %v", res.Loss, err)
	}
	// NCA with a zero softmax scale: uniform weights, the query itself
	// included (PML's 0·(−max) is 0).
	nca := losses.NewNCA()
	nca.SoftmaxScale = 0
	res, err = nca.Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if want := -(2*math.Log(2.0/5) + 3*math.Log(3.0/5)) / 5; math.Abs(res.Loss-want) > 1e-12 {
		t.Errorf("NCA with scale 0: loss %v, want %v", res.Loss, want)
	}
	// NCA with mined tuples: elements outside the tuples get weight 0, so
	// their own losses are 0 (they still act as references of others).
	nca = losses.NewNCA()
	nca.Reducer = reducers.NewDoNothing()
	res, err = nca.Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1, 1},
		Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{2}}})
	if err != nil {
		t.Fatal(err)
	}
	rec := res.Records[0]
	for k, i := range rec.Indices[0] {
		if w := rec.Values[k]; (i > 2) != (w == 0) {
			t.Errorf("NCA with tuples: element %d has loss %v", i, w)
		}
	}
}

func TestMiscBadInput(t *testing.T) {
	emb := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 8.5})
	nan := mat.DenseCopyOf(emb)
	nan.Set(1, 1, math.NaN())
	labels := []int{0, 0, 1, 1}
	type tcase struct {
		name     string
		b        losses.Batch
		sentinel error
	}
	common := []tcase{
		{"label count", losses.Batch{Embeddings: emb, Labels: []int{0, 1}}, gometric.ErrLabels},
		{"nan", losses.Batch{Embeddings: nan, Labels: labels}, gometric.ErrNonFinite},
		{"empty", losses.Batch{Embeddings: &mat.Dense{}, Labels: nil}, gometric.ErrShape},
		{"no labels", losses.Batch{Embeddings: emb}, gometric.ErrLabels},
		{"ref labels without ref", losses.Batch{Embeddings: emb, Labels: labels, RefLabels: labels}, gometric.ErrLabels},
	}
	withRef := []tcase{
		{"ref without ref labels", losses.Batch{Embeddings: emb, Labels: labels, Ref: emb}, gometric.ErrLabels},
		{"ref without ref labels, with tuples", losses.Batch{Embeddings: emb, Labels: labels, Ref: emb,
			Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{2}}}, gometric.ErrLabels},
		{"ref dim", losses.Batch{Embeddings: emb, Labels: labels, Ref: mat.NewDense(2, 3, nil), RefLabels: []int{0, 1}}, gometric.ErrShape},
		{"tuple range", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{9}}}, gometric.ErrIndex},
		{"pair range", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: []int{-1}, P: []int{1}}}, gometric.ErrIndex},
	}
	noRef := []tcase{
		{"ref", losses.Batch{Embeddings: emb, Labels: labels, Ref: emb, RefLabels: labels}, gometric.ErrUnsupported},
	}
	run := func(t *testing.T, name string, l losses.Loss, cases []tcase) {
		for _, tc := range cases {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				_, err := l.Compute(tc.b)
				checkErr(t, err, tc.sentinel, name)
			})
		}
	}
	run(t, "losses.Angular", losses.NewAngular(), append(common, withRef...))
	run(t, "losses.NCA", losses.NewNCA(), append(common, withRef...))
	run(t, "losses.NPairs", losses.NewNPairs(), append(common, append(noRef,
		tcase{"tuple range", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{7}, P: []int{1}, N: []int{2}}}, gometric.ErrIndex})...))
	run(t, "losses.Instance", losses.NewInstance(), append(common, append(noRef,
		tcase{"tuples", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{2}}}, gometric.ErrUnsupported})...))
	run(t, "losses.VICReg", losses.NewVICReg(), []tcase{
		{"labels", losses.Batch{Embeddings: emb, Labels: labels, Ref: emb}, gometric.ErrLabels},
		{"ref labels", losses.Batch{Embeddings: emb, Ref: emb, RefLabels: labels}, gometric.ErrLabels},
		{"nan", losses.Batch{Embeddings: emb, Ref: nan}, gometric.ErrNonFinite},
		{"rows", losses.Batch{Embeddings: emb, Ref: mat.NewDense(3, 2, []float64{1, 2, 3, 4, 5, 6})}, gometric.ErrShape},
		{"one row", losses.Batch{Embeddings: mat.NewDense(1, 2, []float64{1, 2}), Ref: mat.NewDense(1, 2, []float64{1, 3})}, gometric.ErrShape},
		{"one row, no ref", losses.Batch{Embeddings: mat.NewDense(1, 2, []float64{1, 2})}, gometric.ErrShape},
		{"tuples", losses.Batch{Embeddings: emb, Ref: emb, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{2}}}, gometric.ErrUnsupported},
	})

	// Invalid settings.
	b := losses.Batch{Embeddings: emb, Labels: labels}
	setting := func(name string, l losses.Loss, b losses.Batch) {
		t.Run(name, func(t *testing.T) {
			_, err := l.Compute(b)
			checkErr(t, err, gometric.ErrSetting, name)
		})
	}
	angularNaN := losses.NewAngular()
	angularNaN.Alpha = math.NaN()
	setting("losses.Angular", angularNaN, b)
	angularCos := losses.NewAngular()
	angularCos.Distance = distances.NewCosineSimilarity()
	setting("losses.Angular", angularCos, b)
	angularL1 := losses.NewAngular()
	angularL1.Distance = &distances.Lp{NormalizeEmbeddings: true, P: 1, Power: 1}
	setting("losses.Angular", angularL1, b)
	angularSq := losses.NewAngular()
	angularSq.Distance = &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: 2}
	setting("losses.Angular", angularSq, b)
	angularRaw := losses.NewAngular()
	angularRaw.Distance = &distances.Lp{P: 2, Power: 1}
	setting("losses.Angular", angularRaw, b)
	ncaInf := losses.NewNCA()
	ncaInf.SoftmaxScale = math.Inf(1)
	setting("losses.NCA", ncaInf, b)
	instanceNaN := losses.NewInstance()
	instanceNaN.Gamma = math.NaN()
	setting("losses.Instance", instanceNaN, b)
	instanceLp := losses.NewInstance()
	instanceLp.Distance = distances.NewLp()
	setting("losses.Instance", instanceLp, b)
	vb := losses.Batch{Embeddings: emb, Ref: emb}
	vicDist := losses.NewVICReg()
	vicDist.Distance = distances.NewLp()
	setting("losses.VICReg", vicDist, vb)
	vicReg := losses.NewVICReg()
	vicReg.EmbeddingRegularizer = regularizers.NewLp()
	setting("losses.VICReg", vicReg, vb)
	vicEps := losses.NewVICReg()
	vicEps.Eps = math.Inf(-1)
	setting("losses.VICReg", vicEps, vb)
	npairsReg := losses.NewNPairs()
	npairsReg.EmbeddingRegularizer, npairsReg.EmbeddingRegWeight = regularizers.NewLp(), math.NaN()
	setting("losses.NPairs", npairsReg, b)

	// A negative softmax scale turns PML's −max diagonal into +Inf, and
	// the softmax into NaN: an error here.
	ncaNeg := losses.NewNCA()
	ncaNeg.SoftmaxScale = -2
	_, err := ncaNeg.Compute(b)
	checkErr(t, err, gometric.ErrNonFinite, "losses.NCA")
}

// TestMiscDoNothing checks that the unreduced records are PML's loss
// dictionaries.
func TestMiscDoNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	emb := testkit.NormalDense(rng, 8, 4)
	tests := []struct {
		loss  losses.Loss
		b     losses.Batch
		names []string
		kinds []reducers.Kind
		lens  []int
	}{
		{withReducer(losses.NewAngular()), losses.Batch{Embeddings: emb, Labels: miscLabels}, []string{"loss"}, []reducers.Kind{reducers.PosPair}, []int{14}},
		{withReducer(losses.NewNPairs()), losses.Batch{Embeddings: emb, Labels: miscLabels}, []string{"loss"}, []reducers.Kind{reducers.Element}, []int{3}},
		{withReducer(losses.NewNCA()), losses.Batch{Embeddings: emb, Labels: miscLabels}, []string{"loss"}, []reducers.Kind{reducers.Element}, []int{8}},
		{withReducer(losses.NewInstance()), losses.Batch{Embeddings: emb, Labels: miscLabels}, []string{"loss"}, []reducers.Kind{reducers.Element}, []int{8}},
		{withReducer(losses.NewVICReg()), losses.Batch{Embeddings: emb, Ref: testkit.NormalDense(rng, 8, 4)},
			[]string{"invariance_loss", "variance_loss1", "variance_loss2", "covariance_loss"},
			[]reducers.Kind{reducers.Element, reducers.Element, reducers.Element, reducers.AlreadyReduced}, []int{8, 4, 4, 1}},
	}
	for _, tc := range tests {
		res, err := tc.loss.Compute(tc.b)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Records) != len(tc.names) {
			t.Fatalf("%T: %d records, want %d", tc.loss, len(res.Records), len(tc.names))
		}
		for i, r := range res.Records {
			if r.Name != tc.names[i] || r.Kind != tc.kinds[i] || len(r.Values) != tc.lens[i] {
				t.Errorf("%T record %d: %s %v %d values, want %s %v %d", tc.loss, i, r.Name, r.Kind, len(r.Values), tc.names[i], tc.kinds[i], tc.lens[i])
			}
		}
	}
}

// withReducer sets the loss's reducer to DoNothing.
func withReducer(l losses.Loss) losses.Loss {
	d := reducers.NewDoNothing()
	switch v := l.(type) {
	case *losses.Angular:
		v.Reducer = d
	case *losses.NPairs:
		v.Reducer = d
	case *losses.NCA:
		v.Reducer = d
	case *losses.Instance:
		v.Reducer = d
	case *losses.VICReg:
		v.Reducer = d
	}
	return l
}

// FuzzMiscLosses runs the misc losses on arbitrary small batches: they
// must never panic, and a nil error must come with finite results.
func FuzzMiscLosses(f *testing.F) {
	f.Add(uint8(6), uint8(3), uint8(0), uint8(0), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18})
	f.Add(uint8(4), uint8(2), uint8(3), uint8(1), []byte{0, 255, 128, 7, 7, 7, 9, 200, 3})
	f.Add(uint8(1), uint8(1), uint8(1), uint8(2), []byte{42})
	f.Add(uint8(5), uint8(4), uint8(5), uint8(3), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 250, 251, 252, 253, 254, 255})
	f.Fuzz(func(t *testing.T, n, d, m, mode uint8, data []byte) {
		nn, dd, mm := int(n%9), int(d%5), int(m%9)
		at, value := fuzzBytes(data).at, fuzzBytes(data).value
		matrix := func(r, c, off int) *mat.Dense {
			if r == 0 || c == 0 {
				return &mat.Dense{}
			}
			x := mat.NewDense(r, c, nil)
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					x.Set(i, j, value(off+i*c+j))
				}
			}
			return x
		}
		labels := func(k, off int) []int {
			l := make([]int, k)
			for i := range l {
				l[i] = int(at(off+i) % 3)
			}
			return l
		}
		b := losses.Batch{Embeddings: matrix(nn, dd, 0), Labels: labels(nn, 7)}
		if mode&1 == 1 {
			b.Ref, b.RefLabels = matrix(mm, dd, 3), labels(mm, 11)
		}
		if mode&2 == 2 {
			k := int(at(5) % 4)
			tr := &tuples.Triplets{A: make([]int, k), P: make([]int, k), N: make([]int, k)}
			for i := 0; i < k; i++ {
				tr.A[i], tr.P[i], tr.N[i] = int(at(i)%9), int(at(i+1)%9), int(at(i+2)%9)
			}
			b.Tuples = tr
		}
		nca := losses.NewNCA()
		nca.SoftmaxScale = value(13)
		angular := losses.NewAngular()
		angular.Alpha = value(17)
		inst := losses.NewInstance()
		inst.Gamma = value(19)
		for _, l := range []losses.Loss{angular, losses.NewNPairs(), nca, inst} {
			res, err := l.Compute(b)
			if err == nil {
				checkFinite(t, res)
			}
		}
		vb := losses.Batch{Embeddings: b.Embeddings, Ref: b.Ref, Tuples: b.Tuples}
		if mode&4 == 4 {
			vb.Labels = b.Labels
		}
		res, err := losses.NewVICReg().Compute(vb)
		if err == nil {
			checkFinite(t, res)
		}
	})
}

// BenchmarkMisc times forward + backward of each misc loss on a 256×128
// batch of 32 classes × 8 (the shape of ../shared/bench).
func BenchmarkMisc(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	emb := testkit.NormalDense(rng, 256, 128)
	labels := make([]int, 256)
	for i := range labels {
		labels[i] = i / 8
	}
	view2 := testkit.NormalDense(rng, 256, 128)
	tests := []struct {
		name  string
		loss  losses.Loss
		batch losses.Batch
	}{
		{"Angular", losses.NewAngular(), losses.Batch{Embeddings: emb, Labels: labels}},
		{"NPairs", losses.NewNPairs(), losses.Batch{Embeddings: emb, Labels: labels}},
		{"NCA", losses.NewNCA(), losses.Batch{Embeddings: emb, Labels: labels}},
		{"Instance", losses.NewInstance(), losses.Batch{Embeddings: emb, Labels: labels}},
		{"VICReg", losses.NewVICReg(), losses.Batch{Embeddings: emb, Ref: view2}},
	}
	for _, tc := range tests {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := tc.loss.Compute(tc.batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
