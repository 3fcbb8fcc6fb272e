package losses_test

import (
	"math"
	"math/rand/v2"
	"runtime"
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

// matpairBatches returns the batches every mat-based pair loss is checked
// on: all pairs, all pairs against ref embeddings, mined triplets and mined
// pairs (one pair both positive and negative).
func matpairBatches(seed uint64) map[string]losses.Batch {
	rng := rand.New(rand.NewPCG(seed, 3))
	emb := testkit.NormalDense(rng, 9, 5)
	labels := randLabels(rng, 9, 3)
	ref := testkit.NormalDense(rng, 7, 5)
	refLabels := randLabels(rng, 7, 3)
	return map[string]losses.Batch{
		"all":      {Embeddings: emb, Labels: labels},
		"ref":      {Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels},
		"triplets": {Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{0, 1, 2, 0, 4}, P: []int{3, 4, 5, 6, 8}, N: []int{5, 2, 1, 7, 0}}},
		"pairs":    {Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: []int{0, 1, 2, 0, 6}, P: []int{3, 4, 5, 3, 1}, A2: []int{0, 3, 5, 6, 0, 2}, N: []int{1, 2, 7, 4, 3, 8}}},
	}
}

// TestMatPairFiniteDifferences checks the smooth mat-based pair losses
// against central finite differences. GeneralizedLiftedStructure's relu
// kink (a row's total at 0) is avoided by its margins; Circle, whose
// gradient is not the derivative of its value (PML detaches its relu
// factors), is checked by TestCircleDetachedGradient.
func TestMatPairFiniteDifferences(t *testing.T) {
	ms := losses.NewMultiSimilarity()
	msLp := losses.NewMultiSimilarity()
	msLp.Distance, msLp.Alpha, msLp.Beta, msLp.Shift = distances.NewLp(), 1.5, 7, 0.9
	msSum := losses.NewMultiSimilarity()
	msSum.Reducer, msSum.Beta = reducers.NewSum(), 10
	gls := losses.NewGeneralizedLiftedStructure()
	glsCos := losses.NewGeneralizedLiftedStructure()
	glsCos.Distance, glsCos.NegMargin, glsCos.PosMargin = distances.NewCosineSimilarity(), 0.6, 0.9
	glsReg := losses.NewGeneralizedLiftedStructure()
	glsReg.NegMargin, glsReg.PosMargin = 1.5, 0.2
	glsReg.EmbeddingRegularizer, glsReg.EmbeddingRegWeight = regularizers.NewLp(), 0.3
	sc := losses.NewSupCon()
	scWarm := losses.NewSupCon()
	scWarm.Temperature = 0.7
	scLp := losses.NewSupCon()
	scLp.Distance, scLp.Temperature = distances.NewLp(), 0.3
	scMean := losses.NewSupCon()
	scMean.Reducer = reducers.NewMean()
	scDot := losses.NewSupCon()
	scDot.Distance = &distances.DotProductSimilarity{P: 2, Power: 1}
	scDot.Temperature = 2
	tests := []struct {
		name string
		loss losses.Loss
	}{
		{"MultiSimilarity", ms},
		{"MultiSimilarity/Lp", msLp},
		{"MultiSimilarity/sum", msSum},
		{"GeneralizedLiftedStructure", gls},
		{"GeneralizedLiftedStructure/cosine", glsCos},
		{"GeneralizedLiftedStructure/regularized", glsReg},
		{"SupCon", sc},
		{"SupCon/warm", scWarm},
		{"SupCon/Lp", scLp},
		{"SupCon/mean", scMean},
		{"SupCon/dot", scDot},
	}
	for _, tc := range tests {
		for name, b := range matpairBatches(1) {
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				res, err := tc.loss.Compute(b)
				if err != nil {
					t.Fatal(err)
				}
				if res.Loss == 0 {
					t.Fatal("zero loss: the test would not exercise the gradient")
				}
				checkGrad(t, tc.loss, b, 1e-5, 1e-7)
			})
		}
	}
}

// mpMasks builds PML's pos_mask and neg_mask densely from the labels or
// the tuples of b, independently of the package.
func mpMasks(b losses.Batch) (pos, neg [][]bool) {
	n, _ := b.Embeddings.Dims()
	m, refLabels := n, b.Labels
	if b.Ref != nil {
		m, _ = b.Ref.Dims()
		refLabels = b.RefLabels
	}
	pos, neg = make([][]bool, n), make([][]bool, n)
	for i := range pos {
		pos[i], neg[i] = make([]bool, m), make([]bool, m)
	}
	switch t := b.Tuples.(type) {
	case nil:
		for i := range n {
			for j := range m {
				pos[i][j] = b.Labels[i] == refLabels[j] && !(b.Ref == nil && i == j)
				neg[i][j] = b.Labels[i] != refLabels[j]
			}
		}
	case *tuples.Pairs:
		for k, a := range t.A1 {
			pos[a][t.P[k]] = true
		}
		for k, a := range t.A2 {
			neg[a][t.N[k]] = true
		}
	case *tuples.Triplets:
		for k, a := range t.A {
			pos[a][t.P[k]], neg[a][t.N[k]] = true, true
		}
	}
	return pos, neg
}

// mpLSE is PML's masked logsumexp of one row, written directly.
func mpLSE(x []float64, keep []bool, addOne bool) float64 {
	var vals []float64
	for j, v := range x {
		if keep[j] {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return 0
	}
	if addOne {
		vals = append(vals, 0)
	}
	mx := math.Inf(-1)
	for _, v := range vals {
		mx = math.Max(mx, v)
	}
	var s float64
	for _, v := range vals {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}

// mpRows computes the per-row losses of a mat-based pair loss from the
// distance matrix s, written directly from PML's formulas. For Circle, a
// non-nil frozen (N×M) holds PML's detached relu factors: filled from s
// when fill, used in place of the values computed from s otherwise.
func mpRows(loss losses.Loss, s [][]float64, pos, neg [][]bool, inverted bool, frozen [][]float64, fill bool) []float64 {
	margin := func(x, y float64) float64 {
		if inverted {
			return y - x
		}
		return x - y
	}
	out := make([]float64, len(s))
	anyPos, anyNeg := false, false
	for i := range s {
		for j := range s[i] {
			anyPos = anyPos || pos[i][j]
			anyNeg = anyNeg || neg[i][j]
		}
	}
	for i, row := range s {
		m := len(row)
		x, y := make([]float64, m), make([]float64, m)
		switch l := loss.(type) {
		case *losses.MultiSimilarity:
			for j, v := range row {
				x[j], y[j] = l.Alpha*margin(v, l.Shift), l.Beta*margin(l.Shift, v)
			}
			out[i] = mpLSE(x, pos[i], true)/l.Alpha + mpLSE(y, neg[i], true)/l.Beta
		case *losses.GeneralizedLiftedStructure:
			for j, v := range row {
				x[j], y[j] = margin(v, l.PosMargin), margin(l.NegMargin, v)
			}
			out[i] = math.Max(0, mpLSE(x, pos[i], false)+mpLSE(y, neg[i], false))
		case *losses.SupCon:
			if !anyPos || !anyNeg {
				return make([]float64, len(s))
			}
			keep := make([]bool, m)
			cnt := 0.0
			for j, v := range row {
				if !inverted {
					v = -v
				}
				x[j] = v / l.Temperature
				keep[j] = pos[i][j] || neg[i][j]
				if pos[i][j] {
					cnt++
				}
			}
			den := mpLSE(x, keep, false)
			var sum float64
			for j := range x {
				if pos[i][j] {
					sum += x[j] - den
				}
			}
			out[i] = -sum / (cnt + 2.2250738585072014e-308)
		case *losses.Circle:
			hasPos, hasNeg := false, false
			factor := func(j int, v float64) float64 {
				if frozen != nil && !fill {
					return frozen[i][j]
				}
				if frozen != nil {
					frozen[i][j] = v
				}
				return v
			}
			for j, v := range row {
				switch {
				case neg[i][j]:
					hasNeg = true
					x[j] = factor(j, l.Gamma*math.Max(0, v+l.M)) * (v - l.M)
				case pos[i][j]:
					x[j] = factor(j, -l.Gamma*math.Max(0, 1+l.M-v)) * (v - (1 - l.M))
				}
				hasPos = hasPos || pos[i][j]
			}
			if hasPos && hasNeg {
				out[i] = math.Log1p(math.Exp(mpLSE(x, pos[i], false) + mpLSE(x, neg[i], false)))
			}
		}
	}
	return out
}

// mpRefLoss is the reference loss of a batch: mpRows reduced with the
// loss's default reducer (Mean, or AvgNonZero for SupCon and Circle).
func mpRefLoss(t *testing.T, loss losses.Loss, b losses.Batch, dist distances.Distance, frozen *[][]float64) float64 {
	t.Helper()
	s, err := dist.Matrix(b.Embeddings, b.Ref)
	if err != nil {
		t.Fatal(err)
	}
	n, m := s.Dims()
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, m)
		mat.Row(rows[i], i, s)
	}
	pos, neg := mpMasks(b)
	// GenericPairLoss's early exit looks at the lengths of the pair lists.
	nPos, nNeg := 0, 0
	switch tt := b.Tuples.(type) {
	case nil:
		for i := range pos {
			for j := range pos[i] {
				if pos[i][j] {
					nPos++
				}
				if neg[i][j] {
					nNeg++
				}
			}
		}
	case *tuples.Pairs:
		nPos, nNeg = len(tt.A1), len(tt.A2)
	case *tuples.Triplets:
		nPos, nNeg = len(tt.A), len(tt.A)
	}
	if nPos <= 1 && nNeg <= 1 {
		return 0
	}
	var fr [][]float64
	fill := false
	if frozen != nil {
		if *frozen == nil {
			*frozen = make([][]float64, n)
			for i := range *frozen {
				(*frozen)[i] = make([]float64, m)
			}
			fill = true
		}
		fr = *frozen
	}
	v := mpRows(loss, rows, pos, neg, dist.Settings().Inverted, fr, fill)
	var sum float64
	nonZero := 0
	for _, x := range v {
		sum += x
		if x > 0 {
			nonZero++
		}
	}
	switch loss.(type) {
	case *losses.SupCon, *losses.Circle:
		if nonZero == 0 {
			return 0
		}
		return sum / float64(nonZero)
	}
	return sum / float64(len(v))
}

// TestMatPairReference compares every loss with a direct implementation of
// PML's formulas, on batches of several sizes (large ones take the
// parallel path), with and without ref embeddings and mined tuples.
func TestMatPairReference(t *testing.T) {
	circle := losses.NewCircle()
	circle.M, circle.Gamma = 0.25, 16
	msInv := losses.NewMultiSimilarity()
	msInv.Alpha, msInv.Beta, msInv.Shift = -1, 3, 0.1
	glsLp := losses.NewGeneralizedLiftedStructure()
	glsLp.Distance = &distances.Lp{NormalizeEmbeddings: false, P: 2, Power: 1}
	scLp := losses.NewSupCon()
	scLp.Distance, scLp.Temperature = distances.NewLp(), 0.5
	all := []struct {
		loss losses.Loss
		dist distances.Distance
	}{
		{losses.NewMultiSimilarity(), distances.NewCosineSimilarity()},
		{msInv, distances.NewCosineSimilarity()},
		{losses.NewGeneralizedLiftedStructure(), distances.NewLp()},
		{glsLp, glsLp.Distance},
		{losses.NewSupCon(), distances.NewCosineSimilarity()},
		{scLp, scLp.Distance},
		{losses.NewCircle(), distances.NewCosineSimilarity()},
		{circle, distances.NewCosineSimilarity()},
	}
	sizes := []struct{ n, m, classes int }{{6, 4, 2}, {30, 20, 4}, {150, 130, 7}}
	for _, sz := range sizes {
		rng := rand.New(rand.NewPCG(uint64(sz.n), 5))
		emb, ref := testkit.NormalDense(rng, sz.n, 6), testkit.NormalDense(rng, sz.m, 6)
		labels, refLabels := randLabels(rng, sz.n, sz.classes), randLabels(rng, sz.m, sz.classes)
		var a, p, a2, nn []int
		for range 3 * sz.n {
			a, p = append(a, rng.IntN(sz.n)), append(p, rng.IntN(sz.n))
			a2, nn = append(a2, rng.IntN(sz.n)), append(nn, rng.IntN(sz.n))
		}
		batches := []losses.Batch{
			{Embeddings: emb, Labels: labels},
			{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels},
			{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: a, P: p, A2: a2, N: nn}},
		}
		for bi, b := range batches {
			for _, c := range all {
				res, err := c.loss.Compute(b)
				if err != nil {
					t.Fatal(err)
				}
				want := mpRefLoss(t, c.loss, b, c.dist, nil)
				if math.Abs(res.Loss-want) > 1e-12+1e-10*math.Abs(want) {
					t.Errorf("%T %d×%d batch %d: loss %v, reference %v", c.loss, sz.n, sz.m, bi, res.Loss, want)
				}
				checkFinite(t, res)
			}
		}
	}
}

// TestCircleDetachedGradient checks Circle's gradient against finite
// differences of the reference loss with PML's detached relu factors
// frozen at the point of evaluation (the gradient torch returns is the
// derivative of that function, not of the loss itself).
func TestCircleDetachedGradient(t *testing.T) {
	c1 := losses.NewCircle()
	c2 := losses.NewCircle()
	c2.M, c2.Gamma = 0.25, 8
	c3 := losses.NewCircle()
	c3.Reducer, c3.Gamma = reducers.NewMean(), 4
	for ci, c := range []*losses.Circle{c1, c2, c3} {
		for name, b := range matpairBatches(uint64(7 + ci)) {
			t.Run(name, func(t *testing.T) {
				res, err := c.Compute(b)
				if err != nil {
					t.Fatal(err)
				}
				var frozen [][]float64
				dist := distances.NewCosineSimilarity()
				want := mpRefLoss(t, c, b, dist, &frozen)
				if ci == 2 {
					// Mean instead of AvgNonZero: rescale by the count.
					n, _ := b.Embeddings.Dims()
					want = mpMeanCircle(t, c, b, dist, frozen, n)
				}
				if math.Abs(res.Loss-want) > 1e-10*math.Abs(want) {
					t.Fatalf("loss %v, reference %v", res.Loss, want)
				}
				f := func() float64 {
					if ci == 2 {
						n, _ := b.Embeddings.Dims()
						return mpMeanCircle(t, c, b, dist, frozen, n)
					}
					return mpRefLoss(t, c, b, dist, &frozen)
				}
				if err := fdiff.Compare(res.Grad, fdiff.Gradient(f, b.Embeddings, 1e-6), 1e-5, 1e-7); err != nil {
					t.Errorf("gradient w.r.t. embeddings: %v", err)
				}
				if b.Ref != nil {
					if err := fdiff.Compare(res.RefGrad, fdiff.Gradient(f, b.Ref, 1e-6), 1e-5, 1e-7); err != nil {
						t.Errorf("gradient w.r.t. ref: %v", err)
					}
				}
			})
		}
	}
}

// mpMeanCircle is the frozen reference Circle loss reduced by Mean.
func mpMeanCircle(t *testing.T, c *losses.Circle, b losses.Batch, dist distances.Distance, frozen [][]float64, n int) float64 {
	t.Helper()
	s, err := dist.Matrix(b.Embeddings, b.Ref)
	if err != nil {
		t.Fatal(err)
	}
	_, m := s.Dims()
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = make([]float64, m)
		mat.Row(rows[i], i, s)
	}
	pos, neg := mpMasks(b)
	var sum float64
	for _, v := range mpRows(c, rows, pos, neg, true, frozen, false) {
		sum += v
	}
	return sum / float64(n)
}

// TestMatPairDeterministic checks that the parallel row loop gives
// bit-identical results whatever GOMAXPROCS is.
func TestMatPairDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	b := losses.Batch{Embeddings: testkit.NormalDense(rng, 200, 8), Labels: randLabels(rng, 200, 9)}
	for _, loss := range []losses.Loss{losses.NewMultiSimilarity(), losses.NewGeneralizedLiftedStructure(), losses.NewSupCon(), losses.NewCircle()} {
		prev := runtime.GOMAXPROCS(1)
		one, err := loss.Compute(b)
		runtime.GOMAXPROCS(4)
		four, err2 := loss.Compute(b)
		runtime.GOMAXPROCS(prev)
		if err != nil || err2 != nil {
			t.Fatal(err, err2)
		}
		if one.Loss != four.Loss || !mat.Equal(one.Grad, four.Grad) {
			t.Errorf("%T: GOMAXPROCS 1 and 4 differ: %v vs %v", loss, one.Loss, four.Loss)
		}
	}
}

func TestMatPairEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	emb := testkit.NormalDense(rng, 5, 3)
	all := func() []losses.Loss {
		return []losses.Loss{losses.NewMultiSimilarity(), losses.NewGeneralizedLiftedStructure(), losses.NewSupCon(), losses.NewCircle()}
	}
	tests := []struct {
		name   string
		labels []int
		// zero lists the losses whose value PML gives as exactly 0.
		zero map[string]bool
	}{
		// No positive pair: SupCon and Circle are zero.
		{"all distinct", []int{0, 1, 2, 3, 4}, map[string]bool{"*losses.SupCon": true, "*losses.Circle": true}},
		// No negative pair: SupCon and Circle are zero.
		{"one class", []int{1, 1, 1, 1, 1}, map[string]bool{"*losses.SupCon": true, "*losses.Circle": true}},
		{"single-sample classes", []int{0, 0, 1, 2, 3}, map[string]bool{}},
	}
	for _, tc := range tests {
		for _, loss := range all() {
			b := losses.Batch{Embeddings: emb, Labels: tc.labels}
			res, err := loss.Compute(b)
			if err != nil {
				t.Fatalf("%s %T: %v", tc.name, loss, err)
			}
			checkFinite(t, res)
			name := mpTypeName(loss)
			want := mpRefLoss(t, loss, b, mpDefaultDist(loss), nil)
			if tc.zero[name] && want != 0 {
				t.Fatalf("%s %s: reference %v, want 0", tc.name, name, want)
			}
			if math.Abs(res.Loss-want) > 1e-12+1e-10*math.Abs(want) {
				t.Errorf("%s %s: loss %v, reference %v", tc.name, name, res.Loss, want)
			}
			if want == 0 && mat.Norm(res.Grad, 1) != 0 {
				t.Errorf("%s %s: zero loss with a non-zero gradient", tc.name, name)
			}
		}
	}
	// N = 1, or one positive and one negative pair: PML's zero_losses.
	one := mat.NewDense(1, 3, []float64{1, 2, 3})
	three := mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 1})
	for _, loss := range all() {
		for _, b := range []losses.Batch{
			{Embeddings: one, Labels: []int{0}},
			{Embeddings: three, Labels: []int{0, 1, 2}, Tuples: &tuples.Pairs{A1: []int{0}, P: []int{1}, A2: []int{0}, N: []int{2}}},
			{Embeddings: three, Labels: []int{0, 1, 2}, Tuples: &tuples.Triplets{}},
		} {
			res, err := loss.Compute(b)
			if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
				t.Errorf("%T: %v, %v", loss, res.Loss, err)
			}
		}
	}
	// SupCon: with mined pairs that have no negative, zero.
	res, err := losses.NewSupCon().Compute(losses.Batch{Embeddings: three, Labels: []int{0, 0, 0}, Tuples: &tuples.Pairs{A1: []int{0, 1}, P: []int{1, 2}}})
	if err != nil || res.Loss != 0 {
		t.Errorf("SupCon without negatives: %v, %v", res.Loss, err)
	}
	// Mined tuples need no labels (PML's convert_to_pairs ignores them).
	for _, loss := range all() {
		trip := &tuples.Triplets{A: []int{0, 1, 2}, P: []int{1, 2, 3}, N: []int{4, 4, 0}}
		with, err := loss.Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 0, 0, 1}, Tuples: trip})
		if err != nil {
			t.Fatal(err)
		}
		without, err := loss.Compute(losses.Batch{Embeddings: emb, Tuples: trip})
		if err != nil {
			t.Fatalf("%T without labels: %v", loss, err)
		}
		if with.Loss != without.Loss || with.Loss == 0 || !mat.Equal(with.Grad, without.Grad) {
			t.Errorf("%T: %v with labels, %v without", loss, with.Loss, without.Loss)
		}
	}
	// Far-apart classes: GeneralizedLiftedStructure's relu is 0.
	far := mat.NewDense(4, 2, []float64{1, 0, 1, 0.001, -1, 0, -1, 0.001})
	gls := losses.NewGeneralizedLiftedStructure()
	gls.NegMargin = 0.5
	res, err = gls.Compute(losses.Batch{Embeddings: far, Labels: []int{0, 0, 1, 1}})
	if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
		t.Errorf("separated classes: loss %v, err %v", res.Loss, err)
	}
	// DoNothing hands back one element record per query row.
	msd := losses.NewMultiSimilarity()
	msd.Reducer = reducers.NewDoNothing()
	res, err = msd.Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1, 2}})
	if err != nil || len(res.Records) != 1 || len(res.Records[0].Values) != 5 || res.Records[0].Kind != reducers.Element {
		t.Errorf("DoNothing: %+v, %v", res.Records, err)
	}
}

func mpTypeName(l losses.Loss) string {
	switch l.(type) {
	case *losses.MultiSimilarity:
		return "*losses.MultiSimilarity"
	case *losses.GeneralizedLiftedStructure:
		return "*losses.GeneralizedLiftedStructure"
	case *losses.SupCon:
		return "*losses.SupCon"
	case *losses.Circle:
		return "*losses.Circle"
	}
	return "?"
}

func mpDefaultDist(l losses.Loss) distances.Distance {
	if _, ok := l.(*losses.GeneralizedLiftedStructure); ok {
		return distances.NewLp()
	}
	return distances.NewCosineSimilarity()
}

func TestMatPairBadInput(t *testing.T) {
	emb := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 8})
	nan := mat.DenseCopyOf(emb)
	nan.Set(1, 1, math.NaN())
	labels := []int{0, 0, 1, 1}
	tests := []struct {
		name     string
		b        losses.Batch
		sentinel error
	}{
		{"label count", losses.Batch{Embeddings: emb, Labels: []int{0, 1}}, gometric.ErrLabels},
		{"nan", losses.Batch{Embeddings: nan, Labels: labels}, gometric.ErrNonFinite},
		{"no labels", losses.Batch{Embeddings: emb}, gometric.ErrLabels},
		{"ref without ref labels", losses.Batch{Embeddings: emb, Labels: labels, Ref: emb}, gometric.ErrLabels},
		{"ref dim", losses.Batch{Embeddings: emb, Labels: labels, Ref: mat.NewDense(2, 3, nil), RefLabels: []int{0, 1}}, gometric.ErrShape},
		{"tuple range", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{9}}}, gometric.ErrIndex},
		{"pair range", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: []int{-1}, P: []int{1}}}, gometric.ErrIndex},
		{"pair lengths", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: []int{0, 1}, P: []int{1}}}, gometric.ErrShape},
	}
	named := []struct {
		name string
		loss losses.Loss
	}{
		{"losses.MultiSimilarity", losses.NewMultiSimilarity()},
		{"losses.GeneralizedLiftedStructure", losses.NewGeneralizedLiftedStructure()},
		{"losses.SupCon", losses.NewSupCon()},
		{"losses.Circle", losses.NewCircle()},
	}
	for _, tc := range tests {
		for _, l := range named {
			t.Run(tc.name+"/"+l.name, func(t *testing.T) {
				_, err := l.loss.Compute(tc.b)
				checkErr(t, err, tc.sentinel, l.name)
			})
		}
	}
	b := losses.Batch{Embeddings: emb, Labels: labels}
	ms := losses.NewMultiSimilarity()
	gls := losses.NewGeneralizedLiftedStructure()
	sc := losses.NewSupCon()
	ci := losses.NewCircle()
	settings := []struct {
		name string
		loss losses.Loss
		set  func()
	}{
		{"losses.MultiSimilarity", ms, func() { ms.Alpha = 0 }},
		{"losses.MultiSimilarity", ms, func() { ms.Alpha, ms.Beta = 2, math.Inf(1) }},
		{"losses.MultiSimilarity", ms, func() { ms.Beta, ms.Shift = 50, math.NaN() }},
		{"losses.GeneralizedLiftedStructure", gls, func() { gls.NegMargin = math.NaN() }},
		{"losses.SupCon", sc, func() { sc.Temperature = 0 }},
		{"losses.SupCon", sc, func() { sc.Temperature = math.NaN() }},
		{"losses.Circle", ci, func() { ci.Gamma = math.Inf(-1) }},
		{"losses.Circle", ci, func() { ci.Gamma, ci.M = 80, math.NaN() }},
		{"losses.Circle", ci, func() { ci.M, ci.Distance = 0.4, distances.NewLp() }},
		{"losses.Circle", ci, func() { ci.Distance = distances.NewDotProductSimilarity() }},
	}
	for _, s := range settings {
		s.set()
		_, err := s.loss.Compute(b)
		checkErr(t, err, gometric.ErrSetting, s.name)
	}
}

// FuzzMatPair feeds arbitrary embeddings, labels, ref embeddings, mined
// tuples, distances and settings to the four mat-based pair losses: they
// must return an error or a finite result, never panic.
func FuzzMatPair(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint8(4), uint8(3), uint8(2), 0.5, -1.0, uint8(0))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(5), uint8(2), uint8(2), 0.07, 2.0, uint8(1))
	f.Add([]byte{255, 128, 7, 9, 200, 1, 2, 3, 99, 100, 42, 17, 5}, uint8(6), uint8(2), uint8(3), 0.0, 50.0, uint8(2|4))
	f.Add([]byte{10, 20, 30}, uint8(1), uint8(3), uint8(1), 1e-300, 1e300, uint8(3))
	f.Add([]byte{250, 251, 252, 253, 3, 4, 5, 6}, uint8(4), uint8(2), uint8(2), 1e300, math.NaN(), uint8(8|16))
	f.Add([]byte{9, 8, 7, 6, 5, 4, 3, 2, 1}, uint8(9), uint8(4), uint8(3), -3.0, 0.4, uint8(32|2))
	f.Fuzz(func(t *testing.T, data []byte, n, d, classes uint8, s1, s2 float64, mode uint8) {
		b, ok := fuzzPairBatch(data, n, d, classes, mode, true)
		if !ok {
			return
		}
		var dist distances.Distance
		switch (mode >> 5) % 4 {
		case 1:
			dist = distances.NewLp()
		case 2:
			dist = distances.NewDotProductSimilarity()
		case 3:
			dist = &distances.Lp{P: 2, Power: 1}
		}
		ms := losses.NewMultiSimilarity()
		ms.Alpha, ms.Beta, ms.Distance = s1, s2, dist
		ms2 := losses.NewMultiSimilarity()
		ms2.Shift = s1
		gls := losses.NewGeneralizedLiftedStructure()
		gls.NegMargin, gls.PosMargin, gls.Distance = s1, s2, dist
		sc := losses.NewSupCon()
		sc.Temperature, sc.Distance = s1, dist
		ci := losses.NewCircle()
		ci.M, ci.Gamma = s1, s2
		ci2 := losses.NewCircle()
		ci2.Distance = dist
		for _, l := range []losses.Loss{ms, ms2, gls, sc, ci, ci2, losses.NewMultiSimilarity(), losses.NewGeneralizedLiftedStructure(), losses.NewSupCon(), losses.NewCircle()} {
			res, err := l.Compute(b)
			if err != nil {
				continue
			}
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
				t.Fatalf("%T: non-finite loss %v without an error", l, res.Loss)
			}
			if res.Grad == nil || (b.Ref != nil) != (res.RefGrad != nil) {
				t.Fatalf("%T: gradients %v, %v", l, res.Grad, res.RefGrad)
			}
		}
	})
}
