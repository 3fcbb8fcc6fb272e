package trainers

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// toMatrix is x in float32.
func toMatrix(x *mat.Dense) gometric.Matrix {
	r, c := x.Dims()
	out := gometric.Matrix{Rows: r, Cols: c, Data: make([]float32, r*c)}
	for i, v := range x.RawMatrix().Data {
		out.Data[i] = float32(v)
	}
	return out
}

func randDense(rng *rand.Rand, r, c int) *mat.Dense {
	x := mat.NewDense(r, c, nil)
	for i := range x.RawMatrix().Data {
		x.RawMatrix().Data[i] = rng.NormFloat64()
	}
	return x
}

// TestDAMLGeneratorMSEGradient checks g_hard and g_reg's gradients with
// respect to the synthetic negatives and the trunk's rows (through
// torch's normalize) against central finite differences.
func TestDAMLGeneratorMSEGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, d = 6, 5
	h, s := randDense(rng, n, d), randDense(rng, 4, d)
	trip := &tuples.Triplets{A: []int{0, 1, 2, 0}, P: []int{1, 0, 3, 1}, N: []int{4, 5, 4, 2}}
	for _, w := range [][2]float64{{1, 0}, {0, 1}, {0.7, 2.5}} {
		tr := &DeepAdversarialMetricLearning{}
		eval := func() (float64, []float32, []float32) {
			tr.dh, tr.ds = zeroedBuf(tr.dh, n*d), zeroedBuf(tr.ds, 4*d)
			hard, reg := tr.generatorMSE(toMatrix(h), toMatrix(s), trip, w[0], w[1])
			return w[0]*hard + w[1]*reg, tr.dh, tr.ds
		}
		_, dh, ds := eval()
		f := func() float64 { v, _, _ := eval(); return v }
		for _, c := range []struct {
			name string
			x    *mat.Dense
			got  []float32
		}{{"h", h, append([]float32(nil), dh...)}, {"s", s, append([]float32(nil), ds...)}} {
			want := fdiff.Gradient(f, c.x, 1e-3)
			r, cc := c.x.Dims()
			got := mat.NewDense(r, cc, nil)
			for i, v := range c.got {
				got.RawMatrix().Data[i] = float64(v)
			}
			if err := fdiff.Compare(got, want, 1e-2, 1e-4); err != nil {
				t.Errorf("weights %v, d/d%s: %v", w, c.name, err)
			}
		}
	}
}

// TestDAMLTrunkGradient checks the whole iteration's gradient with
// respect to the trunk's output — through the metric loss, the embedder
// (run once on real and synthetic rows), the synth and g_adv losses, the
// generator's input gradient and g_hard and g_reg — against central
// finite differences, in each phase, with and without an embedder. The
// losses are smooth (TripletMargin's SmoothLoss) and the models linear,
// so the total is differentiable.
func TestDAMLTrunkGradient(t *testing.T) {
	const n, d, e = 8, 4, 3
	labels := []int{0, 0, 1, 1, 2, 2, 0, 1}
	smooth := func(m float64) *losses.TripletMargin {
		l := losses.NewTripletMargin()
		l.Margin, l.SmoothLoss = m, true
		return l
	}
	for _, tc := range []struct {
		name     string
		embedder bool
		phase    damlPhase
	}{
		{"metric alone, embedder", true, damlPhase{metric: true}},
		{"adversarial alone", false, damlPhase{adv: true}},
		{"adversarial alone, embedder", true, damlPhase{adv: true}},
		{"both", false, damlPhase{metric: true, adv: true, both: true}},
		{"both, embedder", true, damlPhase{metric: true, adv: true, both: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gen, err := models.NewMLP(models.MLPConfig{Sizes: []int{3 * d, d}, Seed: 5})
			if err != nil {
				t.Fatal(err)
			}
			tr := NewDeepAdversarialMetricLearning(nil, nil, n, smooth(0.3), smooth(0.2), smooth(0.1), gen, nil, nil)
			tr.GTripletsPerAnchor = 2
			tr.LossWeights = map[string]float64{lossSynth: 0.5, lossGAdv: 2, lossGHard: 3, lossGReg: 1.5}
			if tc.embedder {
				emb, err := models.NewMLP(models.MLPConfig{Sizes: []int{d, e}, Seed: 6})
				if err != nil {
					t.Fatal(err)
				}
				tr.Embedder = emb
			}
			tr.prepare(damlName)
			tr.setupLosses()
			tr.phase = tc.phase
			h := randDense(rand.New(rand.NewPCG(7, 8)), n, d)
			eval := func() BatchLoss {
				tr.rng = rand.New(rand.NewPCG(1, 2)) // the same triplets every time
				bl, err := tr.calculate(toMatrix(h), labels)
				if err != nil {
					t.Fatal(err)
				}
				return bl
			}
			bl := eval()
			if tc.phase.adv && (bl.Parts[lossGAdv] == 0 || bl.Parts[lossGHard] == 0) {
				t.Fatalf("adversarial losses not computed: %v", bl.Parts)
			}
			got := mat.NewDense(n, d, nil)
			for i, v := range bl.Grad.Data {
				got.RawMatrix().Data[i] = float64(v)
			}
			want := fdiff.Gradient(func() float64 { return eval().Loss }, h, 1e-2)
			if err := fdiff.Compare(got, want, 3e-2, 2e-3); err != nil {
				t.Errorf("d(total)/d(trunk output): %v\ngot  %v\nwant %v", err, mat.Formatted(got), mat.Formatted(want))
			}
		})
	}
}

// TestDAMLAdversarialLoss checks g_adv against PML's formula on
// interleaved triplets: TripletMarginLoss with margin −m and
// NegativeLpDistance gives relu(−d(a,p) + d(a,n) − m) per triplet, d the
// L2 distance of the normalised rows, averaged over the non-zero ones
// (AvgNonZeroReducer); the caller's loss keeps its margin and distance.
func TestDAMLAdversarialLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const nt, d, m = 5, 4, 0.1
	x := randDense(rng, 3*nt, d)
	user := losses.NewTripletMargin()
	user.Margin = m
	tr := &DeepAdversarialMetricLearning{GAdvLoss: user, SynthLoss: losses.NewTripletMargin()}
	tr.setupLosses()
	labels := make([]int, 3*nt)
	for i := range nt {
		labels[3*i], labels[3*i+1], labels[3*i+2] = 0, 0, 1
	}
	_, _, err := tr.advObj.Compute(toMatrix(x), labels)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := tr.advObj.Last()
	xf := toMatrix(x)
	dist := func(i, j int) float64 {
		var ni, nj, s float64
		for k := range d {
			ni += float64(xf.Data[i*d+k]) * float64(xf.Data[i*d+k])
			nj += float64(xf.Data[j*d+k]) * float64(xf.Data[j*d+k])
		}
		ni, nj = math.Sqrt(ni), math.Sqrt(nj)
		for k := range d {
			v := float64(xf.Data[i*d+k])/ni - float64(xf.Data[j*d+k])/nj
			s += v * v
		}
		return math.Sqrt(s)
	}
	var sum float64
	var nonZero int
	for i := range nt {
		v := max(0, -dist(3*i, 3*i+1)+dist(3*i, 3*i+2)-m)
		if v > 0 {
			sum += v
			nonZero++
		}
	}
	if nonZero == 0 {
		t.Fatal("the test's triplets have no violation")
	}
	if want := sum / float64(nonZero); math.Abs(res.Loss-want) > 1e-6 {
		t.Errorf("g_adv = %v, want %v", res.Loss, want)
	}
	if user.Margin != m || user.Distance != nil {
		t.Errorf("the caller's loss was changed: margin %v, distance %v", user.Margin, user.Distance)
	}
}

// negLp's VJP is minus Lp's at Lp's own matrix, for a query and a
// reference set that differ, and it leaves the matrix it is given as it
// was.
func TestNegLpVJP(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	fill := func(r, c int) *mat.Dense {
		d := mat.NewDense(r, c, nil)
		for i := range r {
			for j := range c {
				d.Set(i, j, rng.NormFloat64())
			}
		}
		return d
	}
	q, r, g := fill(5, 3), fill(4, 3), fill(5, 4)
	neg := negLp{distances.NewLp()}
	m, err := neg.Matrix(q, r)
	if err != nil {
		t.Fatal(err)
	}
	kept := mat.DenseCopyOf(m)
	gq, gr, err := neg.MatrixVJP(q, r, m, g)
	if err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(m, kept) {
		t.Error("MatrixVJP changed the matrix it was given")
	}
	wq, wr, err := distances.NewLp().MatrixVJP(q, r, nil, g)
	if err != nil {
		t.Fatal(err)
	}
	wq.Scale(-1, wq)
	wr.Scale(-1, wr)
	if !mat.EqualApprox(gq, wq, 1e-12) || !mat.EqualApprox(gr, wr, 1e-12) {
		t.Errorf("negLp VJP (%v, %v), want minus Lp's (%v, %v)", mat.Formatted(gq), mat.Formatted(gr), mat.Formatted(wq), mat.Formatted(wr))
	}
}
