package miners_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// namedMiner is a miner with its Go name, as its errors spell it.
type namedMiner struct {
	name  string
	miner miners.Miner
}

// allMiners returns one ready-to-use instance of every miner (random ones
// seeded).
func allMiners(seed uint64) []namedMiner {
	dw := miners.NewDistanceWeighted()
	dw.Rand = rand.New(rand.NewPCG(seed, 1))
	uh := miners.NewUniformHistogram()
	uh.Rand = rand.New(rand.NewPCG(seed, 2))
	return []namedMiner{
		{"Angular", miners.NewAngular()},
		{"BatchEasyHard", miners.NewBatchEasyHard()},
		{"BatchHard", miners.NewBatchHard()},
		{"DistanceWeighted", dw},
		{"EmbeddingsAlreadyPackagedAsTriplets", miners.NewEmbeddingsAlreadyPackagedAsTriplets()},
		{"HDC", miners.NewHDC()},
		{"MultiSimilarity", miners.NewMultiSimilarity()},
		{"PairMargin", miners.NewPairMargin()},
		{"TripletMargin", miners.NewTripletMargin()},
		{"UniformHistogram", uh},
	}
}

func TestBadInput(t *testing.T) {
	emb := mat.NewDense(6, 2, []float64{1, 0, 0, 1, 1, 1, -1, 0, 0, -1, 2, 1})
	labels := []int{0, 0, 1, 1, 2, 2}
	nan := mat.DenseCopyOf(emb)
	nan.Set(2, 1, math.NaN())
	inf := mat.DenseCopyOf(emb)
	inf.Set(0, 0, math.Inf(-1))
	ref := mat.NewDense(3, 2, []float64{1, 2, 3, 4, 5, 6})
	refNaN := mat.DenseCopyOf(ref)
	refNaN.Set(1, 1, math.NaN())
	tests := []struct {
		name string
		in   miners.Input
		want error
		// labelsFree: EmbeddingsAlreadyPackagedAsTriplets accepts it.
		labelsFree bool
	}{
		{"nil embeddings", miners.Input{Labels: labels}, gometric.ErrShape, false},
		{"empty embeddings", miners.Input{Embeddings: &mat.Dense{}, Labels: []int{}}, gometric.ErrShape, false},
		{"NaN embeddings", miners.Input{Embeddings: nan, Labels: labels}, gometric.ErrNonFinite, false},
		{"Inf embeddings", miners.Input{Embeddings: inf, Labels: labels}, gometric.ErrNonFinite, false},
		{"too few labels", miners.Input{Embeddings: emb, Labels: labels[:5]}, gometric.ErrLabels, false},
		{"too many labels", miners.Input{Embeddings: emb, Labels: append(labels, 3)}, gometric.ErrLabels, false},
		{"nil labels", miners.Input{Embeddings: emb}, gometric.ErrLabels, true},
		{"ref without ref labels", miners.Input{Embeddings: emb, Labels: labels, Ref: ref}, gometric.ErrLabels, false},
		{"ref labels without ref", miners.Input{Embeddings: emb, Labels: labels, RefLabels: []int{0, 1, 2}}, gometric.ErrLabels, false},
		{"ref label count", miners.Input{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: []int{0, 1}}, gometric.ErrLabels, false},
		{"ref columns", miners.Input{Embeddings: emb, Labels: labels, Ref: mat.NewDense(3, 3, nil), RefLabels: []int{0, 1, 2}}, gometric.ErrShape, false},
		{"ref NaN", miners.Input{Embeddings: emb, Labels: labels, Ref: refNaN, RefLabels: []int{0, 1, 2}}, gometric.ErrNonFinite, false},
		{"ref empty", miners.Input{Embeddings: emb, Labels: labels, Ref: &mat.Dense{}, RefLabels: []int{}}, gometric.ErrShape, false},
	}
	for _, nm := range allMiners(1) {
		for _, tc := range tests {
			t.Run(nm.name+"/"+tc.name, func(t *testing.T) {
				got, err := nm.miner.Mine(tc.in)
				if tc.labelsFree && nm.name == "EmbeddingsAlreadyPackagedAsTriplets" {
					if err != nil {
						t.Fatalf("unexpected error %v", err)
					}
					return
				}
				checkError(t, nm.name, got, err, tc.want)
			})
		}
	}
}

// checkError checks that err wraps want and names the miner first.
func checkError(t *testing.T, name string, got tuples.Tuples, err, want error) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error (got %+v), want %v", got, want)
	}
	if !errors.Is(err, want) {
		t.Errorf("error %q does not wrap %v", err, want)
	}
	if prefix := "miners." + name + ": "; !strings.HasPrefix(err.Error(), prefix) {
		t.Errorf("error %q does not start with %q", err, prefix)
	}
	if got != nil {
		t.Errorf("result %+v returned with the error", got)
	}
}

func TestBadSettings(t *testing.T) {
	in := lineInput()
	nan := math.NaN()
	rng := rand.New(rand.NewPCG(1, 1))
	cosine := distances.NewCosineSimilarity()
	tests := []struct {
		name  string
		miner miners.Miner
		want  error
	}{
		{"Angular", set(miners.NewAngular(), func(m *miners.Angular) { m.Angle = nan }), gometric.ErrSetting},
		{"Angular", set(miners.NewAngular(), func(m *miners.Angular) { m.Angle = math.Inf(1) }), gometric.ErrSetting},
		{"Angular", set(miners.NewAngular(), func(m *miners.Angular) { m.Angle = 20; m.Distance = cosine }), gometric.ErrSetting},
		{"Angular", set(miners.NewAngular(), func(m *miners.Angular) {
			m.Angle = 20
			m.Distance = &distances.Lp{P: 1, Power: 1, NormalizeEmbeddings: true}
		}), gometric.ErrSetting},
		{"Angular", set(miners.NewAngular(), func(m *miners.Angular) { m.Angle = 20; m.Distance = rawLp() }), gometric.ErrSetting},
		{"Angular", set(miners.NewAngular(), func(m *miners.Angular) { m.Angle = 20; m.Distance = (*distances.Lp)(nil) }), gometric.ErrSetting},
		{"BatchEasyHard", &miners.BatchEasyHard{PosStrategy: "hardest", NegStrategy: miners.Hard}, gometric.ErrSetting},
		{"BatchEasyHard", &miners.BatchEasyHard{PosStrategy: miners.SemiHard}, gometric.ErrSetting}, // NegStrategy "" is SemiHard
		{"BatchEasyHard", &miners.BatchEasyHard{PosStrategy: miners.SemiHard, NegStrategy: miners.SemiHard}, gometric.ErrSetting},
		{"BatchEasyHard", &miners.BatchEasyHard{PosStrategy: miners.All, NegStrategy: miners.SemiHard}, gometric.ErrSetting},
		{"BatchEasyHard", &miners.BatchEasyHard{PosStrategy: miners.SemiHard, NegStrategy: miners.All}, gometric.ErrSetting},
		{"BatchEasyHard", &miners.BatchEasyHard{PosStrategy: miners.Easy, NegStrategy: miners.Hard, AllowedPosRange: &miners.Range{Low: nan, High: 1}}, gometric.ErrSetting},
		{"BatchHard", &miners.BatchHard{AllowedNegRange: &miners.Range{Low: 0, High: nan}}, gometric.ErrSetting},
		{"BatchHard", &miners.BatchHard{Distance: &distances.Lp{P: 0.5, Power: 1}}, gometric.ErrSetting},
		{"DistanceWeighted", &miners.DistanceWeighted{Cutoff: 0.5, NonzeroLossCutoff: 1.4}, gometric.ErrSetting}, // not made by NewDistanceWeighted
		{"DistanceWeighted", set(miners.NewDistanceWeighted(), func(m *miners.DistanceWeighted) { m.Cutoff = nan; m.NonzeroLossCutoff = 1.4; m.Rand = rng }), gometric.ErrSetting},
		{"DistanceWeighted", set(miners.NewDistanceWeighted(), func(m *miners.DistanceWeighted) { m.Cutoff = 0.5; m.NonzeroLossCutoff = nan; m.Rand = rng }), gometric.ErrSetting},
		{"DistanceWeighted", set(miners.NewDistanceWeighted(), func(m *miners.DistanceWeighted) {
			m.Cutoff = 0.5
			m.NonzeroLossCutoff = 1.4
			m.Rand = rng
			m.Distance = cosine
		}), gometric.ErrSetting},
		{"HDC", set(miners.NewHDC(), func(m *miners.HDC) { m.FilterPercentage = -0.1 }), gometric.ErrSetting},
		{"HDC", set(miners.NewHDC(), func(m *miners.HDC) { m.FilterPercentage = 1.5 }), gometric.ErrSetting},
		{"HDC", set(miners.NewHDC(), func(m *miners.HDC) { m.FilterPercentage = nan }), gometric.ErrSetting},
		{"MultiSimilarity", set(miners.NewMultiSimilarity(), func(m *miners.MultiSimilarity) { m.Epsilon = nan }), gometric.ErrSetting},
		{"PairMargin", set(miners.NewPairMargin(), func(m *miners.PairMargin) { m.PosMargin = nan; m.NegMargin = 1 }), gometric.ErrSetting},
		{"PairMargin", set(miners.NewPairMargin(), func(m *miners.PairMargin) { m.PosMargin = 0; m.NegMargin = math.Inf(-1) }), gometric.ErrSetting},
		{"TripletMargin", set(miners.NewTripletMargin(), func(m *miners.TripletMargin) { m.Margin = 0.1; m.TypeOfTriplets = "medium" }), gometric.ErrSetting},
		{"TripletMargin", set(miners.NewTripletMargin(), func(m *miners.TripletMargin) { m.TypeOfTriplets = "" }), gometric.ErrSetting},
		{"TripletMargin", &miners.TripletMargin{Margin: 0.2, TypeOfTriplets: miners.All}, gometric.ErrSetting}, // not made by NewTripletMargin
		{"TripletMargin", set(miners.NewTripletMargin(), func(m *miners.TripletMargin) { m.Margin = nan; m.TypeOfTriplets = miners.All }), gometric.ErrSetting},
		{"UniformHistogram", &miners.UniformHistogram{NumBins: -1, PosPerBin: 1, NegPerBin: 1, Rand: rng}, gometric.ErrSetting},
		{"UniformHistogram", &miners.UniformHistogram{NumBins: 1 << 40, PosPerBin: 1, NegPerBin: 1, Rand: rng}, gometric.ErrSetting},
		{"UniformHistogram", &miners.UniformHistogram{NumBins: 3, PosPerBin: -1, NegPerBin: 1, Rand: rng}, gometric.ErrSetting},
		{"UniformHistogram", &miners.UniformHistogram{NumBins: 3, PosPerBin: 1, NegPerBin: -1, Rand: rng}, gometric.ErrSetting},
		{"UniformHistogram", &miners.UniformHistogram{NumBins: 3, PosPerBin: 1 << 40, NegPerBin: 1, Rand: rng}, gometric.ErrSetting},
		{"PairMargin", set(miners.NewPairMargin(), func(m *miners.PairMargin) { m.Distance = &distances.DotProductSimilarity{P: 2} }), gometric.ErrSetting},
		// Nil receivers.
		{"Angular", (*miners.Angular)(nil), gometric.ErrSetting},
		{"BatchEasyHard", (*miners.BatchEasyHard)(nil), gometric.ErrSetting},
		{"BatchHard", (*miners.BatchHard)(nil), gometric.ErrSetting},
		{"DistanceWeighted", (*miners.DistanceWeighted)(nil), gometric.ErrSetting},
		{"EmbeddingsAlreadyPackagedAsTriplets", (*miners.EmbeddingsAlreadyPackagedAsTriplets)(nil), gometric.ErrSetting},
		{"HDC", (*miners.HDC)(nil), gometric.ErrSetting},
		{"MultiSimilarity", (*miners.MultiSimilarity)(nil), gometric.ErrSetting},
		{"PairMargin", (*miners.PairMargin)(nil), gometric.ErrSetting},
		{"TripletMargin", (*miners.TripletMargin)(nil), gometric.ErrSetting},
		{"UniformHistogram", (*miners.UniformHistogram)(nil), gometric.ErrSetting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.miner.Mine(in)
			checkError(t, tc.name, got, err, tc.want)
		})
	}
}

// TestOtherErrors covers errors specific to one miner.
func TestOtherErrors(t *testing.T) {
	// The batch must be whole triplets.
	for _, n := range []int{1, 2, 4, 5} {
		m := miners.NewEmbeddingsAlreadyPackagedAsTriplets()
		got, err := m.Mine(miners.Input{Embeddings: mat.NewDense(n, 2, nil)})
		checkError(t, "EmbeddingsAlreadyPackagedAsTriplets", got, err, gometric.ErrShape)
	}
	// Packaged triplets are batch rows: no ref.
	got, err := miners.NewEmbeddingsAlreadyPackagedAsTriplets().Mine(miners.Input{Embeddings: mat.NewDense(3, 1, nil), Ref: mat.NewDense(3, 1, nil)})
	checkError(t, "EmbeddingsAlreadyPackagedAsTriplets", got, err, gometric.ErrUnsupported)

	// A distance that overflows.
	huge := mat.NewDense(2, 1, []float64{1e200, -1e200})
	dot := &distances.DotProductSimilarity{P: 2, Power: 1}
	got, err = (set(miners.NewPairMargin(), func(m *miners.PairMargin) { m.Distance = dot })).Mine(miners.Input{Embeddings: huge, Labels: []int{0, 1}})
	checkError(t, "PairMargin", got, err, gometric.ErrNonFinite)

	// HDC's external indices.
	h := miners.NewHDC()
	labels := []int{0, 0, 1}
	for _, tc := range []struct {
		tup  tuples.Tuples
		want error
	}{
		{&tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{}}, gometric.ErrShape},
		{&tuples.Pairs{A1: []int{3}, P: []int{1}}, gometric.ErrIndex},
		{&tuples.Pairs{A1: []int{0}, P: []int{-1}}, gometric.ErrIndex},
		{(*tuples.Pairs)(nil), gometric.ErrShape},
	} {
		err := h.SetIndicesExternally(tc.tup, labels)
		checkError(t, "HDC", nil, err, tc.want)
	}
	// Reference indices beyond the batch fail at Mine.
	if err := h.SetIndicesExternally(&tuples.Pairs{A1: []int{0}, P: []int{7}}, labels); err != nil {
		t.Fatal(err)
	}
	got, err = h.Mine(miners.Input{Embeddings: mat.NewDense(3, 1, []float64{1, 2, 3}), Labels: labels})
	checkError(t, "HDC", got, err, gometric.ErrIndex)
	var nilH *miners.HDC
	checkError(t, "HDC", nil, nilH.SetIndicesExternally(nil, labels), gometric.ErrSetting)
	nilH.ResetIndices() // no panic
}

// set applies f to a miner made by its constructor and returns it: the
// way to change settings of miners whose zero value is refused.
func set[T any](m *T, f func(*T)) *T {
	f(m)
	return m
}
