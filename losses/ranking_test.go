package losses_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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

// The ranking losses are piecewise smooth: FastAP's triangular kernels
// kink at the bin centres and edges, Histogram's interpolation at the
// nodes, and RankedList jumps where a pair crosses a boundary (its weight
// enters the denominator). The finite-difference tests use random
// continuous embeddings, on which no distance lies within the FD step of
// a kink.

func TestRankingFiniteDifferences(t *testing.T) {
	fast20 := losses.NewFastAP()
	fast20.NumBins = 20
	fastPow1 := losses.NewFastAP()
	fastPow1.NumBins, fastPow1.Distance = 7, &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: 1}
	fastSum := losses.NewFastAP()
	fastSum.Reducer = reducers.NewSum()
	hist10 := losses.NewHistogram()
	hist10.NBins = 10
	histDelta := losses.NewHistogram()
	histDelta.Delta = 0.25
	histReg := losses.NewHistogram()
	histReg.NBins, histReg.EmbeddingRegularizer, histReg.EmbeddingRegWeight = 20, regularizers.NewLp(), 0.3
	pnp := func(v losses.PNPVariant, anneal, b, alpha float64) *losses.PNP {
		l := losses.NewPNP()
		l.Variant, l.Anneal, l.B, l.Alpha = v, anneal, b, alpha
		return l
	}
	rll := func(margin, tn, tp, imb float64, d distances.Distance) *losses.RankedList {
		l := losses.NewRankedList(margin, tn)
		l.Tp, l.Imbalance, l.Distance = tp, imb, d
		return l
	}
	rllAlpha := rll(0.6, 2, 0.5, 0.3, nil)
	rllAlpha.Alpha = 1.1
	tests := []struct {
		name   string
		loss   losses.Loss
		tuples bool // the loss takes mined tuples
	}{
		{"FastAP", losses.NewFastAP(), true},
		{"FastAP/20 bins", fast20, true},
		{"FastAP/power 1", fastPow1, true},
		{"FastAP/sum", fastSum, true},
		{"Histogram", losses.NewHistogram(), true},
		{"Histogram/10 bins", hist10, true},
		{"Histogram/delta", histDelta, true},
		{"Histogram/regularized", histReg, true},
		{"PNP/O", pnp(losses.PNPO, 0.1, 2, 1), false},
		{"PNP/O sharp", losses.NewPNP(), false},
		{"PNP/Ds", pnp(losses.PNPDs, 0.05, 2, 1), false},
		{"PNP/Dq", pnp(losses.PNPDq, 0.05, 2, 4), false},
		{"PNP/Iu", pnp(losses.PNPIu, 0.1, 2, 1), false},
		{"PNP/Ib", pnp(losses.PNPIb, 0.1, 3, 1), false},
		{"RankedList", rll(0.4, 1, 0, 0.5, nil), false},
		{"RankedList/Tp", rllAlpha, false},
		{"RankedList/cosine", rll(0.5, 0, 0, 0.5, distances.NewCosineSimilarity()), false},
		{"RankedList/hot", rll(1.2, 4, 3, 0.7, nil), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			emb := testkit.NormalDense(rng, 9, 5)
			labels := randLabels(rng, 9, 3)
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels}, 1e-5, 1e-7)
			if !tc.tuples {
				return
			}
			var a, p, n []int
			for i := range labels {
				for j := range labels {
					for k := range labels {
						if i != j && labels[i] == labels[j] && labels[i] != labels[k] && (i+j+k)%3 == 0 {
							a, p, n = append(a, i), append(p, j), append(n, k)
						}
					}
				}
			}
			trip := &tuples.Triplets{A: a, P: p, N: n}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Tuples: trip}, 1e-5, 1e-7)
			pairs := &tuples.Pairs{A1: a[:6], P: p[:6], A2: a[3:9], N: n[3:9]}
			checkGrad(t, tc.loss, losses.Batch{Embeddings: emb, Labels: labels, Tuples: pairs}, 1e-5, 1e-7)
		})
	}
}

// fastAPReference is PML's FastAPLoss forward written with its own
// (NumBins+1)×N×N pulse tensor, for comparison with the binned
// implementation (weights all 1, reducer Mean).
func fastAPReference(dist *mat.Dense, labels []int, bins int, power float64) float64 {
	n := len(labels)
	hmax := math.Pow(2, power)
	delta := hmax / float64(bins)
	var losses []float64
	for i := 0; i < n; i++ {
		nPos := 0
		for j := 0; j < n; j++ {
			if j != i && labels[j] == labels[i] {
				nPos++
			}
		}
		if nPos == 0 {
			continue
		}
		var cp, ct, ap float64
		for b := 0; b <= bins; b++ {
			mid := hmax * float64(b) / float64(bins)
			var hp, hn float64
			for j := 0; j < n; j++ {
				pulse := math.Max(0, 1-math.Abs(dist.At(i, j)-mid)/delta)
				switch {
				case j == i:
				case labels[j] == labels[i]:
					hp += pulse
				default:
					hn += pulse
				}
			}
			cp += hp
			ct += hp + hn
			if hp*cp > 0 && ct > 0 {
				ap += hp * cp / ct
			}
		}
		losses = append(losses, 1-ap/float64(nPos))
	}
	var s float64
	for _, v := range losses {
		s += v
	}
	return s / float64(len(losses))
}

func TestFastAPMatchesPulseTensor(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, bins := range []int{1, 3, 10, 37} {
		for _, power := range []float64{1, 2, 0.5} {
			emb := testkit.NormalDense(rng, 30, 6)
			labels := randLabels(rng, 30, 5)
			l := losses.NewFastAP()
			l.NumBins, l.Distance = bins, &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: power}
			res, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels})
			if err != nil {
				t.Fatal(err)
			}
			dist, err := l.Distance.Matrix(emb, nil)
			if err != nil {
				t.Fatal(err)
			}
			want := fastAPReference(dist, labels, bins, power)
			if math.Abs(res.Loss-want) > 1e-12+1e-10*math.Abs(want) {
				t.Errorf("bins %d power %v: loss %v, pulse tensor %v", bins, power, res.Loss, want)
			}
		}
	}
}

// pnpReference is PML's PNPLoss forward written with its N×N×N tensors:
// sim_sg[i,j,k] = σ((s_ik - s_ij)/anneal)·I_neg[j,k].
func pnpReference(sim *mat.Dense, labels []int, v losses.PNPVariant, b, alpha, anneal float64) float64 {
	n := len(labels)
	var total float64
	safe := 0
	for i := 0; i < n; i++ {
		var rowSum, nPos float64
		hasPos := false
		for j := 0; j < n; j++ {
			if j != i && labels[j] == labels[i] {
				hasPos = true
			}
		}
		if !hasPos {
			continue
		}
		safe++
		for j := 0; j < n; j++ {
			if labels[j] != labels[i] {
				continue
			}
			nPos++
			var r float64
			for k := 0; k < n; k++ {
				if labels[k] == labels[j] {
					continue
				}
				z := math.Max(-50, math.Min(50, -(sim.At(i, k)-sim.At(i, j))/anneal))
				r += 1 / (1 + math.Exp(z))
			}
			switch v {
			case losses.PNPDs:
				r = math.Log(1 + r)
			case losses.PNPDq:
				r = 1 / math.Pow(1+r, alpha)
			case losses.PNPIu:
				r = (1 + r) * math.Log(1+r)
			case losses.PNPIb:
				r = 1 / (b * b) * (b*r - math.Log(1+b*r))
			}
			rowSum += r
		}
		total += rowSum / nPos
	}
	loss := total / float64(safe)
	if v == losses.PNPDq {
		loss = 1 - loss
	}
	return loss
}

func TestPNPMatchesTensorAlgorithm(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, v := range []losses.PNPVariant{losses.PNPO, losses.PNPDs, losses.PNPDq, losses.PNPIu, losses.PNPIb} {
		emb := testkit.NormalDense(rng, 25, 4)
		labels := randLabels(rng, 25, 4)
		labels[0] = 99 // a query without positives
		l := losses.NewPNP()
		l.Variant, l.B, l.Alpha, l.Anneal = v, 1.5, 2.5, 0.02
		res, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		sim, err := distances.NewCosineSimilarity().Matrix(emb, nil)
		if err != nil {
			t.Fatal(err)
		}
		want := pnpReference(sim, labels, v, 1.5, 2.5, 0.02)
		if math.Abs(res.Loss-want) > 1e-12+1e-10*math.Abs(want) {
			t.Errorf("%s: loss %v, tensor algorithm %v", v, res.Loss, want)
		}
	}
}

// TestHistogramFloat32Bins checks PML's float32 node index: a similarity a
// hair below a node in float64 rounds onto the node in float32, so it is
// binned (and differentiated) as a value just above the node.
func TestHistogramFloat32Bins(t *testing.T) {
	const delta = 0.02 // 100 bins
	// Node 75 of [-1, 1] is 0.5: floor((s+1)/delta) is 74 in float64 but
	// 75 in float32 for s = 0.5 - 1e-9.
	below, above := 0.5-1e-9, 0.5+1e-7
	if math.Floor((below+1)/delta) != 74 || math.Floor(float64(float32(float32(below)+1)/float32(delta))) != 75 {
		t.Fatal("the test value does not straddle node 75 as intended")
	}
	// Three unit vectors: the positive pair (0, 1) has cosine s, the
	// negative pairs (0, 2) and (1, 2) have cosines 0.1 and about 0.495,
	// the latter between nodes 74 and 75, so that the binning of s shows
	// in the gradient.
	build := func(s float64) *mat.Dense {
		x := mat.NewDense(3, 3, nil)
		x.SetRow(0, []float64{1, 0, 0})
		x.SetRow(1, []float64{s, math.Sqrt(1 - s*s), 0})
		c := 0.1
		y := (0.495 - s*c) / math.Sqrt(1-s*s)
		x.SetRow(2, []float64{c, y, math.Sqrt(1 - c*c - y*y)})
		return x
	}
	labels := []int{0, 0, 1}
	l := losses.NewHistogram()
	rb, err := l.Compute(losses.Batch{Embeddings: build(below), Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	ra, err := l.Compute(losses.Batch{Embeddings: build(above), Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	if err := fdiff.Compare(rb.Grad, ra.Grad, 1e-5, 1e-9); err != nil {
		t.Errorf("the gradient below the float64 node differs from the one above it: %v", err)
	}
	if math.Abs(rb.Loss-ra.Loss) > 1e-5 {
		t.Errorf("loss %v below the node, %v above: the loss is continuous", rb.Loss, ra.Loss)
	}
}

func TestHistogramSettingsAndTuples(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	emb := testkit.NormalDense(rng, 12, 4)
	labels := randLabels(rng, 12, 3)
	b := losses.Batch{Embeddings: emb, Labels: labels}
	run := func(l losses.Loss, b losses.Batch) losses.Result {
		t.Helper()
		r, err := l.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	same := func(what string, x, y losses.Result) {
		t.Helper()
		if x.Loss != y.Loss {
			t.Errorf("%s: loss %v and %v", what, x.Loss, y.Loss)
		}
		if err := fdiff.Compare(x.Grad, y.Grad, 1e-14, 1e-16); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	byBins, byDelta, both, def := losses.NewHistogram(), losses.NewHistogram(), losses.NewHistogram(), losses.NewHistogram()
	byBins.NBins = 8
	byDelta.Delta = 0.25
	both.NBins, both.Delta = 8, 0.25
	same("NBins 8 vs Delta 0.25", run(byBins, b), run(byDelta, b))
	same("NBins and Delta", run(byBins, b), run(both, b))
	hundred := losses.NewHistogram()
	hundred.NBins = 100
	same("default vs 100 bins", run(def, b), run(hundred, b))

	all, err := tuples.AllTriplets(labels, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	same("all triplets given", run(def, b), run(def, losses.Batch{Embeddings: emb, Labels: labels, Tuples: all}))
	// Without labels the tuples alone define the pairs.
	same("tuples without labels", run(def, losses.Batch{Embeddings: emb, Labels: labels, Tuples: all}), run(def, losses.Batch{Embeddings: emb, Tuples: all}))
	// Pairs are joined on their anchors into triplets, as PML's
	// convert_to_triplets does.
	pairs, err := tuples.AllPairs(labels, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	pairs.A1, pairs.P = pairs.A1[:len(pairs.A1)/2], pairs.P[:len(pairs.P)/2]
	joined, err := tuples.ToTriplets(pairs, labels, nil, true, tuples.AllPerAnchor, nil)
	if err != nil {
		t.Fatal(err)
	}
	same("pairs vs joined triplets", run(def, losses.Batch{Embeddings: emb, Labels: labels, Tuples: pairs}), run(def, losses.Batch{Embeddings: emb, Labels: labels, Tuples: joined}))
	// Pairs whose anchors never meet give no triplet: zero loss.
	r := run(def, losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Pairs{A1: []int{0}, P: []int{1}, A2: []int{2}, N: []int{3}}})
	if r.Loss != 0 || mat.Norm(r.Grad, 1) != 0 {
		t.Errorf("disjoint pairs: loss %v", r.Loss)
	}
}

// TestFastAPMinerWeights: tuples in which every element occurs equally
// often weigh every element 1 (no tuples); otherwise each element's loss
// is scaled by its count over the largest count.
func TestFastAPMinerWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	emb := testkit.NormalDense(rng, 6, 3)
	labels := []int{0, 0, 1, 1, 2, 2}
	l := losses.NewFastAP()
	l.Reducer = reducers.NewDoNothing()
	plain, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	even := &tuples.Pairs{A1: []int{0, 2, 4}, P: []int{1, 3, 5}}
	r, err := l.Compute(losses.Batch{Embeddings: emb, Labels: labels, Tuples: even})
	if err != nil {
		t.Fatal(err)
	}
	if err := fdiff.CompareSlices(r.Records[0].Values, plain.Records[0].Values, 1e-15, 0); err != nil {
		t.Errorf("equal counts: %v", err)
	}
	// Indices 0, 0, 1, 1, 0, 2: counts 3, 2, 1 over the largest, 3.
	r, err = l.Compute(losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{0, 0}, P: []int{1, 1}, N: []int{0, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	w := []float64{1, 2.0 / 3, 1.0 / 3, 0, 0, 0}
	for i, v := range r.Records[0].Values {
		if want := plain.Records[0].Values[i] * w[i]; math.Abs(v-want) > 1e-15 {
			t.Errorf("element %d: %v, want %v", i, v, want)
		}
	}
}

func TestRankedListAlpha(t *testing.T) {
	l := losses.NewRankedList(0.4, 1)
	if l.Alpha != 1.2 || l.Imbalance != 0.5 || l.Tp != 0 {
		t.Errorf("defaults: %+v", l)
	}
	// Alpha is fixed at construction, as in PML.
	l.Margin = 0.8
	if l.Alpha != 1.2 {
		t.Errorf("Alpha changed with Margin: %v", l.Alpha)
	}
}

func TestRankingEdgeCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	emb := testkit.NormalDense(rng, 5, 3)
	all := func() []losses.Loss {
		return []losses.Loss{losses.NewFastAP(), losses.NewHistogram(), losses.NewPNP(), losses.NewRankedList(0.4, 1)}
	}
	tests := []struct {
		name   string
		labels []int
		zero   []bool // FastAP, Histogram, PNP, RankedList: PML's loss is exactly 0
	}{
		{"all distinct", []int{0, 1, 2, 3, 4}, []bool{true, true, true, false}},
		{"single-sample classes", []int{0, 0, 1, 2, 3}, []bool{false, false, false, false}},
		{"one class", []int{7, 7, 7, 7, 7}, []bool{false, true, true, false}},
	}
	for _, tc := range tests {
		for k, l := range all() {
			res, err := l.Compute(losses.Batch{Embeddings: emb, Labels: tc.labels})
			if err != nil {
				t.Fatalf("%s %T: %v", tc.name, l, err)
			}
			checkFinite(t, res)
			if tc.zero[k] && (res.Loss != 0 || mat.Norm(res.Grad, 1) != 0) {
				t.Errorf("%s %T: loss %v, want 0 with a zero gradient", tc.name, l, res.Loss)
			}
		}
	}
	// One class: FastAP's precision is 1 (up to rounding), PNP has no
	// negatives to rank.
	res, err := losses.NewFastAP().Compute(losses.Batch{Embeddings: emb, Labels: []int{7, 7, 7, 7, 7}})
	if err != nil || math.Abs(res.Loss) > 1e-12 {
		t.Errorf("FastAP one class: %v, %v", res.Loss, err)
	}
	for _, v := range []losses.PNPVariant{losses.PNPO, losses.PNPDs, losses.PNPDq, losses.PNPIu, losses.PNPIb} {
		l := losses.NewPNP()
		l.Variant = v
		res, err := l.Compute(losses.Batch{Embeddings: emb, Labels: []int{7, 7, 7, 7, 7}})
		if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
			t.Errorf("PNP %s one class: %v, %v", v, res.Loss, err)
		}
	}
	// N = 1.
	one := mat.NewDense(1, 3, []float64{1, 2, 3})
	for _, l := range all() {
		res, err := l.Compute(losses.Batch{Embeddings: one, Labels: []int{0}})
		if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
			t.Errorf("%T with N=1: %v, %v", l, res.Loss, err)
		}
	}
	// Far-apart classes: RankedList has nothing to push.
	far := mat.NewDense(4, 2, []float64{1, 0, 1, 0.001, -1, 0, -1, 0.001})
	res, err = losses.NewRankedList(0.4, 1).Compute(losses.Batch{Embeddings: far, Labels: []int{0, 0, 1, 1}})
	if err != nil || res.Loss != 0 || mat.Norm(res.Grad, 1) != 0 {
		t.Errorf("RankedList separated classes: %v, %v", res.Loss, err)
	}
	// FastAP: the element sub-loss covers only the rows with positives.
	fa := losses.NewFastAP()
	fa.Reducer = reducers.NewDoNothing()
	res, err = fa.Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Records[0]; r.Kind != reducers.Element || len(r.Values) != 2 || r.Indices[0][0] != 0 || r.Indices[0][1] != 1 {
		t.Errorf("FastAP record %+v", r)
	}
}

func TestRankingBadInput(t *testing.T) {
	emb := mat.NewDense(4, 2, []float64{1, 2, 3, 4.5, 5, 6, -7, 8})
	labels := []int{0, 0, 1, 1}
	nan := mat.DenseCopyOf(emb)
	nan.Set(1, 1, math.NaN())
	names := map[string]func() losses.Loss{
		"losses.FastAP":     func() losses.Loss { return losses.NewFastAP() },
		"losses.Histogram":  func() losses.Loss { return losses.NewHistogram() },
		"losses.PNP":        func() losses.Loss { return losses.NewPNP() },
		"losses.RankedList": func() losses.Loss { return losses.NewRankedList(0.4, 1) },
	}
	tests := []struct {
		name     string
		b        losses.Batch
		sentinel error
		skip     string // the loss for which the case does not apply
	}{
		{"label count", losses.Batch{Embeddings: emb, Labels: []int{0, 1}}, gometric.ErrLabels, ""},
		{"nan", losses.Batch{Embeddings: nan, Labels: labels}, gometric.ErrNonFinite, ""},
		{"empty", losses.Batch{Embeddings: &mat.Dense{}}, gometric.ErrShape, ""},
		{"no labels", losses.Batch{Embeddings: emb}, gometric.ErrLabels, ""},
		{"ref", losses.Batch{Embeddings: emb, Labels: labels, Ref: emb, RefLabels: labels}, gometric.ErrUnsupported, ""},
		{"ref without ref labels", losses.Batch{Embeddings: emb, Labels: labels, Ref: emb}, gometric.ErrLabels, ""},
		{"tuple range", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{9}}}, gometric.ErrIndex, ""},
		{"tuples given", losses.Batch{Embeddings: emb, Labels: labels, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{2}}}, gometric.ErrUnsupported, "losses.FastAP losses.Histogram"},
		{"tuples without labels", losses.Batch{Embeddings: emb, Tuples: &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{2}}}, gometric.ErrLabels, "losses.Histogram"},
	}
	for _, tc := range tests {
		for name, mk := range names {
			if slices.Contains(strings.Fields(tc.skip), name) {
				continue
			}
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				_, err := mk().Compute(tc.b)
				checkErr(t, err, tc.sentinel, name)
			})
		}
	}

	b := losses.Batch{Embeddings: emb, Labels: labels}
	settings := []struct {
		name string
		loss losses.Loss
		comp string
	}{}
	add := func(name, comp string, l losses.Loss) {
		settings = append(settings, struct {
			name string
			loss losses.Loss
			comp string
		}{name, l, comp})
	}
	for _, nb := range []int{0, -3, 1 << 30} {
		l := losses.NewFastAP()
		l.NumBins = nb
		add(fmt.Sprintf("FastAP NumBins %d", nb), "losses.FastAP", l)
	}
	for _, d := range []distances.Distance{distances.NewCosineSimilarity(), &distances.Lp{P: 2, Power: 2}, &distances.Lp{NormalizeEmbeddings: true, P: 1, Power: 2}, distances.NewBatched(distances.NewLp(), 2)} {
		l := losses.NewFastAP()
		l.Distance = d
		add(fmt.Sprintf("FastAP distance %T", d), "losses.FastAP", l)
	}
	fastHuge := losses.NewFastAP()
	fastHuge.Distance = &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: 2000}
	add("FastAP Power 2000", "losses.FastAP", fastHuge)
	for _, h := range []struct {
		nb int
		d  float64
	}{{-1, 0}, {0, math.NaN()}, {0, -0.1}, {0, math.Inf(1)}, {10, 0.3}, {0, 1e-9}} {
		l := losses.NewHistogram()
		l.NBins, l.Delta = h.nb, h.d
		add(fmt.Sprintf("Histogram NBins %d Delta %v", h.nb, h.d), "losses.Histogram", l)
	}
	for _, v := range []losses.PNPVariant{"", "o", "PNP-O", "Dx"} {
		l := losses.NewPNP()
		l.Variant = v
		add(fmt.Sprintf("PNP Variant %q", v), "losses.PNP", l)
	}
	for _, p := range [][3]float64{{0, 1, 0.01}, {math.NaN(), 1, 0.01}, {2, math.Inf(1), 0.01}, {2, 1, 0}, {2, 1, math.NaN()}} {
		l := losses.NewPNP()
		l.B, l.Alpha, l.Anneal = p[0], p[1], p[2]
		add(fmt.Sprintf("PNP B %v Alpha %v Anneal %v", p[0], p[1], p[2]), "losses.PNP", l)
	}
	pnpLp := losses.NewPNP()
	pnpLp.Distance = distances.NewLp()
	add("PNP Lp distance", "losses.PNP", pnpLp)
	for _, imb := range []float64{-0.1, 1.5, math.NaN()} {
		l := losses.NewRankedList(0.4, 1)
		l.Imbalance = imb
		add(fmt.Sprintf("RankedList Imbalance %v", imb), "losses.RankedList", l)
	}
	for _, m := range []float64{math.NaN(), math.Inf(-1)} {
		add(fmt.Sprintf("RankedList Margin %v", m), "losses.RankedList", losses.NewRankedList(m, 1))
		add(fmt.Sprintf("RankedList Tn %v", m), "losses.RankedList", losses.NewRankedList(0.4, m))
	}
	for _, tc := range settings {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.loss.Compute(b)
			checkErr(t, err, gometric.ErrSetting, tc.comp)
		})
	}

	// Histogram values outside [-1, 1): PML raises an index error.
	lp := losses.NewHistogram()
	lp.Distance = distances.NewLp()
	_, err := lp.Compute(b)
	checkErr(t, err, gometric.ErrUnsupported, "losses.Histogram")
	twin := mat.NewDense(3, 2, []float64{1, 1, 1, 1, -1, 0.5})
	_, err = losses.NewHistogram().Compute(losses.Batch{Embeddings: twin, Labels: []int{0, 0, 1}})
	checkErr(t, err, gometric.ErrUnsupported, "losses.Histogram")
	// RankedList overflow: a huge temperature.
	hot := losses.NewRankedList(0.4, 1e6)
	_, err = hot.Compute(b)
	checkErr(t, err, gometric.ErrNonFinite, "losses.RankedList")
}

// FuzzRankingLosses runs the ranking losses on arbitrary small batches and
// settings: they must never panic, and a nil error must come with finite
// results.
func FuzzRankingLosses(f *testing.F) {
	f.Add(uint8(6), uint8(3), uint8(0), uint8(10), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18})
	f.Add(uint8(4), uint8(2), uint8(3), uint8(1), []byte{0, 255, 128, 7, 7, 7, 9, 200, 3})
	f.Add(uint8(1), uint8(1), uint8(1), uint8(2), []byte{42})
	f.Add(uint8(5), uint8(4), uint8(6), uint8(0), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 250, 251, 252, 253, 254, 255})
	f.Add(uint8(8), uint8(3), uint8(2), uint8(37), []byte{128, 129, 130, 131, 120, 140, 100, 160, 90, 3, 5, 8, 13, 21, 34, 55, 89, 144})
	f.Fuzz(func(t *testing.T, n, d, mode, setting uint8, data []byte) {
		nn, dd := int(n%9), int(d%5)
		at, value := fuzzBytes(data).at, fuzzBytes(data).value
		emb := &mat.Dense{}
		if nn > 0 && dd > 0 {
			emb = mat.NewDense(nn, dd, nil)
			for i := 0; i < nn; i++ {
				for j := 0; j < dd; j++ {
					emb.Set(i, j, value(i*dd+j))
				}
			}
		}
		b := losses.Batch{Embeddings: emb}
		if mode&1 == 0 {
			b.Labels = make([]int, nn)
			for i := range b.Labels {
				b.Labels[i] = int(at(7+i) % 3)
			}
		}
		if mode&2 == 2 {
			k := int(at(5) % 5)
			tr := &tuples.Triplets{A: make([]int, k), P: make([]int, k), N: make([]int, k)}
			for i := 0; i < k; i++ {
				tr.A[i], tr.P[i], tr.N[i] = int(at(i)%9), int(at(i+1)%9), int(at(i+2)%9)
			}
			b.Tuples = tr
		}
		if mode&4 == 4 {
			k := int(at(6) % 5)
			pr := &tuples.Pairs{A1: make([]int, k), P: make([]int, k), A2: make([]int, k), N: make([]int, k)}
			for i := 0; i < k; i++ {
				pr.A1[i], pr.P[i], pr.A2[i], pr.N[i] = int(at(i)%9), int(at(i+3)%9), int(at(i+1)%9), int(at(i+2)%9)
			}
			b.Tuples = pr
		}
		if mode&8 == 8 {
			b.Ref, b.RefLabels = emb, b.Labels
		}
		fast := losses.NewFastAP()
		fast.NumBins = int(setting%40) - 2
		if mode&16 == 16 {
			fast.Distance = &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: value(3)}
		}
		hist := losses.NewHistogram()
		hist.NBins = int(setting % 30)
		if mode&32 == 32 {
			hist.Delta = value(4) / 8
		}
		pnp := losses.NewPNP()
		pnp.Variant = []losses.PNPVariant{losses.PNPO, losses.PNPDs, losses.PNPDq, losses.PNPIu, losses.PNPIb, "bad"}[int(setting)%6]
		pnp.Anneal, pnp.B, pnp.Alpha = value(8)/64, value(9), value(10)
		rll := losses.NewRankedList(value(11), value(12))
		rll.Tp, rll.Imbalance = value(13), float64(at(14))/200
		if mode&64 == 64 {
			rll.Distance = distances.NewCosineSimilarity()
		}
		for _, l := range []losses.Loss{fast, hist, pnp, rll} {
			res, err := l.Compute(b)
			if err == nil {
				checkFinite(t, res)
			}
		}
	})
}

func BenchmarkRanking(b *testing.B) {
	rng := rand.New(rand.NewPCG(61, 62))
	emb := testkit.NormalDense(rng, 128, 64)
	labels := randLabels(rng, 128, 16)
	batch := losses.Batch{Embeddings: emb, Labels: labels}
	for _, tc := range []struct {
		name string
		loss losses.Loss
	}{
		{"FastAP", losses.NewFastAP()},
		{"Histogram", losses.NewHistogram()},
		{"PNP", losses.NewPNP()},
		{"RankedList", losses.NewRankedList(0.4, 1)},
	} {
		b.Run(tc.name+"/N=128", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tc.loss.Compute(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
