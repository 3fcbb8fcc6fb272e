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

// TestPairBasedFiniteDifferences checks every pair-based loss's gradient
// against central differences, with all pairs, with ref embeddings and
// with mined triplets and pairs. Random normal inputs keep the relu kinks
// (LiftedStructure, IntraPairVariance) and TupletMargin's acos(±1) away.
func TestPairBasedFiniteDifferences(t *testing.T) {
	lifted := losses.NewLiftedStructure()
	lifted.NegMargin, lifted.PosMargin = 0.8, 0.1
	liftedCos := losses.NewLiftedStructure()
	liftedCos.Distance, liftedCos.NegMargin, liftedCos.PosMargin = distances.NewCosineSimilarity(), 0.3, 0.9
	liftedSum := losses.NewLiftedStructure()
	liftedSum.Reducer, liftedSum.NegMargin = reducers.NewSum(), 1.5
	ntxentHot := losses.NewNTXent()
	ntxentHot.Temperature = 0.5
	ntxentLp := losses.NewNTXent()
	ntxentLp.Distance, ntxentLp.Temperature = distances.NewLp(), 0.2
	ntxentDot := losses.NewNTXent()
	ntxentDot.Distance, ntxentDot.Temperature = distances.NewDotProductSimilarity(), 0.3
	ntxentReg := losses.NewNTXent()
	ntxentReg.EmbeddingRegularizer, ntxentReg.EmbeddingRegWeight = regularizers.NewLp(), 0.5
	ntxentAvg := losses.NewNTXent()
	ntxentAvg.Reducer = reducers.NewAvgNonZero()
	ipv := losses.NewIntraPairVariance()
	ipv.PosEps, ipv.NegEps = 0.05, 0.1
	ipvLp := losses.NewIntraPairVariance()
	ipvLp.Distance = distances.NewLp()
	tuplet := losses.NewTupletMargin()
	tuplet.Margin, tuplet.Scale = 10, 32
	tuplet16 := losses.NewTupletMargin()
	tuplet16.Scale = 16
	tests := []struct {
		name string
		loss losses.Loss
	}{
		{"LiftedStructure", losses.NewLiftedStructure()},
		{"LiftedStructure/margins", lifted},
		{"LiftedStructure/cosine", liftedCos},
		{"LiftedStructure/sum", liftedSum},
		{"NTXent", losses.NewNTXent()},
		{"NTXent/T0.5", ntxentHot},
		{"NTXent/Lp", ntxentLp},
		{"NTXent/dot", ntxentDot},
		{"NTXent/regularized", ntxentReg},
		{"NTXent/avgnonzero", ntxentAvg},
		{"IntraPairVariance", losses.NewIntraPairVariance()},
		{"IntraPairVariance/eps", ipv},
		{"IntraPairVariance/Lp", ipvLp},
		{"TupletMargin", losses.NewTupletMargin()},
		{"TupletMargin/10deg", tuplet},
		{"TupletMargin/scale16", tuplet16},
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
			trip := &tuples.Triplets{A: []int{0, 1, 2, 0}, P: []int{3, 4, 5, 6}, N: []int{5, 2, 1, 7}}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Tuples: trip}, 1e-5, 1e-7)
			// Duplicated pairs, a positive that is also a negative anchor
			// (LiftedStructure's "a2 == p"), an anchor with no negatives.
			pairs := &tuples.Pairs{A1: []int{0, 1, 2, 0, 7}, P: []int{3, 4, 5, 3, 6}, A2: []int{0, 3, 5, 6, 0, 4, 2}, N: []int{1, 2, 7, 4, 1, 6, 3}}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Tuples: pairs}, 1e-5, 1e-7)
			refPairs := &tuples.Pairs{A1: []int{0, 1, 2, 0, 7}, P: []int{3, 4, 5, 3, 0}, A2: []int{0, 3, 5, 6, 0, 4, 2}, N: []int{1, 2, 5, 4, 1, 0, 3}}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Ref: ref, Tuples: refPairs}, 1e-5, 1e-7)
		})
	}
}

// pairRows is a dense reference of PML's pair-based _compute_loss: for
// every positive pair i, the values of the negative pairs of the row with
// PML's P×Nneg keep mask.
type pairRows struct {
	pos, neg []float64
	keep     func(i, j int) bool
}

func newPairRows(m *mat.Dense, p *tuples.Pairs, keep func(i, j int) bool) pairRows {
	r := pairRows{keep: keep}
	for i := range p.A1 {
		r.pos = append(r.pos, m.At(p.A1[i], p.P[i]))
	}
	for j := range p.A2 {
		r.neg = append(r.neg, m.At(p.A2[j], p.N[j]))
	}
	return r
}

// torchLSE is torch.logsumexp of one row followed by PML's masked_fill of
// rows without a kept entry.
func torchLSE(x []float64, anyKept bool) float64 {
	if !anyKept {
		return 0
	}
	mx := math.Inf(-1)
	for _, v := range x {
		mx = math.Max(mx, v)
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}

// refLifted is PML's LiftedStructureLoss on a dense mask.
func refLifted(m *mat.Dense, p *tuples.Pairs, negMargin, posMargin float64, inv bool) []float64 {
	margin := func(x, y float64) float64 {
		if inv {
			return y - x
		}
		return x - y
	}
	r := newPairRows(m, p, func(i, j int) bool { return p.A2[j] == p.A1[i] || p.A2[j] == p.P[i] })
	out := make([]float64, len(r.pos))
	for i := range r.pos {
		row := make([]float64, len(r.neg))
		anyKept := false
		for j := range r.neg {
			row[j] = -math.MaxFloat64
			if r.keep(i, j) {
				row[j], anyKept = margin(negMargin, r.neg[j]), true
			}
		}
		z := math.Max(torchLSE(row, anyKept)+margin(r.pos[i], posMargin), 0)
		out[i] = z * z / 2
	}
	return out
}

// refNTXent is PML's NTXentLoss on a dense P×Nneg matrix.
func refNTXent(m *mat.Dense, p *tuples.Pairs, temp float64, inv bool) []float64 {
	s := -1.0
	if inv {
		s = 1
	}
	r := newPairRows(m, p, func(i, j int) bool { return p.A2[j] == p.A1[i] })
	out := make([]float64, len(r.pos))
	for i := range r.pos {
		pos := s * r.pos[i] / temp
		row := make([]float64, len(r.neg))
		mx := math.Inf(-1)
		for j := range r.neg {
			row[j] = -math.MaxFloat64
			if r.keep(i, j) {
				row[j] = s * r.neg[j] / temp
			}
			mx = math.Max(mx, row[j])
		}
		mv := math.Max(pos, mx)
		num := math.Exp(pos - mv)
		var den float64
		for _, v := range row {
			den += math.Exp(v - mv)
		}
		den += num
		out[i] = -math.Log(num/den + 2.2250738585072014e-308)
	}
	return out
}

// refTuplet is PML's TupletMarginLoss on a dense P×Nneg matrix.
func refTuplet(m *mat.Dense, p *tuples.Pairs, marginDeg, scale float64) []float64 {
	r := newPairRows(m, p, func(i, j int) bool { return p.A2[j] == p.A1[i] })
	out := make([]float64, len(r.pos))
	for i := range r.pos {
		shifted := math.Cos(math.Acos(r.pos[i]) - marginDeg*math.Pi/180)
		row := []float64{0}
		anyKept := false
		for j := range r.neg {
			v := -math.MaxFloat64
			if r.keep(i, j) {
				v, anyKept = scale*(r.neg[j]-shifted), true
			}
			row = append(row, v)
		}
		out[i] = torchLSE(row, anyKept)
	}
	return out
}

// TestPairBasedMatchesDenseReference compares the per-pair losses of the
// grouped implementations with a dense P×Nneg transcription of PML, on
// random mined pairs (duplicates, a1 == p, anchors without negatives) and
// on all pairs with and without ref embeddings.
func TestPairBasedMatchesDenseReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const n, nr, d = 12, 9, 4
	emb, ref := testkit.NormalDense(rng, n, d), testkit.NormalDense(rng, nr, d)
	labels, refLabels := randLabels(rng, n, 4), randLabels(rng, nr, 4)
	randPairs := func(np, nn, nRef int) *tuples.Pairs {
		p := &tuples.Pairs{}
		for range np {
			p.A1 = append(p.A1, rng.IntN(n))
			p.P = append(p.P, rng.IntN(nRef))
		}
		for range nn {
			p.A2 = append(p.A2, rng.IntN(n-3)) // anchors n-3.. have no negatives
			p.N = append(p.N, rng.IntN(nRef))
		}
		return p
	}
	type batchCase struct {
		name string
		b    losses.Batch
	}
	batches := []batchCase{
		{"all", losses.Batch{Embeddings: emb, Labels: labels}},
		{"ref", losses.Batch{Embeddings: emb, Labels: labels, Ref: ref, RefLabels: refLabels}},
		{"mined", losses.Batch{Embeddings: emb, Tuples: randPairs(30, 40, n)}},
		{"mined/ref", losses.Batch{Embeddings: emb, Ref: ref, Tuples: randPairs(30, 40, nr)}},
	}
	pairsOf := func(b losses.Batch) *tuples.Pairs {
		if b.Tuples != nil {
			return b.Tuples.(*tuples.Pairs)
		}
		p, err := tuples.ToPairs(nil, b.Labels, b.RefLabels, b.Ref == nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	records := func(l losses.Loss, b losses.Batch) []float64 {
		res, err := l.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		return res.Records[0].Values
	}
	for _, bc := range batches {
		p := pairsOf(bc.b)
		lp, _ := distances.NewLp().Matrix(bc.b.Embeddings, bc.b.Ref)
		cos, _ := distances.NewCosineSimilarity().Matrix(bc.b.Embeddings, bc.b.Ref)
		t.Run(bc.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				loss losses.Loss
				want []float64
			}{
				{"LiftedStructure", func() losses.Loss {
					l := losses.NewLiftedStructure()
					l.NegMargin, l.PosMargin, l.Reducer = 1.3, 0.05, reducers.NewDoNothing()
					return l
				}(), refLifted(lp, p, 1.3, 0.05, false)},
				{"LiftedStructure/cosine", func() losses.Loss {
					l := losses.NewLiftedStructure()
					l.Distance, l.NegMargin, l.PosMargin, l.Reducer = distances.NewCosineSimilarity(), 0.2, 0.9, reducers.NewDoNothing()
					return l
				}(), refLifted(cos, p, 0.2, 0.9, true)},
				{"NTXent", func() losses.Loss {
					l := losses.NewNTXent()
					l.Reducer = reducers.NewDoNothing()
					return l
				}(), refNTXent(cos, p, 0.07, true)},
				{"NTXent/Lp/cold", func() losses.Loss {
					l := losses.NewNTXent()
					l.Distance, l.Temperature, l.Reducer = distances.NewLp(), 0.001, reducers.NewDoNothing()
					return l
				}(), refNTXent(lp, p, 0.001, false)},
				{"NTXent/negative T", func() losses.Loss {
					l := losses.NewNTXent()
					l.Temperature, l.Reducer = -0.3, reducers.NewDoNothing()
					return l
				}(), refNTXent(cos, p, -0.3, true)},
				{"TupletMargin", func() losses.Loss {
					l := losses.NewTupletMargin()
					l.Reducer = reducers.NewDoNothing()
					return l
				}(), refTuplet(cos, p, 5.73, 64)},
			} {
				got := records(tc.loss, bc.b)
				// A mined a1 == p gives TupletMargin acos(1 + rounding) = NaN,
				// in PML as here.
				for i := range got {
					if i < len(tc.want) && math.IsNaN(got[i]) && math.IsNaN(tc.want[i]) {
						got[i], tc.want[i] = 0, 0
					}
				}
				if err := fdiff.CompareSlices(got, tc.want, 1e-12, 1e-12); err != nil {
					t.Errorf("%s: %v", tc.name, err)
				}
			}
		})
	}
}

func TestPairBasedEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	emb := testkit.NormalDense(rng, 5, 3)
	all := func() []losses.Loss {
		return []losses.Loss{losses.NewLiftedStructure(), losses.NewNTXent(), losses.NewIntraPairVariance(), losses.NewTupletMargin()}
	}
	tests := []struct {
		name   string
		labels []int
		zero   bool // PML's zero_losses (no positive or no negative pair)
	}{
		{"one class", []int{1, 1, 1, 1, 1}, true},
		{"all distinct", []int{0, 1, 2, 3, 4}, true},
		{"single-sample classes", []int{0, 0, 1, 2, 3}, false},
	}
	for _, tc := range tests {
		for _, loss := range all() {
			res, err := loss.Compute(losses.Batch{Embeddings: emb, Labels: tc.labels})
			if err != nil {
				t.Fatalf("%s %T: %v", tc.name, loss, err)
			}
			checkFinite(t, res)
			_, isIPV := loss.(*losses.IntraPairVariance)
			if tc.zero && !isIPV && (res.Loss != 0 || mat.Norm(res.Grad, 1) != 0) {
				t.Errorf("%s %T: loss %v, |grad| %v, want 0", tc.name, loss, res.Loss, mat.Norm(res.Grad, 1))
			}
		}
	}
	// IntraPairVariance with negatives only: pos_loss is PML's literal 0.
	res, err := losses.NewIntraPairVariance().Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 1, 2, 3, 4}})
	if err != nil || res.Parts["pos_loss"] != 0 || res.Parts["neg_loss"] <= 0 {
		t.Errorf("IntraPairVariance negatives only: %v, %v", res.Parts, err)
	}
	// N = 1 and a single pair of each kind: GenericPairLoss's early exit.
	one := mat.NewDense(1, 3, []float64{1, 2, 3})
	two := mat.NewDense(3, 2, []float64{1, 0, 0.8, 0.6, 0, 1})
	for _, loss := range all() {
		for _, b := range []losses.Batch{
			{Embeddings: one, Labels: []int{0}},
			{Embeddings: two, Tuples: &tuples.Pairs{A1: []int{0}, P: []int{1}, A2: []int{0}, N: []int{2}}},
		} {
			res, err := loss.Compute(b)
			if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
				t.Errorf("%T early exit: %v, %v", loss, res.Loss, err)
			}
		}
	}
	// NTXent with a tiny temperature: the ratio underflows and the loss is
	// capped by PML's small_val at -log(tiny).
	cold := losses.NewNTXent()
	cold.Temperature, cold.Reducer = 1e-4, reducers.NewDoNothing()
	far := mat.NewDense(4, 2, []float64{1, 0, -1, 0.1, 1, 0.1, -1, 0})
	res, err = cold.Compute(losses.Batch{Embeddings: far, Labels: []int{0, 0, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res.Records[0].Values {
		if math.Abs(v-708.3964185322641) > 1e-9 {
			t.Errorf("cold NTXent pair loss %v, want -log(tiny)", v)
		}
	}
	mean := losses.NewNTXent()
	mean.Temperature = 1e-4
	res, err = mean.Compute(losses.Batch{Embeddings: far, Labels: []int{0, 0, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	checkFinite(t, res)
	// TupletMargin with an identical positive: acos'(1) is infinite, as in
	// PML; the loss reports it.
	same := mat.NewDense(3, 2, []float64{1, 0, 1, 0, 0, 1})
	_, err = losses.NewTupletMargin().Compute(losses.Batch{Embeddings: same, Labels: []int{0, 0, 1}})
	checkErr(t, err, gometric.ErrNonFinite, "losses.TupletMargin")
}

func TestPairBasedBadInput(t *testing.T) {
	emb := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 8})
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
		{"no labels", losses.Batch{Embeddings: emb}, gometric.ErrLabels},
		{"ref without ref labels", losses.Batch{Embeddings: emb, Labels: lab, Ref: emb}, gometric.ErrLabels},
		{"ref dim", losses.Batch{Embeddings: emb, Labels: lab, Ref: mat.NewDense(2, 3, nil), RefLabels: []int{0, 1}}, gometric.ErrShape},
		{"tuple range", losses.Batch{Embeddings: emb, Labels: lab, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{9}}}, gometric.ErrIndex},
		{"pair range", losses.Batch{Embeddings: emb, Labels: lab, Tuples: &tuples.Pairs{A1: []int{0, 1}, P: []int{1, 0}, A2: []int{4}, N: []int{2}}}, gometric.ErrIndex},
		{"pair lengths", losses.Batch{Embeddings: emb, Labels: lab, Tuples: &tuples.Pairs{A1: []int{0, 1}, P: []int{1}}}, gometric.ErrShape},
	}
	named := []struct {
		name string
		loss losses.Loss
	}{
		{"losses.LiftedStructure", losses.NewLiftedStructure()},
		{"losses.NTXent", losses.NewNTXent()},
		{"losses.IntraPairVariance", losses.NewIntraPairVariance()},
		{"losses.TupletMargin", losses.NewTupletMargin()},
	}
	for _, tc := range tests {
		for _, l := range named {
			t.Run(tc.name+"/"+l.name, func(t *testing.T) {
				_, err := l.loss.Compute(tc.b)
				checkErr(t, err, tc.sentinel, l.name)
			})
		}
	}
	b := losses.Batch{Embeddings: emb, Labels: lab}
	settings := []struct {
		name string
		loss losses.Loss
	}{
		{"losses.LiftedStructure", with(losses.NewLiftedStructure(), func(l *losses.LiftedStructure) { l.NegMargin = math.NaN() })},
		{"losses.LiftedStructure", with(losses.NewLiftedStructure(), func(l *losses.LiftedStructure) { l.PosMargin = math.Inf(1) })},
		{"losses.NTXent", with(losses.NewNTXent(), func(l *losses.NTXent) { l.Temperature = 0 })},
		{"losses.NTXent", with(losses.NewNTXent(), func(l *losses.NTXent) { l.Temperature = math.NaN() })},
		{"losses.NTXent", with(losses.NewNTXent(), func(l *losses.NTXent) { l.Temperature = math.Inf(-1) })},
		{"losses.IntraPairVariance", with(losses.NewIntraPairVariance(), func(l *losses.IntraPairVariance) { l.PosEps = math.NaN() })},
		{"losses.IntraPairVariance", with(losses.NewIntraPairVariance(), func(l *losses.IntraPairVariance) { l.NegEps = math.Inf(1) })},
		{"losses.TupletMargin", with(losses.NewTupletMargin(), func(l *losses.TupletMargin) { l.Margin = math.NaN() })},
		{"losses.TupletMargin", with(losses.NewTupletMargin(), func(l *losses.TupletMargin) { l.Margin, l.Scale = 5, math.Inf(1) })},
		{"losses.TupletMargin", with(losses.NewTupletMargin(), func(l *losses.TupletMargin) { l.Distance, l.Margin = distances.NewLp(), 5 })},
		{"losses.TupletMargin", with(losses.NewTupletMargin(), func(l *losses.TupletMargin) { l.Distance, l.Margin = distances.NewDotProductSimilarity(), 5 })},
	}
	for _, s := range settings {
		_, err := s.loss.Compute(b)
		checkErr(t, err, gometric.ErrSetting, s.name)
	}
}

// FuzzPairBased feeds arbitrary embeddings, labels, mined pairs and
// settings to the four pair-based losses: they must return an error or a
// finite result, never panic.
func FuzzPairBased(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, uint8(4), uint8(3), uint8(2), 0.5, uint8(0))
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, uint8(5), uint8(2), uint8(2), 0.07, uint8(1))
	f.Add([]byte{255, 128, 7, 9, 200, 1, 2, 3, 99, 100, 42, 17, 5}, uint8(6), uint8(2), uint8(3), -1.0, uint8(2))
	f.Add([]byte{10, 20, 30}, uint8(1), uint8(3), uint8(1), 1e-300, uint8(3))
	f.Add([]byte{250, 251, 252, 253, 3, 4, 5, 6}, uint8(4), uint8(2), uint8(2), 1e300, uint8(4))
	f.Fuzz(func(t *testing.T, data []byte, n, d, classes uint8, setting float64, mode uint8) {
		b, ok := fuzzPairBatch(data, n, d, classes, mode, false)
		if !ok {
			return
		}
		lifted := losses.NewLiftedStructure()
		lifted.NegMargin = setting
		ntxent := losses.NewNTXent()
		ntxent.Temperature = setting
		ipv := losses.NewIntraPairVariance()
		ipv.PosEps = setting
		tuplet := losses.NewTupletMargin()
		tuplet.Scale = setting
		for _, l := range []losses.Loss{lifted, ntxent, ipv, tuplet, losses.NewLiftedStructure(), losses.NewNTXent(), losses.NewTupletMargin()} {
			res, err := l.Compute(b)
			if err != nil {
				continue
			}
			if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
				t.Fatalf("%T: non-finite loss %v without an error", l, res.Loss)
			}
			if res.Grad == nil {
				t.Fatalf("%T: nil gradient", l)
			}
		}
	})
}
