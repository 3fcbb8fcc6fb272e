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

func TestBasicFiniteDifferences(t *testing.T) {
	smooth := losses.NewTripletMargin()
	smooth.SmoothLoss = true
	swap := losses.NewTripletMargin()
	swap.Swap, swap.Margin = true, 0.3
	cosTriplet := losses.NewTripletMargin()
	cosTriplet.Distance, cosTriplet.Margin = distances.NewCosineSimilarity(), 0.2
	meanTriplet := losses.NewTripletMargin()
	meanTriplet.Reducer = reducers.NewMean()
	regTriplet := losses.NewTripletMargin()
	regTriplet.EmbeddingRegularizer, regTriplet.EmbeddingRegWeight = regularizers.NewLp(), 0.5
	contrastive := losses.NewContrastive()
	contrastive.PosMargin, contrastive.NegMargin = 0.2, 1.5
	cosContrastive := losses.NewContrastive()
	cosContrastive.Distance, cosContrastive.PosMargin, cosContrastive.NegMargin = distances.NewCosineSimilarity(), 0.9, 0.1
	tests := []struct {
		name string
		loss losses.Loss
	}{
		{"TripletMargin", losses.NewTripletMargin()},
		{"TripletMargin/smooth", smooth},
		{"TripletMargin/swap", swap},
		{"TripletMargin/cosine", cosTriplet},
		{"TripletMargin/mean", meanTriplet},
		{"TripletMargin/regularized", regTriplet},
		{"Contrastive", contrastive},
		{"Contrastive/cosine", cosContrastive},
		{"SignalToNoiseRatioContrastive", losses.NewSignalToNoiseRatioContrastive()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			emb := testkit.NormalDense(rng, 8, 5)
			labels := randLabels(rng, 8, 3)
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels}, 1e-5, 1e-7)
			ref := testkit.NormalDense(rng, 6, 5)
			refLabels := randLabels(rng, 6, 3)
			if tc.name != "TripletMargin/swap" {
				checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels}, 1e-5, 1e-7)
			}
			trip := &tuples.Triplets{A: []int{0, 1, 2, 0}, P: []int{3, 4, 5, 6}, N: []int{5, 2, 1, 7}}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Tuples: trip}, 1e-5, 1e-7)
			pairs := &tuples.Pairs{A1: []int{0, 1, 2}, P: []int{3, 4, 5}, A2: []int{0, 3, 5, 6}, N: []int{1, 2, 7, 4}}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Tuples: pairs}, 1e-5, 1e-7)
		})
	}
}

// hide wraps a reducer so that it cannot stream.
type hide struct{ reducers.Reducer }

// TestTripletMarginStreamMatchesMaterialised checks the streamed
// all-triplets path against the materialised one.
func TestTripletMarginStreamMatchesMaterialised(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	b := losses.Batch{Embeddings: testkit.NormalDense(rng, 40, 6), Labels: randLabels(rng, 40, 5)}
	for _, r := range []reducers.Reducer{reducers.NewAvgNonZero(), reducers.NewMean(), reducers.NewSum(), reducers.NewThreshold(0.01, 0.3)} {
		streamed := losses.NewTripletMargin()
		streamed.Margin, streamed.Reducer = 0.2, r
		material := losses.NewTripletMargin()
		material.Margin, material.Reducer = 0.2, hide{r}
		a, err := streamed.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		c, err := material.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(a.Loss-c.Loss) > 1e-12 {
			t.Errorf("%T: loss %v streamed, %v materialised", r, a.Loss, c.Loss)
		}
		if err := fdiff.Compare(a.Grad, c.Grad, 1e-10, 1e-13); err != nil {
			t.Errorf("%T: gradient: %v", r, err)
		}
	}
}

func TestBasicEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	emb := testkit.NormalDense(rng, 5, 3)
	tests := []struct {
		name   string
		labels []int
	}{
		{"one class", []int{1, 1, 1, 1, 1}},
		{"all distinct", []int{0, 1, 2, 3, 4}},
		{"single-sample classes", []int{0, 0, 1, 2, 3}},
	}
	for _, tc := range tests {
		for _, loss := range []losses.Loss{losses.NewTripletMargin(), losses.NewContrastive(), losses.NewSignalToNoiseRatioContrastive()} {
			res, err := loss.Compute(losses.Batch{Embeddings: emb, Labels: tc.labels})
			if err != nil {
				t.Fatalf("%s %T: %v", tc.name, loss, err)
			}
			checkFinite(t, res)
		}
	}
	// N = 1: no pairs, zero loss with a zero gradient.
	one := mat.NewDense(1, 3, []float64{1, 2, 3})
	for _, loss := range []losses.Loss{losses.NewTripletMargin(), losses.NewContrastive()} {
		res, err := loss.Compute(losses.Batch{Embeddings: one, Labels: []int{0}})
		if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
			t.Errorf("%T with N=1: %v, %v", loss, res.Loss, err)
		}
	}
	// Far-apart classes: every triplet loss is zero.
	far := mat.NewDense(4, 2, []float64{1, 0, 1, 0.001, -1, 0, -1, 0.001})
	res, err := losses.NewTripletMargin().Compute(losses.Batch{Embeddings: far, Labels: []int{0, 0, 1, 1}})
	if err != nil || res.Loss != 0 {
		t.Errorf("separated classes: loss %v, err %v", res.Loss, err)
	}
	checkFinite(t, res)
}

func TestBasicBadInput(t *testing.T) {
	emb := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 8})
	nan := mat.DenseCopyOf(emb)
	nan.Set(1, 1, math.NaN())
	tests := []struct {
		name     string
		b        losses.Batch
		sentinel error
	}{
		{"label count", losses.Batch{Embeddings: emb, Labels: []int{0, 1}}, gometric.ErrLabels},
		{"nan", losses.Batch{Embeddings: nan, Labels: []int{0, 0, 1, 1}}, gometric.ErrNonFinite},
		{"empty", losses.Batch{Embeddings: &mat.Dense{}, Labels: nil}, gometric.ErrShape},
		{"no labels", losses.Batch{Embeddings: emb}, gometric.ErrLabels},
		{"ref without ref labels", losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}, Ref: emb}, gometric.ErrLabels},
		{"ref labels without ref", losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}, RefLabels: []int{0, 0, 1, 1}}, gometric.ErrLabels},
		{"ref dim", losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}, Ref: mat.NewDense(2, 3, nil), RefLabels: []int{0, 1}}, gometric.ErrShape},
		{"tuple range", losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{9}}}, gometric.ErrIndex},
		{"pair range", losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}, Tuples: &tuples.Pairs{A1: []int{-1}, P: []int{1}}}, gometric.ErrIndex},
	}
	for _, tc := range tests {
		for _, loss := range []losses.Loss{losses.NewTripletMargin(), losses.NewContrastive()} {
			_, err := loss.Compute(tc.b)
			name := "losses.TripletMargin"
			if _, ok := loss.(*losses.Contrastive); ok {
				name = "losses.Contrastive"
			}
			t.Run(tc.name+"/"+name, func(t *testing.T) { checkErr(t, err, tc.sentinel, name) })
		}
	}
	bad := losses.NewTripletMargin()
	bad.Margin = math.NaN()
	_, err := bad.Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}})
	checkErr(t, err, gometric.ErrSetting, "losses.TripletMargin")
	snr := losses.NewSignalToNoiseRatioContrastive()
	snr.Distance = distances.NewLp()
	_, err = snr.Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}})
	checkErr(t, err, gometric.ErrSetting, "losses.SignalToNoiseRatioContrastive")
}
