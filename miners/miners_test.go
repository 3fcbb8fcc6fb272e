package miners_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// line returns 1-D embeddings: with an unnormalised Lp distance the
// distances are |x_i − x_j|, easy to check by hand.
func line(xs ...float64) *mat.Dense { return mat.NewDense(len(xs), 1, xs) }

func rawLp() *distances.Lp { return &distances.Lp{P: 2, Power: 1} }

// rawDot is an unnormalised dot product: s_ij = x_i·x_j.
func rawDot() *distances.DotProductSimilarity {
	return &distances.DotProductSimilarity{P: 2, Power: 1}
}

func sincos(deg float64) (s, c float64) { return math.Sincos(deg * math.Pi / 180) }

func trip(a, p, n []int) *tuples.Triplets { return &tuples.Triplets{A: a, P: p, N: n} }

func pairs(a1, p, a2, n []int) *tuples.Pairs { return &tuples.Pairs{A1: a1, P: p, A2: a2, N: n} }

// sameTuples compares in order (not canonicalised): the miners keep PML's
// natural order. Nil and empty slices are equal.
func sameTuples(a, b tuples.Tuples) bool {
	eq := func(x, y []int) bool { return len(x) == len(y) && (len(x) == 0 || slices.Equal(x, y)) }
	switch x := a.(type) {
	case *tuples.Triplets:
		y, ok := b.(*tuples.Triplets)
		return ok && eq(x.A, y.A) && eq(x.P, y.P) && eq(x.N, y.N)
	case *tuples.Pairs:
		y, ok := b.(*tuples.Pairs)
		return ok && eq(x.A1, y.A1) && eq(x.P, y.P) && eq(x.A2, y.A2) && eq(x.N, y.N)
	}
	return false
}

// The batch used by most hand-checked cases: x = 0, 1, 3, 6 with labels
// 0, 0, 1, 1. Distances: d01 = 1, d02 = 3, d03 = 6, d12 = 2, d13 = 5,
// d23 = 3.
var (
	lineX      = []float64{0, 1, 3, 6}
	lineLabels = []int{0, 0, 1, 1}
)

func lineInput() miners.Input { return miners.Input{Embeddings: line(lineX...), Labels: lineLabels} }

// refInput: query 0, 3 (labels 0, 1) against ref 1, 2, 5 (labels 0, 1, 0).
// d(q0, ·) = 1, 2, 5; d(q1, ·) = 2, 1, 2. Positives (0,0), (0,2), (1,1);
// negatives (0,1), (1,0), (1,2). Nothing is excluded as a self pair.
func refInput() miners.Input {
	return miners.Input{Embeddings: line(0, 3), Labels: []int{0, 1}, Ref: line(1, 2, 5), RefLabels: []int{0, 1, 0}}
}

func TestHandChecked(t *testing.T) {
	tm := func(margin float64, kind miners.Strategy) *miners.TripletMargin {
		return set(miners.NewTripletMargin(), func(m *miners.TripletMargin) { m.Distance = rawLp(); m.Margin = margin; m.TypeOfTriplets = kind })
	}
	beh := func(pos, neg miners.Strategy, posR, negR *miners.Range) *miners.BatchEasyHard {
		return &miners.BatchEasyHard{Distance: rawLp(), PosStrategy: pos, NegStrategy: neg, AllowedPosRange: posR, AllowedNegRange: negR}
	}
	ang := func(deg float64) *miners.Angular { m := miners.NewAngular(); m.Angle = deg; return m }
	self := lineInput()
	// Same rows as ref, but an explicit Ref: nothing is excluded, so each
	// element is its own positive.
	explicitRef := miners.Input{Embeddings: line(lineX...), Labels: lineLabels, Ref: line(lineX...), RefLabels: lineLabels}

	tests := []struct {
		name  string
		miner miners.Miner
		in    miners.Input
		want  tuples.Tuples
	}{
		// Triplet margins an − ap: a0: (p1; n2) 2, (p1; n3) 5;
		// a1: (p0; n2) 1, (p0; n3) 4; a2: (p3; n0) 0, (p3; n1) −1;
		// a3: (p2; n0) 3, (p2; n1) 2.
		{"TripletMargin all", tm(2, miners.All), self,
			trip([]int{0, 1, 2, 2, 3}, []int{1, 0, 3, 3, 2}, []int{2, 2, 0, 1, 1})},
		{"TripletMargin hard", tm(2, miners.Hard), self,
			trip([]int{2, 2}, []int{3, 3}, []int{0, 1})},
		{"TripletMargin semihard", tm(2, miners.SemiHard), self,
			trip([]int{0, 1, 3}, []int{1, 0, 2}, []int{2, 2, 1})},
		{"TripletMargin easy", tm(2, miners.Easy), self,
			trip([]int{0, 1, 3}, []int{1, 0, 2}, []int{3, 3, 0})},
		{"TripletMargin similarity", set(miners.NewTripletMargin(), func(m *miners.TripletMargin) { m.Distance = rawDot(); m.Margin = 1; m.TypeOfTriplets = miners.All }), self,
			// s = x_i·x_j; margin s(a,p) − s(a,n) <= 1:
			// a0: all zero → both; a1: s10 = 0, s12 = 3, s13 = 6 → both;
			// a2: s23 = 18, s20 = 0, s21 = 3 → none; a3: s32 = 18, s30 = 0, s31 = 6 → none.
			trip([]int{0, 0, 1, 1}, []int{1, 1, 0, 0}, []int{2, 3, 2, 3})},
		{"TripletMargin ref", tm(2, miners.All), refInput(),
			trip([]int{0, 0, 1, 1}, []int{0, 2, 1, 1}, []int{1, 1, 0, 2})},
		{"TripletMargin explicit ref keeps self pairs", tm(-2, miners.Easy), explicitRef,
			// margin an − ap >= −1 > −2 always here; a0 has positives 0 and 1.
			trip([]int{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3},
				[]int{0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3},
				[]int{2, 3, 2, 3, 2, 3, 2, 3, 0, 1, 0, 1, 0, 1, 0, 1})},

		// Positives farther than 2: (2,3), (3,2); negatives closer than 3:
		// (1,2), (2,1).
		{"PairMargin", set(miners.NewPairMargin(), func(m *miners.PairMargin) { m.Distance = rawLp(); m.PosMargin = 2; m.NegMargin = 3 }), self,
			pairs([]int{2, 3}, []int{3, 2}, []int{1, 2}, []int{2, 1})},
		{"PairMargin ref", set(miners.NewPairMargin(), func(m *miners.PairMargin) { m.Distance = rawLp(); m.PosMargin = 2; m.NegMargin = 2.5 }), refInput(),
			pairs([]int{0}, []int{2}, []int{0, 1, 1}, []int{1, 0, 2})},
		{"PairMargin similarity", set(miners.NewPairMargin(), func(m *miners.PairMargin) { m.Distance = rawDot(); m.PosMargin = 5; m.NegMargin = 5 }), self,
			// positives with s < 5: (0,1), (1,0); negatives with s > 5: (1,3), (3,1).
			pairs([]int{0, 1}, []int{1, 0}, []int{1, 3}, []int{3, 1})},

		// Hardest positive, closest negative; a3's closest negative is 1 (5).
		{"BatchHard", &miners.BatchHard{Distance: rawLp()}, self,
			trip([]int{0, 1, 2, 3}, []int{1, 0, 3, 2}, []int{2, 2, 1, 1})},
		// q1's negatives r0 and r2 tie at 2: the first index wins.
		{"BatchHard ref tie", &miners.BatchHard{Distance: rawLp()}, refInput(),
			trip([]int{0, 1}, []int{2, 1}, []int{1, 0})},
		{"BatchHard neg range", &miners.BatchHard{Distance: rawLp(), AllowedNegRange: &miners.Range{Low: 2.5, High: 10}}, self,
			trip([]int{0, 1, 2, 3}, []int{1, 0, 3, 2}, []int{2, 3, 0, 1})},
		// Default: easy positive, semi-hard negative (closest negative
		// farther than the positive). a2 (positive at 3; negatives at 3
		// and 2) has none.
		{"BatchEasyHard easy/semihard", beh(miners.Easy, miners.SemiHard, nil, nil), self,
			pairs([]int{0, 1, 3}, []int{1, 0, 2}, []int{0, 1, 3}, []int{2, 2, 1})},
		{"BatchEasyHard hard/easy", beh(miners.Hard, miners.Easy, nil, nil), self,
			pairs([]int{0, 1, 2, 3}, []int{1, 0, 3, 2}, []int{0, 1, 2, 3}, []int{3, 3, 0, 0})},
		// Semi-hard positive: farthest positive closer than the hardest
		// negative; a2's positive (3) is not closer than its negative (2).
		{"BatchEasyHard semihard/hard", beh(miners.SemiHard, miners.Hard, nil, nil), self,
			pairs([]int{0, 1, 3}, []int{1, 0, 2}, []int{0, 1, 3}, []int{2, 2, 1})},
		{"BatchEasyHard all/hard", beh(miners.All, miners.Hard, nil, nil), self,
			pairs([]int{0, 1, 2, 3}, []int{1, 0, 3, 2}, []int{0, 1, 2, 3}, []int{2, 2, 1, 1})},
		{"BatchEasyHard easy/all", beh(miners.Easy, miners.All, &miners.Range{Low: 2, High: 4}, nil), self,
			pairs([]int{2, 3}, []int{3, 2}, []int{0, 0, 1, 1, 2, 2, 3, 3}, []int{2, 3, 2, 3, 0, 1, 0, 1})},
		{"BatchEasyHard all/all", beh(miners.All, miners.All, nil, nil), self,
			pairs([]int{0, 1, 2, 3}, []int{1, 0, 3, 2}, []int{0, 0, 1, 1, 2, 2, 3, 3}, []int{2, 3, 2, 3, 0, 1, 0, 1})},
		{"BatchEasyHard easy/easy neg range", beh(miners.Easy, miners.Easy, nil, &miners.Range{Low: 0, High: 5.5}), self,
			pairs([]int{0, 1, 2, 3}, []int{1, 0, 3, 2}, []int{0, 1, 2, 3}, []int{2, 3, 0, 1})},
		{"BatchEasyHard empty range", beh(miners.Easy, miners.Easy, &miners.Range{Low: 4, High: 3}, nil), self,
			pairs(nil, nil, nil, nil)},

		// Distance: positive kept if d + ε > min negative; negative kept if
		// d − ε < max positive. Only a2 qualifies; its negatives come in
		// ascending distance order (n1 at 2, then n0 at 3).
		{"MultiSimilarity distance", set(miners.NewMultiSimilarity(), func(m *miners.MultiSimilarity) { m.Distance = rawLp(); m.Epsilon = 0.5 }), self,
			pairs([]int{2}, []int{3}, []int{2, 2}, []int{1, 0})},
		// Similarity s = x_i·x_j: a2: positives {3: 18}, negatives {0: 0,
		// 1: 3}: 18 − 1 < 3? no; negatives s + 1 > 18? no. a1: positive
		// {0: 0}, negatives {2: 3, 3: 6}: 0 − 1 < 6 yes; 3 + 1 > 0, 6 + 1 > 0
		// yes. a0: all zero: positive −1 < 0 yes, negatives 1 > 0 yes.
		// a3: positive 18 − 1 < 6? no; negatives 0 + 1 > 18? 6 + 1? no.
		{"MultiSimilarity similarity", set(miners.NewMultiSimilarity(), func(m *miners.MultiSimilarity) { m.Distance = rawDot(); m.Epsilon = 1 }), self,
			pairs([]int{0, 1}, []int{1, 0}, []int{0, 0, 1, 1}, []int{2, 3, 2, 3})},
		{"MultiSimilarity no negatives", miners.NewMultiSimilarity(), miners.Input{Embeddings: line(1, 2, 3), Labels: []int{4, 4, 4}},
			pairs(nil, nil, nil, nil)},

		// Positives (values 1, 1, 3, 3): the 2 largest; negatives (3, 6, 2,
		// 5, 3, 2, 6, 5): the 4 smallest, ties in pair order.
		{"HDC", set(miners.NewHDC(), func(m *miners.HDC) { m.Distance = rawLp(); m.FilterPercentage = 0.5 }), self,
			pairs([]int{2, 3}, []int{3, 2}, []int{1, 2, 0, 2}, []int{2, 1, 2, 0})},
		{"HDC zero", set(miners.NewHDC(), func(m *miners.HDC) { m.Distance = rawLp(); m.FilterPercentage = 0 }), self,
			pairs(nil, nil, nil, nil)},
		{"HDC similarity", set(miners.NewHDC(), func(m *miners.HDC) { m.Distance = rawDot(); m.FilterPercentage = 0.25 }), self,
			// positives s = 0, 0, 18, 18 → 1 smallest: (0,1);
			// negatives s = 0, 0, 3, 6, 0, 3, 0, 6 → 2 largest: (1,3), (3,1).
			pairs([]int{0}, []int{1}, []int{1, 3}, []int{3, 1})},

		// Angles atan(|a − p| / (2|n − c|)), c = (a + p)/2: a0, a1: 11.3°
		// (n2), 5.2° (n3); a2, a3: 18.4° (n0), 23.2° (n1).
		{"Angular 20", ang(20), self, trip([]int{2, 3}, []int{3, 2}, []int{1, 1})},
		{"Angular 10", ang(10), self,
			trip([]int{0, 1, 2, 2, 3, 3}, []int{1, 0, 3, 3, 2, 2}, []int{2, 2, 0, 1, 0, 1})},
		{"Angular 90", ang(90), self, trip(nil, nil, nil)},

		{"EmbeddingsAlreadyPackagedAsTriplets", miners.NewEmbeddingsAlreadyPackagedAsTriplets(),
			miners.Input{Embeddings: line(1, 2, 3, 4, 5, 6)}, trip([]int{0, 3}, []int{1, 4}, []int{2, 5})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.miner.Mine(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !sameTuples(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestHDCExternal checks the cascade state of HDC: externally set indices
// are filtered, the result replaces them, and ResetIndices goes back to the
// batch's pairs.
func TestHDCExternal(t *testing.T) {
	h := set(miners.NewHDC(), func(m *miners.HDC) { m.Distance = rawLp(); m.FilterPercentage = 0.5 })
	in := lineInput()
	// Triplets (a, p, n) become (a, p) and (a, n).
	ext := trip([]int{0, 2, 3}, []int{1, 3, 2}, []int{3, 1, 0})
	if err := h.SetIndicesExternally(ext, lineLabels); err != nil {
		t.Fatal(err)
	}
	ext.A[0] = 99 // the miner copied the slices
	got, err := h.Mine(in)
	if err != nil {
		t.Fatal(err)
	}
	// Positives (0,1) 1, (2,3) 3, (3,2) 3 → 2 largest: (2,3), (3,2).
	// Negatives (0,3) 6, (2,1) 2, (3,0) 6 → 2 smallest: (2,1), (0,3).
	want := pairs([]int{2, 3}, []int{3, 2}, []int{2, 0}, []int{1, 3})
	if !sameTuples(got, want) {
		t.Fatalf("first cascade step: got %+v, want %+v", got, want)
	}
	// Second call filters the previous result: 1 of each.
	got, err = h.Mine(in)
	if err != nil {
		t.Fatal(err)
	}
	want = pairs([]int{2}, []int{3}, []int{2}, []int{1})
	if !sameTuples(got, want) {
		t.Fatalf("second cascade step: got %+v, want %+v", got, want)
	}
	h.ResetIndices()
	got, err = h.Mine(in)
	if err != nil {
		t.Fatal(err)
	}
	want = pairs([]int{2, 3}, []int{3, 2}, []int{1, 2, 0, 2}, []int{2, 1, 2, 0})
	if !sameTuples(got, want) {
		t.Fatalf("after reset: got %+v, want %+v", got, want)
	}
	// nil means all pairs of the labels.
	if err := h.SetIndicesExternally(nil, lineLabels); err != nil {
		t.Fatal(err)
	}
	if got, err = h.Mine(in); err != nil || !sameTuples(got, want) {
		t.Fatalf("external nil: got %+v, %v; want %+v", got, err, want)
	}
}

// TestUniformHistogramBins checks the bin structure on a hand-made batch:
// positive values 1, 1, 3, 3 in 2 bins [1, 2) and [2, 3].
func TestUniformHistogramBins(t *testing.T) {
	u := &miners.UniformHistogram{Distance: rawLp(), NumBins: 2, PosPerBin: 3, NegPerBin: 1, Rand: rand.New(rand.NewPCG(1, 2))}
	got, err := u.Mine(lineInput())
	if err != nil {
		t.Fatal(err)
	}
	p := got.(*tuples.Pairs)
	if len(p.A1) != 6 || len(p.A2) != 2 {
		t.Fatalf("got %d positive and %d negative pairs, want 6 and 2", len(p.A1), len(p.A2))
	}
	for k := range 3 {
		if p.A1[k] > 1 || p.A1[k+3] < 2 {
			t.Errorf("positive pairs out of their bins: %v %v", p.A1, p.P)
		}
	}
	// Negative values 3, 6, 2, 5, 3, 2, 6, 5: bins [2, 4) and [4, 6].
	m := line(lineX...)
	d := func(i, j int) float64 { return max(m.At(i, 0)-m.At(j, 0), m.At(j, 0)-m.At(i, 0)) }
	if d(p.A2[0], p.N[0]) >= 4 || d(p.A2[1], p.N[1]) < 4 {
		t.Errorf("negative pairs out of their bins: %v %v", p.A2, p.N)
	}
}

// TestDistanceWeightedStructure checks what does not depend on the draws.
func TestDistanceWeightedStructure(t *testing.T) {
	// Unit vectors in the plane at angles 0°, 10°, 100°, 110°, 200°:
	// labels 0, 0, 1, 1, 2. Element 4 is alone in its class: no triplets
	// as an anchor; it can still be drawn as a negative.
	emb := mat.NewDense(5, 2, nil)
	for i, deg := range []float64{0, 10, 100, 110, 200} {
		s, c := sincos(deg)
		emb.SetRow(i, []float64{c, s})
	}
	in := miners.Input{Embeddings: emb, Labels: []int{0, 0, 1, 1, 2}}
	dw := miners.NewDistanceWeighted()
	dw.NonzeroLossCutoff = 10 // keep every negative
	for seed := range uint64(20) {
		dw.Rand = rand.New(rand.NewPCG(seed, 7))
		got, err := dw.Mine(in)
		if err != nil {
			t.Fatal(err)
		}
		tr := got.(*tuples.Triplets)
		// Each anchor of classes 0 and 1 appears class-size (2) times, in
		// label then anchor order.
		if !slices.Equal(tr.A, []int{0, 0, 1, 1, 2, 2, 3, 3}) {
			t.Fatalf("anchors %v", tr.A)
		}
		for i, a := range tr.A {
			if tr.P[i] != a^1 || in.Labels[tr.N[i]] == in.Labels[a] {
				t.Fatalf("bad triplet (%d, %d, %d)", a, tr.P[i], tr.N[i])
			}
		}
	}
	// With the default cut-off 1.4 (a chord of about 88.9°), every
	// negative is at least 90° away from its anchor: nothing is drawn.
	dw.NonzeroLossCutoff = 1.4
	got, err := dw.Mine(in)
	if err != nil {
		t.Fatal(err)
	}
	if got.(*tuples.Triplets).Len() != 0 {
		t.Fatalf("got %+v, want no triplets", got)
	}
}
