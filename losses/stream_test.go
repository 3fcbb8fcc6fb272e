package losses_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// streamReducers are the reducers the all-pairs and all-triplets paths
// stream: with a plan (Mean, Sum, AvgNonZero, Threshold), through Each
// (ClassWeighted, streamOnly), or not at all (PerAnchor).
func streamReducers() []reducers.Reducer {
	return []reducers.Reducer{
		reducers.NewAvgNonZero(), reducers.NewMean(), reducers.NewSum(),
		reducers.NewThreshold(0.05, 0.6), reducers.NewThreshold(math.Inf(-1), 0.4),
		reducers.NewClassWeighted([]float64{0.5, 1, 2, 1.5, 0.25}), reducers.NewPerAnchor(),
		reducers.NewMultiple(map[string]reducers.Reducer{"neg_loss": reducers.NewSum()}),
		streamOnly{reducers.NewAvgNonZero()},
	}
}

// foreign is a Distance the losses know nothing of: they go through its
// public methods.
type foreign struct{ distances.Distance }

// compareResults checks a fast path's result against the materialised
// one: the loss and its parts to 1e-12, the gradients to 1e-10.
func compareResults(t *testing.T, what string, got, want losses.Result, gotErr, wantErr error) {
	t.Helper()
	if (gotErr != nil) != (wantErr != nil) {
		t.Fatalf("%s: error %v, materialised %v", what, gotErr, wantErr)
	}
	if gotErr != nil {
		// The streamed and materialised reductions word some errors
		// differently (value k, values[k]); the sentinel is the same.
		for _, s := range testkit.Sentinels {
			if errors.Is(gotErr, s) != errors.Is(wantErr, s) {
				t.Errorf("%s: error %v, materialised %v", what, gotErr, wantErr)
			}
		}
		return
	}
	if math.Abs(got.Loss-want.Loss) > 1e-12*(1+math.Abs(want.Loss)) {
		t.Errorf("%s: loss %v, materialised %v", what, got.Loss, want.Loss)
	}
	for k, v := range want.Parts {
		if math.Abs(got.Parts[k]-v) > 1e-12*(1+math.Abs(v)) {
			t.Errorf("%s: part %s %v, materialised %v", what, k, got.Parts[k], v)
		}
	}
	if err := fdiff.Compare(got.Grad, want.Grad, 1e-10, 1e-13); err != nil {
		t.Errorf("%s: gradient: %v", what, err)
	}
	if want.RefGrad != nil {
		if err := fdiff.Compare(got.RefGrad, want.RefGrad, 1e-10, 1e-13); err != nil {
			t.Errorf("%s: ref gradient: %v", what, err)
		}
	}
}

// streamBatches returns a query-only batch and one with ref embeddings.
func streamBatches(rng *rand.Rand) []losses.Batch {
	emb, labels := testkit.NormalDense(rng, 40, 6), randLabels(rng, 40, 5)
	// Near-duplicates exercise the cancellation guard.
	emb.SetRow(7, mat.Row(nil, 3, emb))
	emb.Set(7, 0, emb.At(7, 0)+1e-9)
	ref, refLabels := testkit.NormalDense(rng, 30, 6), randLabels(rng, 30, 5)
	// Labels far apart take the map path of the label grouping; a ref
	// label absent from the queries and a query label absent from the ref
	// leave anchors without positives.
	wide := func(l []int) []int {
		out := make([]int, len(l))
		for i, v := range l {
			out[i] = v*1_000_000_007 - 3
		}
		return out
	}
	odd := append([]int(nil), refLabels...)
	odd[0], odd[1] = 9, 9
	return []losses.Batch{
		{Embeddings: emb, Labels: labels},
		{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels},
		{Embeddings: emb, Labels: wide(labels)},
		{Embeddings: emb, Labels: wide(labels), Ref: ref, RefLabels: wide(odd)},
	}
}

// TestContrastiveAllPairsMatchesMaterialised checks the streamed all-pairs
// Contrastive (statistics in its own loops, upper triangle of a symmetric
// matrix, gradient as matrix entries) against the materialised path, for
// every kind of reducer and distance, with and without ref.
func TestContrastiveAllPairsMatchesMaterialised(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	dists := []distances.Distance{
		distances.NewLp(), &distances.Lp{P: 2, Power: 2}, &distances.Lp{NormalizeEmbeddings: true, P: 1, Power: 1},
		distances.NewCosineSimilarity(), &distances.DotProductSimilarity{P: 2, Power: 1}, distances.NewSNR(),
		foreign{distances.NewLp()},
	}
	for _, b := range streamBatches(rng) {
		for _, d := range dists {
			for _, r := range streamReducers() {
				for _, margins := range [][2]float64{{0, 1}, {0.3, 1.2}, {0.8, 0.2}} {
					what := fmt.Sprintf("ref=%v %T %T margins %v", b.Ref != nil, d, r, margins)
					fast, slow := losses.NewContrastive(), losses.NewContrastive()
					fast.Distance, slow.Distance = d, d
					fast.Reducer, slow.Reducer = r, hide{r}
					fast.PosMargin, fast.NegMargin = margins[0], margins[1]
					slow.PosMargin, slow.NegMargin = margins[0], margins[1]
					got, gotErr := fast.Compute(b)
					want, wantErr := slow.Compute(b)
					compareResults(t, what, got, want, gotErr, wantErr)
				}
			}
		}
	}
}

// TestTripletMarginAllMatchesMaterialised does the same for TripletMargin
// with all triplets: plain (counts), smooth and swap (per triplet).
func TestTripletMarginAllMatchesMaterialised(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	type variant struct {
		name         string
		smooth, swap bool
		d            distances.Distance
	}
	variants := []variant{
		{"plain", false, false, distances.NewLp()},
		{"cosine", false, false, distances.NewCosineSimilarity()},
		{"squared", false, false, &distances.Lp{P: 2, Power: 2}},
		{"smooth", true, false, distances.NewLp()},
		{"swap", false, true, distances.NewLp()},
		{"foreign", false, false, foreign{distances.NewLp()}},
	}
	for _, b := range streamBatches(rng) {
		for _, v := range variants {
			if v.swap && b.Ref != nil {
				continue // PML's swap needs query rows for the positives
			}
			for _, r := range streamReducers() {
				what := fmt.Sprintf("ref=%v %s %T", b.Ref != nil, v.name, r)
				fast, slow := losses.NewTripletMargin(), losses.NewTripletMargin()
				for _, l := range []*losses.TripletMargin{fast, slow} {
					l.Distance, l.SmoothLoss, l.Swap, l.Margin = v.d, v.smooth, v.swap, 0.3
				}
				fast.Reducer, slow.Reducer = r, hide{r}
				got, gotErr := fast.Compute(b)
				want, wantErr := slow.Compute(b)
				compareResults(t, what, got, want, gotErr, wantErr)
			}
		}
	}
}

// streamOnly streams through Each, without the statistics loops of
// internal/streamband.
type streamOnly struct{ r reducers.Reducer }

func (s streamOnly) ReduceOne(l reducers.SubLoss, b reducers.Batch) (float64, []float64, error) {
	return s.r.ReduceOne(l, b)
}

func (s streamOnly) ReduceStream(st reducers.Stream, b reducers.Batch) (float64, func(float64, int) float64, error) {
	v, g, _, err := reducers.ReduceStream(s.r, st, b)
	return v, g, err
}

// TestStreamOverflowError checks that a loss value that overflows is
// reported as the reducer's pass over the values reports it, when the loss
// computes the statistics itself.
func TestStreamOverflowError(t *testing.T) {
	// Dot products of ±1.69e308: the triplet (0, 1, 2) has a margin
	// violation of +Inf.
	emb := mat.NewDense(3, 2, []float64{1.3e154, 0, -1.3e154, 0, 1.3e154, 0})
	b := losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1}}
	fast, slow := losses.NewTripletMargin(), losses.NewTripletMargin()
	for _, l := range []*losses.TripletMargin{fast, slow} {
		l.Distance = &distances.DotProductSimilarity{P: 2, Power: 1}
	}
	slow.Reducer = streamOnly{reducers.NewAvgNonZero()}
	_, gotErr := fast.Compute(b)
	_, wantErr := slow.Compute(b)
	if gotErr == nil || wantErr == nil || gotErr.Error() != wantErr.Error() || !errors.Is(gotErr, gometric.ErrNonFinite) {
		t.Errorf("error %v, materialised %v", gotErr, wantErr)
	}
}

// TestConcurrentCompute runs the pooled losses from several goroutines at
// once: each result must be the one of a lone call (run with -race).
func TestConcurrentCompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	var batches []losses.Batch
	for range 4 {
		batches = append(batches, losses.Batch{Embeddings: testkit.NormalDense(rng, 24+rng.IntN(10), 5), Labels: randLabels(rng, 34, 4)})
		b := &batches[len(batches)-1]
		n, _ := b.Embeddings.Dims()
		b.Labels = b.Labels[:n]
	}
	for _, loss := range []losses.Loss{losses.NewContrastive(), losses.NewTripletMargin()} {
		want := make([]losses.Result, len(batches))
		for i, b := range batches {
			r, err := loss.Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			want[i] = r
		}
		// Eight goroutines per batch.
		testkit.Concurrently(t, 8*len(batches), 1, func(g int) error {
			i := g % len(batches)
			r, err := loss.Compute(batches[i])
			switch {
			case err != nil:
				return err
			case r.Loss != want[i].Loss || !mat.Equal(r.Grad, want[i].Grad):
				return fmt.Errorf("%T batch %d: result differs from a lone call", loss, i)
			}
			return nil
		})
	}
}
