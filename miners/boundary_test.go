package miners_test

import (
	"math"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// The boundary tests put a value exactly on every margin comparison of the
// miners and assert PML 2.8.1's decision (its source's < or <=). The
// embeddings are 1-D, so that the distances (raw L2: |x − y|) and dot
// products are exact; each test first checks that the values on the
// boundary are the intended ones, bit for bit.

// exactValues fails the test unless d's matrix of (q, ref) holds want
// (row-major), exactly.
func exactValues(t *testing.T, d distances.Distance, q, ref *mat.Dense, want ...float64) {
	t.Helper()
	m, err := d.Matrix(q, ref)
	if err != nil {
		t.Fatal(err)
	}
	r, c := m.Dims()
	if r*c != len(want) {
		t.Fatalf("matrix is %d×%d, want %d values", r, c, len(want))
	}
	for i := range r {
		for j := range c {
			if got := m.At(i, j); got != want[i*c+j] {
				t.Fatalf("value (%d, %d) = %v, want exactly %v: the input is not on the boundary", i, j, got, want[i*c+j])
			}
		}
	}
}

// mineRef mines query x (labels ql) against ref y (labels rl).
func mineRef(t *testing.T, m miners.Miner, x []float64, ql []int, y []float64, rl []int) tuples.Tuples {
	t.Helper()
	got, err := m.Mine(miners.Input{Embeddings: line(x...), Labels: ql, Ref: line(y...), RefLabels: rl})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func ints(xs ...int) []int {
	if xs == nil {
		return []int{}
	}
	return xs
}

// TestTripletMarginBoundaries: PML's TripletMarginMiner keeps margin <=
// Margin ("all"), margin <= Margin && margin <= 0 ("hard"), margin <=
// Margin && margin > 0 ("semihard"), margin > Margin ("easy"), with margin
// = d(a,n) − d(a,p) (s(a,p) − s(a,n) for a similarity). One anchor, one
// positive, and negatives whose margins are 1, 0, 0.5 and −0.5 exactly.
func TestTripletMarginBoundaries(t *testing.T) {
	// Distances: d(a, p) = 1; d(a, n) = 2, 1, 1.5, 0.5.
	x, y := []float64{0}, []float64{1, 2, 1, 1.5, 0.5}
	exactValues(t, rawLp(), line(x...), line(y...), 1, 2, 1, 1.5, 0.5)
	// Similarities: s(a, p) = 1; s(a, n) = 0, 1, 0.5, 1.5.
	xs, ys := []float64{1}, []float64{1, 0, 1, 0.5, 1.5}
	exactValues(t, rawDot(), line(xs...), line(ys...), 1, 0, 1, 0.5, 1.5)
	rl := []int{0, 1, 1, 1, 1}
	for _, tc := range []struct {
		margin float64
		kind   miners.Strategy
		neg    []int // the negatives kept (margins 1, 0, 0.5, −0.5)
	}{
		{1, miners.All, []int{1, 2, 3, 4}}, // margin == Margin is kept
		{1, miners.Easy, nil},              // and is not easy
		{1, miners.Hard, []int{2, 4}},      // margin == 0 is hard
		{1, miners.SemiHard, []int{1, 3}},  // and not semi-hard
		{0.5, miners.All, []int{2, 3, 4}},
		{0.5, miners.Easy, []int{1}},
		{0.5, miners.Hard, []int{2, 4}},
		{0.5, miners.SemiHard, []int{3}},
		{0, miners.All, []int{2, 4}}, // Margin 0: margin 0 is kept
		{0, miners.Easy, []int{1, 3}},
		{0, miners.Hard, []int{2, 4}},
		{0, miners.SemiHard, nil},
		{-0.5, miners.All, []int{4}},
		{-0.5, miners.Easy, []int{1, 2, 3}},
		{-0.5, miners.Hard, []int{4}},
		{-0.5, miners.SemiHard, nil},
	} {
		want := &tuples.Triplets{}
		for _, n := range tc.neg {
			want.A, want.P, want.N = append(want.A, 0), append(want.P, 0), append(want.N, n)
		}
		for _, d := range []distances.Distance{rawLp(), rawDot()} {
			m := miners.NewTripletMargin()
			m.Distance, m.Margin, m.TypeOfTriplets = d, tc.margin, tc.kind
			q, r := x, y
			if d.Settings().Inverted {
				q, r = xs, ys
			}
			if got := mineRef(t, m, q, []int{0}, r, rl); !sameTuples(got, want) {
				t.Errorf("Margin %v, %s, %T: %+v, want the negatives %v", tc.margin, tc.kind, d, got, tc.neg)
			}
		}
	}
}

// TestTripletMarginDuplicates: with every embedding equal every margin is
// 0: Margin 0 keeps them all as "all" and "hard", none as "semihard" or
// "easy"; the default Margin 0.2 keeps them all but as "easy".
func TestTripletMarginDuplicates(t *testing.T) {
	in := miners.Input{Embeddings: line(0.5, 0.5, 0.5, 0.5), Labels: []int{0, 0, 1, 1}}
	all := trip([]int{0, 0, 1, 1, 2, 2, 3, 3}, []int{1, 1, 0, 0, 3, 3, 2, 2}, []int{2, 3, 2, 3, 0, 1, 0, 1})
	for _, tc := range []struct {
		margin float64
		kind   miners.Strategy
		want   *tuples.Triplets
	}{
		{0, miners.All, all}, {0, miners.Hard, all}, {0, miners.SemiHard, &tuples.Triplets{}}, {0, miners.Easy, &tuples.Triplets{}},
		{0.2, miners.All, all}, {0.2, miners.Hard, all}, {0.2, miners.SemiHard, &tuples.Triplets{}}, {0.2, miners.Easy, &tuples.Triplets{}},
	} {
		for _, d := range []distances.Distance{rawLp(), distances.NewLp(), distances.NewCosineSimilarity()} {
			m := miners.NewTripletMargin()
			m.Distance, m.Margin, m.TypeOfTriplets = d, tc.margin, tc.kind
			got, err := m.Mine(in)
			if err != nil {
				t.Fatal(err)
			}
			if !sameTuples(got, tc.want) {
				t.Errorf("duplicates, Margin %v, %s, %T: %+v, want %+v", tc.margin, tc.kind, d, got, tc.want)
			}
		}
	}
}

// TestPairMarginBoundaries: PML's PairMarginMiner keeps positive pairs
// with d > PosMargin and negative pairs with d < NegMargin (s < PosMargin
// and s > NegMargin for a similarity): a pair exactly at its margin is
// not mined.
func TestPairMarginBoundaries(t *testing.T) {
	rl := []int{0, 0, 1, 1, 1}
	// Distances 0.5, 1 (positives), 1.5, 2, 1 (negatives); PosMargin 0.5,
	// NegMargin 1.5: the positive at 0.5 and the negative at 1.5 are on
	// their margins.
	x, y := []float64{0}, []float64{0.5, 1, 1.5, 2, 1}
	exactValues(t, rawLp(), line(x...), line(y...), 0.5, 1, 1.5, 2, 1)
	m := miners.NewPairMargin()
	m.Distance, m.PosMargin, m.NegMargin = rawLp(), 0.5, 1.5
	if got, want := mineRef(t, m, x, []int{0}, y, rl), pairs(ints(0), ints(1), ints(0), ints(4)); !sameTuples(got, want) {
		t.Errorf("distance: %+v, want %+v", got, want)
	}
	// Similarities 0.5, 0.25 (positives), 1.5, 2, 1 (negatives); PosMargin
	// 0.5, NegMargin 1.5.
	xs, ys := []float64{1}, []float64{0.5, 0.25, 1.5, 2, 1}
	exactValues(t, rawDot(), line(xs...), line(ys...), 0.5, 0.25, 1.5, 2, 1)
	m.Distance = rawDot()
	if got, want := mineRef(t, m, xs, []int{0}, ys, rl), pairs(ints(0), ints(1), ints(0), ints(3)); !sameTuples(got, want) {
		t.Errorf("similarity: %+v, want %+v", got, want)
	}
	// Margins 0 and duplicate embeddings: every distance is 0, on both
	// margins, so nothing is mined.
	m.Distance, m.PosMargin, m.NegMargin = rawLp(), 0, 0
	got, err := m.Mine(miners.Input{Embeddings: line(1, 1, 1, 1), Labels: []int{0, 0, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !sameTuples(got, pairs(nil, nil, nil, nil)) {
		t.Errorf("margins 0, duplicates: %+v, want nothing", got)
	}
}

// TestBatchEasyHardBoundaries: PML's BatchEasyHardMiner admits values in
// the closed ranges [Low, High] (it masks mat > High and mat < Low), and
// a semi-hard pick must be strictly beyond the other pick (it masks
// mat <= threshold for a minimum, mat >= threshold for a maximum).
func TestBatchEasyHardBoundaries(t *testing.T) {
	// Ranges: positives at 0.5, 1, 1.5 in [0.5, 1]: the hardest admitted
	// is 1 (on High); negatives at 1, 2, 2.5 in [1, 2]: the hardest
	// admitted is 1 (on Low).
	x, y := []float64{0}, []float64{0.5, 1, 1.5, 1, 2, 2.5}
	rl := []int{0, 0, 0, 1, 1, 1}
	exactValues(t, rawLp(), line(x...), line(y...), 0.5, 1, 1.5, 1, 2, 2.5)
	bh := miners.NewBatchHard()
	bh.Distance = rawLp()
	bh.AllowedPosRange, bh.AllowedNegRange = &miners.Range{Low: 0.5, High: 1}, &miners.Range{Low: 1, High: 2}
	if got, want := mineRef(t, bh, x, []int{0}, y, rl), trip(ints(0), ints(1), ints(3)); !sameTuples(got, want) {
		t.Errorf("BatchHard, closed ranges: %+v, want %+v", got, want)
	}
	// A range that is a single point admits exactly its value.
	bh.AllowedPosRange, bh.AllowedNegRange = &miners.Range{Low: 1.5, High: 1.5}, &miners.Range{Low: 2, High: 2}
	if got, want := mineRef(t, bh, x, []int{0}, y, rl), trip(ints(0), ints(2), ints(4)); !sameTuples(got, want) {
		t.Errorf("BatchHard, point ranges: %+v, want %+v", got, want)
	}

	beh := func(d distances.Distance, pos, neg miners.Strategy) *miners.BatchEasyHard {
		return &miners.BatchEasyHard{Distance: d, PosStrategy: pos, NegStrategy: neg}
	}
	// Semi-hard negative (PML's default): the easiest positive is at 1;
	// the negative at 1 is not beyond it, the one at 1.5 is.
	x, y, rl = []float64{0}, []float64{1, 1, 1.5}, []int{0, 1, 1}
	exactValues(t, rawLp(), line(x...), line(y...), 1, 1, 1.5)
	if got, want := mineRef(t, beh(rawLp(), miners.Easy, miners.SemiHard), x, []int{0}, y, rl), pairs(ints(0), ints(0), ints(0), ints(2)); !sameTuples(got, want) {
		t.Errorf("semi-hard negative: %+v, want %+v", got, want)
	}
	// Semi-hard positive: the hardest negative is at 1; the positive at 1
	// is not closer, the one at 0.5 is.
	x, y, rl = []float64{0}, []float64{0.5, 1, 1, 2}, []int{0, 0, 1, 1}
	exactValues(t, rawLp(), line(x...), line(y...), 0.5, 1, 1, 2)
	if got, want := mineRef(t, beh(rawLp(), miners.SemiHard, miners.Hard), x, []int{0}, y, rl), pairs(ints(0), ints(0), ints(0), ints(2)); !sameTuples(got, want) {
		t.Errorf("semi-hard positive: %+v, want %+v", got, want)
	}
	// The same for a similarity: the easiest positive is at 1; the
	// negative at 1 is not below it, the one at 0.5 is.
	xs, ys := []float64{1}, []float64{1, 1, 0.5}
	exactValues(t, rawDot(), line(xs...), line(ys...), 1, 1, 0.5)
	if got, want := mineRef(t, beh(rawDot(), miners.Easy, miners.SemiHard), xs, []int{0}, ys, []int{0, 1, 1}), pairs(ints(0), ints(0), ints(0), ints(2)); !sameTuples(got, want) {
		t.Errorf("semi-hard negative, similarity: %+v, want %+v", got, want)
	}
	// Duplicates: every distance is 0, so no negative is beyond the
	// positive and no anchor is kept.
	got, err := beh(rawLp(), miners.Easy, miners.SemiHard).Mine(miners.Input{Embeddings: line(2, 2, 2, 2), Labels: []int{0, 0, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !sameTuples(got, pairs(nil, nil, nil, nil)) {
		t.Errorf("duplicates, semi-hard negative: %+v, want nothing", got)
	}
}

// TestMultiSimilarityBoundaries: PML's MultiSimilarityMiner keeps a
// positive with d + ε > min negative d and a negative with d − ε < max
// positive d (s − ε < max negative s and s + ε > min positive s for a
// similarity), strictly: a pair exactly ε from the other side is not
// mined.
func TestMultiSimilarityBoundaries(t *testing.T) {
	// Distances: positives 1 (1 + 0.5 == 1.5, the closest negative: not
	// kept) and 1.25; negatives 1.5, 1.75 (1.75 − 0.5 == 1.25, the
	// farthest positive: not kept) and 1.625.
	x, y := []float64{0}, []float64{1, 1.25, 1.5, 1.75, 1.625}
	rl := []int{0, 0, 1, 1, 1}
	exactValues(t, rawLp(), line(x...), line(y...), 1, 1.25, 1.5, 1.75, 1.625)
	m := miners.NewMultiSimilarity()
	m.Distance, m.Epsilon = rawLp(), 0.5
	if got, want := mineRef(t, m, x, []int{0}, y, rl), pairs(ints(0), ints(1), ints(0, 0), ints(2, 4)); !sameTuples(got, want) {
		t.Errorf("distance: %+v, want %+v", got, want)
	}
	// Similarities: positives 1 (1 − 0.5 == 0.5, the largest negative: not
	// kept) and 0.75; negatives 0.5, 0.25 (0.25 + 0.5 == 0.75, the
	// smallest positive: not kept) and 0.375.
	xs, ys := []float64{1}, []float64{1, 0.75, 0.5, 0.25, 0.375}
	exactValues(t, rawDot(), line(xs...), line(ys...), 1, 0.75, 0.5, 0.25, 0.375)
	m.Distance = rawDot()
	if got, want := mineRef(t, m, xs, []int{0}, ys, rl), pairs(ints(0), ints(1), ints(0, 0), ints(4, 2)); !sameTuples(got, want) {
		t.Errorf("similarity: %+v, want %+v", got, want)
	}
	// Epsilon 0 and duplicates: every distance is 0, and 0 + 0 > 0 fails.
	m.Distance, m.Epsilon = rawLp(), 0
	got, err := m.Mine(miners.Input{Embeddings: line(3, 3, 3, 3), Labels: []int{0, 0, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if !sameTuples(got, pairs(nil, nil, nil, nil)) {
		t.Errorf("epsilon 0, duplicates: %+v, want nothing", got)
	}
}

// TestAngularBoundary: PML's AngularMiner keeps a triplet whose angle
// atan(‖a − p + ε‖ / (2‖n − c + ε‖)) is greater than radians(Angle),
// strictly. The Angle used is one whose radians equal the triplet's
// angle exactly; the next smaller Angle keeps it.
func TestAngularBoundary(t *testing.T) {
	const eps = 1e-6 // torch's pairwise_distance
	tested := 0
	for _, nx := range []float64{3, 1.75, -2, 0.5 + 0x1p-10} {
		// a = 0, p = 1, so c = 0.5; the angle as PML computes it.
		ap := math.Abs((0 - 1) + eps)
		nc := math.Abs((nx - 0.5) + eps)
		theta := math.Atan(ap / (2 * nc))
		deg, ok := degreesOf(theta)
		if !ok {
			continue
		}
		tested++
		below := math.Nextafter(deg, math.Inf(-1))
		for below*(math.Pi/180) >= theta {
			below = math.Nextafter(below, math.Inf(-1))
		}
		for _, c := range []struct {
			angle float64
			kept  bool
		}{{deg, false}, {below, true}} {
			m := miners.NewAngular()
			m.Angle = c.angle
			got := mineRef(t, m, []float64{0}, []int{0}, []float64{1, nx}, []int{0, 1})
			if kept := got.(*tuples.Triplets).Len() == 1; kept != c.kept {
				t.Errorf("n = %v, angle %v rad, Angle %v° (%v rad): kept %v, want %v", nx, theta, c.angle, c.angle*(math.Pi/180), kept, c.kept)
			}
		}
	}
	if tested < 2 {
		t.Fatalf("only %d of the triplets have an angle that some Angle hits exactly", tested)
	}
}

// degreesOf returns an angle in degrees whose radians (x·(π/180), numpy's
// radians) are exactly theta, if one lies within a few ulps of
// theta/(π/180).
func degreesOf(theta float64) (float64, bool) {
	d := theta / (math.Pi / 180)
	lo := d
	for range 64 {
		lo = math.Nextafter(lo, math.Inf(-1))
	}
	for x, k := lo, 0; k < 129; x, k = math.Nextafter(x, math.Inf(1)), k+1 {
		if x*(math.Pi/180) == theta {
			return x, true
		}
	}
	return 0, false
}

// TestHDCCount: PML's HDCMiner keeps int(math.ceil(filter_percentage ·
// count)) pairs of each kind, in float64: 0.28·50 is 14.000000000000002
// and 0.28·25 is 7.000000000000001, so it keeps 15 of 50 positive pairs
// and 8 of 25 negative pairs.
func TestHDCCount(t *testing.T) {
	m := miners.NewHDC()
	m.Distance, m.FilterPercentage = rawLp(), 0.28
	var y []float64
	var rl []int
	for i := range 75 {
		y = append(y, float64(i))
		rl = append(rl, i/50)
	}
	got := mineRef(t, m, []float64{0.5}, []int{0}, y, rl)
	if c := miners.CountOf(got); c.PosPairs != 15 || c.NegPairs != 8 {
		t.Errorf("FilterPercentage 0.28 of 50 and 25 pairs: %+v, want 15 and 8 (PML's ceil of 14.000000000000002 and 7.000000000000001)", c)
	}
}
