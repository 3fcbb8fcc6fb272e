package losses_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// The boundary tests put a value exactly on a margin comparison of a loss
// and assert PML 2.8.1's decision: torch's relu(0) is 0 with gradient 0,
// AvgNonZeroReducer counts losses > 0 only, MarginLoss's divisor counts
// pos_loss > 0 and neg_loss > 0, RankedListLoss keeps d > α − margin and
// d < α (and weights only d > 0), ThresholdConsistentMarginLoss keeps
// s <= margin_plus and s >= margin_minus, ArcFaceLoss keeps θ + m where
// θ <= π − m. The embeddings are small dyadic numbers, so the distances
// (raw L2, |x − y| in 1-D), dot products, SNRs and cosines are exact; each
// test checks that first. Expected values are PML's, worked by hand.

// bLine is a column of 1-D embeddings.
func bLine(xs ...float64) *mat.Dense { return mat.NewDense(len(xs), 1, xs) }

func bRawLp() *distances.Lp { return &distances.Lp{P: 2, Power: 1} }

func bRawDot() *distances.DotProductSimilarity {
	return &distances.DotProductSimilarity{P: 2, Power: 1}
}

// bExact fails unless d's self matrix of x holds want (row-major) exactly.
func bExact(t *testing.T, d distances.Distance, x *mat.Dense, want ...float64) {
	t.Helper()
	m, err := d.Matrix(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, c := m.Dims()
	for i := range r {
		for j := range c {
			if got := m.At(i, j); got != want[i*c+j] {
				t.Fatalf("%T value (%d, %d) = %v, want exactly %v: the input is not on the boundary", d, i, j, got, want[i*c+j])
			}
		}
	}
}

// bCheck computes l on b and compares the loss (within rtol, 0 for exact)
// and, when grad is not nil, the gradient (row-major, exactly or within
// rtol relative, rtol absolute near 0) with PML's.
func bCheck(t *testing.T, what string, l losses.Loss, b losses.Batch, loss float64, grad []float64, rtol float64) {
	t.Helper()
	res, err := l.Compute(b)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !(math.Abs(res.Loss-loss) <= rtol*math.Abs(loss)) {
		t.Errorf("%s: loss %v, want PML's %v", what, res.Loss, loss)
	}
	if res.Grad == nil {
		t.Fatalf("%s: no gradient", what)
	}
	raw := res.Grad.RawMatrix()
	for i := range raw.Rows {
		for j := range raw.Cols {
			g := raw.Data[i*raw.Stride+j]
			if math.IsNaN(g) || math.IsInf(g, 0) {
				t.Errorf("%s: gradient (%d, %d) is %v", what, i, j, g)
				continue
			}
			if grad == nil {
				continue
			}
			if w := grad[i*raw.Cols+j]; !(math.Abs(g-w) <= rtol*(math.Abs(w)+1)) {
				t.Errorf("%s: gradient (%d, %d) = %v, want PML's %v", what, i, j, g, w)
			}
		}
	}
}

// TestTripletMarginAtMargin: a triplet whose violation d(a,p) − d(a,n) +
// margin is exactly 0 has loss 0, no gradient and is not counted by
// AvgNonZero.
func TestTripletMarginAtMargin(t *testing.T) {
	// x = 0, 1 (class 0), 2 (class 1), margin 1: triplet (0, 1, 2) has
	// 1 − 2 + 1 = 0; triplet (1, 0, 2) has 1 − 1 + 1 = 1. Loss 1/1, and
	// the gradient of d(1,0) − d(1,2): x0 −1, x1 +2, x2 −1.
	x := bLine(0, 1, 2)
	bExact(t, bRawLp(), x, 0, 1, 2, 1, 0, 1, 2, 1, 0)
	l := losses.NewTripletMargin()
	l.Distance, l.Margin = bRawLp(), 1
	bCheck(t, "distance", l, losses.Batch{Embeddings: x, Labels: []int{0, 0, 1}}, 1, []float64{-1, 2, -1}, 0)
	// With MeanReducer the triplet at the margin counts in the mean, but
	// relu'(0) = 0 still gives it no gradient.
	l.Reducer = reducers.NewMean()
	bCheck(t, "distance, mean", l, losses.Batch{Embeddings: x, Labels: []int{0, 0, 1}}, 0.5, []float64{-0.5, 1, -0.5}, 0)
	l.Reducer = nil

	// The same with a similarity, violation s(a,n) − s(a,p) + margin:
	// x = 1, 2 (class 0), 1 (class 1), margin 1: triplet (0, 1, 2) has
	// 1 − 2 + 1 = 0; (1, 0, 2) has 2 − 2 + 1 = 1, whose gradient of
	// x1·x2 − x1·x0 is x0 −x1 = −2, x1 x2 − x0 = 0, x2 x1 = 2.
	xs := bLine(1, 2, 1)
	bExact(t, bRawDot(), xs, 1, 2, 1, 2, 4, 2, 1, 2, 1)
	l.Distance = bRawDot()
	bCheck(t, "similarity", l, losses.Batch{Embeddings: xs, Labels: []int{0, 0, 1}}, 1, []float64{-2, 0, 2}, 0)

	// Margin 0 with duplicate embeddings: every violation is 0, so the
	// loss and the gradient are 0.
	dup := bLine(0.5, 0.5, 0.5, 0.5)
	l.Distance, l.Margin = bRawLp(), 0
	bCheck(t, "margin 0, duplicates", l, losses.Batch{Embeddings: dup, Labels: []int{0, 0, 1, 1}}, 0, []float64{0, 0, 0, 0}, 0)
	// PML's default margin 0.05 and LpDistance on duplicates: every
	// triplet violates by 0.05; the distances are 0, whose gradient
	// (torch.cdist's) is 0.
	def := losses.NewTripletMargin()
	bCheck(t, "default, duplicates", def, losses.Batch{Embeddings: dup, Labels: []int{0, 0, 1, 1}}, 0.05, []float64{0, 0, 0, 0}, 1e-15)
}

// TestContrastiveAtMargins: a positive pair exactly at PosMargin and a
// negative pair exactly at NegMargin have loss 0, no gradient, and are not
// counted by AvgNonZero.
func TestContrastiveAtMargins(t *testing.T) {
	// x = 0, 1 (class 0), 2, 4 (class 1), PosMargin 1, NegMargin 2.
	// Positives: d01 = 1 (at the margin), d23 = 2 (loss 1, twice): pos
	// loss 2/2. Negatives: d02 = 2 (at the margin), d12 = 1 (loss 1,
	// twice), d03 = 4, d13 = 3 (0): neg loss 2/2. Gradient: pos pairs
	// (2,3), (3,2) give x2 −2, x3 +2; neg pairs (1,2), (2,1) give x1 +2,
	// x2 −2; each halved.
	x := bLine(0, 1, 2, 4)
	bExact(t, bRawLp(), x, 0, 1, 2, 4, 1, 0, 1, 3, 2, 1, 0, 2, 4, 3, 2, 0)
	l := losses.NewContrastive()
	l.Distance, l.PosMargin, l.NegMargin = bRawLp(), 1, 2
	b := losses.Batch{Embeddings: x, Labels: []int{0, 0, 1, 1}}
	bCheck(t, "margins 1, 2", l, b, 2, []float64{0, 1, -2, 1}, 0)
	// The same pairs as mined tuples (the materialised path).
	all, err := tuples.AllPairs(b.Labels, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	b.Tuples = all
	bCheck(t, "margins 1, 2, tuples", l, b, 2, []float64{0, 1, -2, 1}, 0)
	// With MeanReducer the pairs at the margins count in the means (4
	// positive, 8 negative pairs) but get no gradient (relu'(0) = 0):
	// loss 2/4 + 2/8.
	l.Reducer = reducers.NewMean()
	b.Tuples = nil
	bCheck(t, "margins 1, 2, mean", l, b, 0.75, []float64{0, 0.25, -0.75, 0.5}, 0)
	b.Tuples = all
	bCheck(t, "margins 1, 2, mean, tuples", l, b, 0.75, []float64{0, 0.25, -0.75, 0.5}, 0)
	l.Reducer = nil

	// PML's defaults (PosMargin 0, NegMargin 1, LpDistance) on
	// duplicates: every positive is at its margin (0), every negative
	// loses 1; the gradient of a zero distance is 0.
	dup := bLine(3, 3, 3, 3)
	bCheck(t, "default, duplicates", losses.NewContrastive(), losses.Batch{Embeddings: dup, Labels: []int{0, 0, 1, 1}}, 1, []float64{0, 0, 0, 0}, 0)
}

// TestSNRContrastiveAtMargin: SignalToNoiseRatioContrastive with the SNR
// exactly at NegMargin 1. x = (0, 2), y = (0, 4), different classes:
// SNR(x→y) = var(y − x)/var(x) = 2/2 = 1 (at the margin), SNR(y→x) =
// var(x − y)/var(y) = 2/8 = 0.25 (loss 0.75). Neg loss 0.75/1; its
// gradient −dSNR(y→x): x (−0.25, 0.25), y (0.125, −0.125).
func TestSNRContrastiveAtMargin(t *testing.T) {
	x := mat.NewDense(2, 2, []float64{0, 2, 0, 4})
	snr := &distances.SNR{P: 2, Power: 1}
	bExact(t, snr, x, 0, 1, 0.25, 0)
	l := losses.NewSignalToNoiseRatioContrastive()
	l.Distance = snr
	bCheck(t, "SNR at NegMargin", l, losses.Batch{Embeddings: x, Labels: []int{0, 1}}, 0.75, []float64{-0.25, 0.25, 0.125, -0.125}, 0)
}

// TestMarginAtMargin: MarginLoss's pos_loss relu(d(a,p) − β + m) and
// neg_loss relu(β − d(a,n) + m) exactly 0 are not counted in the divisor.
// x = 0, 0.5 (class 0), 1.5 (class 1), β = 1, m = 0.5: triplet (0, 1, 2)
// has d_ap = 0.5 and d_an = 1.5, both on the margin; triplet (1, 0, 2)
// has d_ap = 0.5 (on it) and d_an = 1 (neg_loss 0.5). Loss 0.5/1, whose
// gradient is −d(1,2): x1 +1, x2 −1.
func TestMarginAtMargin(t *testing.T) {
	x := bLine(0, 0.5, 1.5)
	bExact(t, bRawLp(), x, 0, 0.5, 1.5, 0.5, 0, 1, 1.5, 1, 0)
	l := losses.NewMargin()
	l.Distance, l.Margin, l.Beta = bRawLp(), 0.5, mat.NewDense(1, 1, []float64{1})
	bCheck(t, "β 1, margin 0.5", l, losses.Batch{Embeddings: x, Labels: []int{0, 0, 1}}, 0.5, []float64{0, 1, -1}, 0)
	// Margin 0, β 0 and duplicates: every pos_loss and neg_loss is
	// relu(0): nothing counted, loss 0.
	l.Margin, l.Beta = 0, mat.NewDense(1, 1, []float64{0})
	bCheck(t, "β 0, margin 0, duplicates", l, losses.Batch{Embeddings: bLine(1, 1, 1, 1), Labels: []int{0, 0, 1, 1}}, 0, []float64{0, 0, 0, 0}, 0)
}

// TestIntraPairVarianceAtZero: terms exactly 0. Positive similarities
// 0.25, 0.75, 0.5 (each twice) have mean 0.5; with PosEps 0 the terms
// (1 − eps)·mean − s are 0.25, −0.25 and 0, so the values relu(·)² are
// 0.0625 (twice) and 0; PML's default reducer for this loss is
// MeanReducer (it has no get_default_reducer), so the loss is 0.125/6.
// The negative similarities are all 1, their mean: every term is 0.
func TestIntraPairVarianceAtZero(t *testing.T) {
	x := bLine(1, 0.25, 0.75, 0.5, 1)
	tp := &tuples.Pairs{A1: []int{0, 1, 0, 2, 0, 3}, P: []int{1, 0, 2, 0, 3, 0}, A2: []int{0, 4}, N: []int{4, 0}}
	l := losses.NewIntraPairVariance()
	l.Distance, l.PosEps, l.NegEps = bRawDot(), 0, 0
	bCheck(t, "eps 0", l, losses.Batch{Embeddings: x, Tuples: tp}, 0.125/6, nil, 0)
}

// TestRankedListAtBoundaries: RankedListLoss keeps positives with d > α −
// margin and negatives with d < α, and weights only d > 0; a pair on a
// boundary, or a negative at distance 0, adds neither its value nor its
// weight to its row's denominator. With Tp = Tn = 0 every kept weight is
// 1, so L⁺_i = Σ(d − (α − m))/(kept + N·1e-5), L⁻_i = Σ(α − d)/(kept +
// N·1e-5) and loss_i = (L⁺_i + L⁻_i)/2; the loss is their mean.
func TestRankedListAtBoundaries(t *testing.T) {
	// Margin 1, α = 1.5: α − m = 0.5. x = 0, 0.5, 2 (class 0), 1.5
	// (class 1), in the order 0, 0.5, 1.5, 2.
	x := bLine(0, 0.5, 1.5, 2)
	bExact(t, bRawLp(), x, 0, 0.5, 1.5, 2, 0.5, 0, 1, 1.5, 1.5, 1, 0, 0.5, 2, 1.5, 0.5, 0)
	e := 4e-5
	rows := []float64{
		1.5 / (1 + e) / 2,         // row 0: pos 0.5 (boundary), 2 (1.5); neg 1.5 (boundary)
		(1/(1+e) + 0.5/(1+e)) / 2, // row 1: pos 0.5 (boundary), 1.5 (1); neg 1 (0.5)
		1.5 / (2 + e) / 2,         // row 2: neg 1.5 (boundary), 1 (0.5), 0.5 (1)
		(2.5/(2+e) + 1/(1+e)) / 2, // row 3: pos 2 (1.5), 1.5 (1); neg 0.5 (1)
	}
	l := losses.NewRankedList(1, 0)
	l.Distance = bRawLp()
	bCheck(t, "boundaries", l, losses.Batch{Embeddings: x, Labels: []int{0, 0, 1, 0}}, (rows[0]+rows[1]+rows[2]+rows[3])/4, nil, 1e-15)

	// Duplicates: x = 0 (class 0), 0 (class 1), 1 (class 1). The negative
	// pairs at distance 0 have no weight.
	dup := bLine(0, 0, 1)
	e = 3e-5
	rows = []float64{
		0.5 / (1 + e) / 2,           // row 0: neg 0 (no weight), 1 (0.5)
		0.5 / (1 + e) / 2,           // row 1: pos 1 (0.5); neg 0 (no weight)
		(0.5/(1+e) + 0.5/(1+e)) / 2, // row 2: pos 1 (0.5); neg 1 (0.5)
	}
	bCheck(t, "duplicates", l, losses.Batch{Embeddings: dup, Labels: []int{0, 1, 1}}, (rows[0]+rows[1]+rows[2])/3, nil, 1e-15)
}

// TestThresholdConsistentMarginAtMargins: TCM keeps positives with s <=
// MarginPlus and negatives with s >= MarginMinus, both inclusive. Cosines
// 1 and 0 (exact: the rows are axis vectors): with MarginPlus 1 the
// positive at 1 is kept with term 0, so pos_tcm = (0 + 1)/2; with
// MarginMinus 0 the negative at 0 is kept with term 0, so neg_tcm =
// (0 + 1)/2. Loss 1.
func TestThresholdConsistentMarginAtMargins(t *testing.T) {
	x := mat.NewDense(3, 2, []float64{1, 0, 2, 0, 0, 1})
	bExact(t, distances.NewCosineSimilarity(), x, 1, 1, 0, 1, 1, 0, 0, 0, 1)
	tp := &tuples.Pairs{A1: []int{0, 0}, P: []int{1, 2}, A2: []int{1, 0}, N: []int{2, 1}}
	l := losses.NewThresholdConsistentMargin()
	l.MarginPlus, l.MarginMinus = 1, 0
	bCheck(t, "margins 1, 0", l, losses.Batch{Embeddings: x, Tuples: tp}, 1, nil, 0)
}

// TestArcFaceAtMarginBoundary: ArcFaceLoss uses cos(θ + m) where θ <= π −
// m (torch.where(angles <= deg2rad(180) − margin, ...)), inclusive. With
// Margin 90° (m = π/2 exactly) and a target cosine of exactly 0 (θ =
// π/2 = π − m), the target logit is cos(π) = −1, not the other branch's
// cos θ − m·sin m ≈ −1.5708. The other class has cosine 1; with Scale 1
// the loss is log(1 + e²).
func TestArcFaceAtMarginBoundary(t *testing.T) {
	l, err := losses.NewArcFace(2, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Margin, l.Scale = 90, 1
	l.W = mat.NewDense(2, 2, []float64{0, 1, 1, 0}) // class 0: (0, 1); class 1: (1, 0)
	bCheck(t, "θ = π − m", l, losses.Batch{Embeddings: mat.NewDense(1, 2, []float64{1, 0}), Labels: []int{0}}, math.Log1p(math.Exp(2)), nil, 1e-15)
}

// TestVICRegVarianceAtOne: VICReg's variance term relu(1 − std)/2 is 0 with
// gradient 0 (torch's relu'(0)) for a column whose std is exactly 1:
// values −1, 1, −1, 1, 0 have unbiased variance 4/4 = 1, and Eps is 0.
func TestVICRegVarianceAtOne(t *testing.T) {
	l := losses.NewVICReg()
	l.Eps, l.InvarianceLambda, l.CovarianceV = 0, 0, 0
	bCheck(t, "std 1", l, losses.Batch{Embeddings: bLine(-1, 1, -1, 1, 0)}, 0, []float64{0, 0, 0, 0, 0}, 0)
}

// gridBatch is a batch whose distances are small integers: x_i = i mod 5
// in 1-D, labels i mod 3 (or in blocks of 6 consecutive rows), so that
// many triplet violations and pair losses sit exactly on 0 and on the
// reducers' thresholds, in the vectorised lanes of the streamed
// reductions (long runs of one kind of pair) as well as in their tails.
func gridBatch(n int, blocks bool) (*mat.Dense, []int) {
	x := mat.NewDense(n, 1, nil)
	labels := make([]int, n)
	for i := range n {
		x.Set(i, 0, float64(i%5))
		labels[i] = i % 3
		if blocks {
			labels[i] = i / 6
		}
	}
	return x, labels
}

// reduceRef is PML's reduction of values v (ThresholdReducer with low and
// high, strict; MeanReducer when mean): the loss and the weight of each
// value in it.
func reduceRef(v []float64, mean bool, low, high float64) (float64, []float64) {
	w := make([]float64, len(v))
	if len(v) == 0 {
		return 0, w
	}
	var keep []int
	for i, x := range v {
		if mean || (x > low && x < high) {
			keep = append(keep, i)
		}
	}
	if len(keep) == 0 {
		return 0, w
	}
	s := 0.0
	for _, i := range keep {
		s += v[i]
		w[i] = 1 / float64(len(keep))
	}
	return s / float64(len(keep)), w
}

func sgn(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0 // torch.cdist's gradient at a zero distance
}

// TestGridBoundaries compares TripletMargin and Contrastive on gridBatch
// with a brute-force evaluation of PML's formulas — relu with relu'(0) =
// 0, |x − y| with gradient sign(x − y) (0 at 0) — under AvgNonZero, Mean
// and Threshold reducers whose bounds fall on values of the batch.
func TestGridBoundaries(t *testing.T) {
	for _, n := range []int{7, 24, 25, -24, -31} {
		x, labels := gridBatch(max(n, -n), n < 0)
		n = max(n, -n)
		xs := x.RawMatrix().Data
		d := func(i, j int) float64 { return math.Abs(xs[i] - xs[j]) }
		type red struct {
			name      string
			r         func() reducers.Reducer
			mean      bool
			low, high float64
		}
		reds := []red{
			{"AvgNonZero", func() reducers.Reducer { return reducers.NewAvgNonZero() }, false, 0, math.Inf(1)},
			{"Mean", func() reducers.Reducer { return reducers.NewMean() }, true, 0, 0},
			{"Threshold(1, 2)", func() reducers.Reducer { return reducers.NewThreshold(1, 2) }, false, 1, 2},
			{"Threshold(1, 3)", func() reducers.Reducer { return reducers.NewThreshold(1, 3) }, false, 1, 3},
			{"Threshold(-1, +Inf)", func() reducers.Reducer { return reducers.NewThreshold(-1, math.Inf(1)) }, false, -1, math.Inf(1)},
		}
		for _, rd := range reds {
			// TripletMargin, margin 1: v = relu(d(a,p) − d(a,n) + 1).
			var vals []float64
			var trips [][3]int
			for a := range n {
				for p := range n {
					for ng := range n {
						if a != p && labels[a] == labels[p] && labels[ng] != labels[a] {
							trips = append(trips, [3]int{a, p, ng})
							vals = append(vals, max(d(a, p)-d(a, ng)+1, 0))
						}
					}
				}
			}
			loss, w := reduceRef(vals, rd.mean, rd.low, rd.high)
			grad := make([]float64, n)
			for k, tr := range trips {
				if vals[k] > 0 && w[k] != 0 {
					a, p, ng := tr[0], tr[1], tr[2]
					sp, sn := sgn(xs[a]-xs[p]), sgn(xs[a]-xs[ng])
					grad[a] += w[k] * (sp - sn)
					grad[p] -= w[k] * sp
					grad[ng] += w[k] * sn
				}
			}
			l := losses.NewTripletMargin()
			l.Distance, l.Margin, l.Reducer = bRawLp(), 1, rd.r()
			b := losses.Batch{Embeddings: x, Labels: labels}
			bCheck(t, fmt.Sprintf("TripletMargin, n %d, %s", n, rd.name), l, b, loss, grad, 1e-12)
			all, err := tuples.AllTriplets(labels, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			b.Tuples = all
			bCheck(t, fmt.Sprintf("TripletMargin, n %d, %s, tuples", n, rd.name), l, b, loss, grad, 1e-12)

			// Contrastive, margins 1 and 2: pos relu(d − 1), neg relu(2 − d),
			// each sub-loss reduced on its own.
			var pv, nv []float64
			var pp, np [][2]int
			for a := range n {
				for j := range n {
					switch {
					case a != j && labels[a] == labels[j]:
						pp = append(pp, [2]int{a, j})
						pv = append(pv, max(d(a, j)-1, 0))
					case labels[a] != labels[j]:
						np = append(np, [2]int{a, j})
						nv = append(nv, max(2-d(a, j), 0))
					}
				}
			}
			pl, pw := reduceRef(pv, rd.mean, rd.low, rd.high)
			nl, nw := reduceRef(nv, rd.mean, rd.low, rd.high)
			grad = make([]float64, n)
			for k, pr := range pp {
				if pv[k] > 0 && pw[k] != 0 {
					s := sgn(xs[pr[0]] - xs[pr[1]])
					grad[pr[0]] += pw[k] * s
					grad[pr[1]] -= pw[k] * s
				}
			}
			for k, pr := range np {
				if nv[k] > 0 && nw[k] != 0 {
					s := sgn(xs[pr[0]] - xs[pr[1]])
					grad[pr[0]] -= nw[k] * s
					grad[pr[1]] += nw[k] * s
				}
			}
			c := losses.NewContrastive()
			c.Distance, c.PosMargin, c.NegMargin, c.Reducer = bRawLp(), 1, 2, rd.r()
			b = losses.Batch{Embeddings: x, Labels: labels}
			bCheck(t, fmt.Sprintf("Contrastive, n %d, %s", n, rd.name), c, b, pl+nl, grad, 1e-12)
			allPairs, err := tuples.AllPairs(labels, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			b.Tuples = allPairs
			bCheck(t, fmt.Sprintf("Contrastive, n %d, %s, tuples", n, rd.name), c, b, pl+nl, grad, 1e-12)
		}
	}
}

// TestCrossBatchMemoryFilledBoundary: PML marks the ring filled when
// queue_idx <= the previous queue_idx after an enqueue, inclusive: a batch
// that ends exactly at the end of the memory fills it (queue_idx wraps to
// 0 = its start), one that stops short does not.
func TestCrossBatchMemoryFilledBoundary(t *testing.T) {
	for _, tc := range []struct {
		batches []int
		filled  []bool
	}{
		{[]int{4}, []bool{true}},
		{[]int{3, 1}, []bool{false, true}},
		{[]int{1, 2, 2}, []bool{false, false, true}},
		{[]int{2, 1}, []bool{false, false}},
	} {
		c, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 1, 4)
		if err != nil {
			t.Fatal(err)
		}
		for k, n := range tc.batches {
			x := mat.NewDense(n, 1, nil)
			labels := make([]int, n)
			for i := range n {
				x.Set(i, 0, float64(i+1))
				labels[i] = i % 2
			}
			if _, err := c.Compute(losses.Batch{Embeddings: x, Labels: labels}); err != nil {
				t.Fatal(err)
			}
			if c.Filled() != tc.filled[k] {
				t.Errorf("batches %v: after batch %d, Filled() = %v (queue index %d), want %v", tc.batches, k, c.Filled(), c.QueueIdx(), tc.filled[k])
			}
		}
	}
}
