package losses_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// scaleFree lists the loss types whose value does not depend on the scale
// of the embeddings (their distance normalises the rows, or they normalise
// them themselves) as long as every row norm exceeds torch's eps 1e-12:
// their value at x·s is the value at x and their gradient 1/s times it
// (parameter gradients unchanged). The others (Angular, whose negatives
// enter unnormalised as in PML; LargeMarginSoftmax and SphereFace, whose
// logits grow with ‖x‖; VICReg, on raw embeddings) are checked for a finite result or an ErrNonFinite error
// (TestExtremeScaleLosses).
var scaleFree = map[string]bool{
	"ArcFace": true, "Circle": true, "Contrastive": true, "CosFace": true,
	"CrossBatchMemory": true, "DynamicSoftMargin": true, "FastAP": true, "GeneralizedLiftedStructure": true,
	"Histogram": true, "Instance": true, "IntraPairVariance": true, "LiftedStructure": true, "Manifold": true,
	"Margin": true, "MultiSimilarity": true, "Multiple": true, "NCA": true, "NPairs": true, "NTXent": true,
	"NormalizedSoftmax": true, "P2SGrad": true, "PNP": true, "ProxyAnchor": true, "ProxyNCA": true,
	"RankedList": true, "SelfSupervised": true, "SignalToNoiseRatioContrastive": true, "SoftTriple": true,
	"SubCenterArcFace": true, "SupCon": true, "ThresholdConsistentMargin": true, "TripletMargin": true,
	"TupletMargin": true,
}

// lossScales are the scales and the ends of float64's range.
var lossScales = []float64{1e300, 1e160, 1e30, 1e-30, 1e-160, 1e-300}

// scaleBatch returns b with its embeddings (and ref) times s.
func scaleBatch(b losses.Batch, s float64) losses.Batch {
	sc := func(m *mat.Dense) *mat.Dense {
		if m == nil {
			return nil
		}
		y := mat.DenseCopyOf(m)
		y.Scale(s, y)
		return y
	}
	b.Embeddings, b.Ref = sc(b.Embeddings), sc(b.Ref)
	return b
}

// compareResult checks got against want scaled as a scale-free loss at
// scale s predicts: the same value and parameter gradients, gradients
// divided by s.
func compareResult(got, want losses.Result, s float64) error {
	if d := math.Abs(got.Loss - want.Loss); d > 1e-9*math.Abs(want.Loss) && d > 1e-12 {
		return fmt.Errorf("loss %v, want %v", got.Loss, want.Loss)
	}
	grad := func(what string, g, w *mat.Dense, div float64) error {
		if (g == nil) != (w == nil) {
			return fmt.Errorf("%s: %v, want %v", what, g != nil, w != nil)
		}
		if g == nil {
			return nil
		}
		scale := mat.Norm(w, math.Inf(1))
		r, c := w.Dims()
		for i := range r {
			for j := range c {
				gv, wv := g.At(i, j)*div, w.At(i, j)
				if math.IsNaN(gv) || math.IsInf(gv, 0) {
					return fmt.Errorf("%s (%d, %d) is %v", what, i, j, g.At(i, j))
				}
				if d := math.Abs(gv - wv); d > 1e-7*math.Abs(wv) && d > 1e-7*scale && d > 1e-12 {
					return fmt.Errorf("%s (%d, %d) is %v·(1/%v), want %v·(1/%v)", what, i, j, gv, div, wv, div)
				}
			}
		}
		return nil
	}
	if err := grad("gradient", got.Grad, want.Grad, s); err != nil {
		return err
	}
	if err := grad("ref gradient", got.RefGrad, want.RefGrad, s); err != nil {
		return err
	}
	for name, w := range want.ParamGrads {
		if err := grad("gradient of "+name, got.ParamGrads[name], w, 1); err != nil {
			return err
		}
	}
	return nil
}

type lossVariant struct {
	name string
	make func() losses.Loss
	in   func() losses.Batch
	free bool
}

// lossVariants returns every loss type with its defaults and, for the
// losses with a Distance setting that the default normalises, with other
// normalising distances (P 3, a power, SNR), and Multiple holding losses.
func lossVariants() []lossVariant {
	var vs []lossVariant
	names := make([]string, 0, len(lossTypes))
	for name := range lossTypes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		lt := lossTypes[name]
		mk := lt.make
		switch name {
		case "Multiple":
			mk = lt.concurrent
		case "Manifold":
			// Fixed meta classes (else drawn at random at every call).
			mk = func() losses.Loss {
				m := lt.make().(*losses.Manifold)
				m.MetaClasses = []int{0, 1, 2, 0, 1, 2, 0, 1}
				return m
			}
		}
		vs = append(vs, lossVariant{name, mk, lt.input, scaleFree[name]})
	}
	withDist := func(name string, mk func() losses.Loss, d distances.Distance) {
		vs = append(vs, lossVariant{fmt.Sprintf("%s/%T%+v", name, d, d.Settings()), func() losses.Loss {
			l := mk()
			base := baseOf(l)
			base.Distance = d
			return l
		}, lossTypes[name].input, d.Settings().NormalizeEmbeddings})
	}
	withDist("Contrastive", func() losses.Loss { return losses.NewContrastive() }, &distances.Lp{NormalizeEmbeddings: true, P: 3, Power: 1})
	withDist("TripletMargin", func() losses.Loss { return losses.NewTripletMargin() }, &distances.Lp{NormalizeEmbeddings: true, P: 2, Power: 2})
	withDist("TripletMargin", func() losses.Loss { return losses.NewTripletMargin() }, &distances.Lp{NormalizeEmbeddings: true, P: 50, Power: 1})
	withDist("MultiSimilarity", func() losses.Loss { return losses.NewMultiSimilarity() }, &distances.DotProductSimilarity{NormalizeEmbeddings: true, P: 2, Power: 1})
	withDist("NTXent", func() losses.Loss { return losses.NewNTXent() }, &distances.CosineSimilarity{P: 3, Power: 1})
	withDist("GeneralizedLiftedStructure", func() losses.Loss { return losses.NewGeneralizedLiftedStructure() }, distances.NewSNR())
	withDist("Contrastive", func() losses.Loss { return losses.NewContrastive() }, distances.NewBatched(distances.NewLp(), 3))
	// Distances without normalisation: the losses see distances that
	// overflow or underflow with the embeddings (power laws).
	withDist("Contrastive", func() losses.Loss { return losses.NewContrastive() }, &distances.Lp{P: 2, Power: 1})
	withDist("TripletMargin", func() losses.Loss { return losses.NewTripletMargin() }, &distances.Lp{P: 2, Power: 1})
	withDist("TripletMargin", func() losses.Loss { return losses.NewTripletMargin() }, &distances.Lp{P: 3, Power: 2})
	withDist("GeneralizedLiftedStructure", func() losses.Loss { return losses.NewGeneralizedLiftedStructure() }, &distances.Lp{P: 2, Power: 2})
	withDist("MultiSimilarity", func() losses.Loss { return losses.NewMultiSimilarity() }, &distances.DotProductSimilarity{P: 2, Power: 1})
	withDist("GeneralizedLiftedStructure", func() losses.Loss { return losses.NewGeneralizedLiftedStructure() }, &distances.SNR{P: 2, Power: 1})
	return vs
}

// baseOf returns the Base of a loss that has one.
func baseOf(l losses.Loss) *losses.Base {
	switch v := l.(type) {
	case *losses.Contrastive:
		return &v.Base
	case *losses.TripletMargin:
		return &v.Base
	case *losses.MultiSimilarity:
		return &v.Base
	case *losses.NTXent:
		return &v.Base
	case *losses.GeneralizedLiftedStructure:
		return &v.Base
	}
	panic(fmt.Sprintf("no Base for %T", l))
}

// TestExtremeScaleLosses runs every loss type (its defaults, and some with
// other normalising distances) on a batch scaled by 1e300, 1e160, 1e30,
// 1e-30, 1e-160 and 1e-300. Before, row norms overflowed and rows were
// normalised to zero with no error (MultiSimilarity on a batch ×1e160 gave
// 0.931 instead of 1.292; about 20 other losses too).
//
//   - A scale-free loss at a scale where every row norm exceeds 1e-12 has
//     the value at scale 1 and the gradient divided by s (parameter
//     gradients unchanged).
//   - Below that, torch's clamp makes the normalised rows x·s/1e-12, all
//     nearly zero; so does every scale of a loss that is not scale-free
//     far from 1. There each part of the result (the loss, each gradient)
//     follows a power law c·s^k, k an integer measured between 1e-50 and
//     1e-40 (or 1e30 and 1e60): the result at s is the one it predicts,
//     an error wrapping ErrNonFinite exactly when that overflows, and
//     zeros are allowed only where it underflows (see knownVanish).
func TestExtremeScaleLosses(t *testing.T) {
	for _, v := range lossVariants() {
		t.Run(v.name, func(t *testing.T) {
			b := v.in()
			at := func(s float64) losses.Result {
				r, err := v.make().Compute(scaleBatch(b, s))
				if err != nil {
					t.Fatalf("scale %v: %v", s, err)
				}
				return r
			}
			want := at(1)
			small0, small1 := at(1e-50), at(1e-40)
			var large0, large1 losses.Result
			if !v.free {
				large0, large1 = at(1e30), at(1e60)
			}
			for _, s := range lossScales {
				got, err := v.make().Compute(scaleBatch(b, s))
				switch {
				case v.free && s >= 1e-7:
					if err != nil {
						t.Errorf("scale %v: %v", s, err)
					} else if err := compareResult(got, want, s); err != nil {
						t.Errorf("scale %v: %v", s, err)
					}
				case s < 1:
					if err := checkPowerLaw(got, err, small0, small1, 1e-50, 1e-40, s, knownVanish[v.name] == s); err != nil {
						t.Errorf("scale %v: %v", s, err)
					}
				default:
					if err := checkPowerLaw(got, err, large0, large1, 1e30, 1e60, s, false); err != nil {
						t.Errorf("scale %v: %v", s, err)
					}
				}
			}
		})
	}
}

// parts returns the loss and the gradients of a result, flattened, by
// name.
func parts(r losses.Result) map[string][]float64 {
	out := map[string][]float64{"loss": {r.Loss}}
	if r.Grad != nil {
		out["gradient"] = r.Grad.RawMatrix().Data
	}
	if r.RefGrad != nil {
		out["ref gradient"] = r.RefGrad.RawMatrix().Data
	}
	for name, g := range r.ParamGrads {
		out["gradient of "+name] = g.RawMatrix().Data
	}
	return out
}

func maxAbs(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// checkPowerLaw checks got (with its error) at scale s against the power
// law through r0 at s0 and r1 at s1, part by part (see
// TestExtremeScaleLosses). With vanish, a part may be all zeros.
func checkPowerLaw(got losses.Result, err error, r0, r1 losses.Result, s0, s1, s float64, vanish bool) error {
	p0, p1 := parts(r0), parts(r1)
	overflow := false
	type pred struct {
		name  string
		x0    []float64
		logf  float64 // log10 of (s/s0)^k
		logMx float64 // log10 of the largest predicted magnitude
	}
	var preds []pred
	for name, x0 := range p0 {
		m0, m1 := maxAbs(x0), maxAbs(p1[name])
		if m0 == 0 || m1 == 0 {
			if m0 != m1 {
				return fmt.Errorf("%s: zero at one scale only (%v at %v, %v at %v): no power law", name, m0, s0, m1, s1)
			}
			preds = append(preds, pred{name, x0, 0, math.Inf(-1)})
			continue
		}
		k := math.Log10(m1/m0) / math.Log10(s1/s0)
		kr := math.Round(k)
		if math.Abs(k-kr) > 1e-3 {
			return fmt.Errorf("%s: magnitudes %v at %v and %v at %v are no integer power law (k = %v)", name, m0, s0, m1, s1, k)
		}
		logf := kr * math.Log10(s/s0)
		lm := math.Log10(m0) + logf
		overflow = overflow || lm > math.Log10(math.MaxFloat64)-1e-9
		preds = append(preds, pred{name, x0, logf, lm})
	}
	if overflow {
		if !errors.Is(err, gometric.ErrNonFinite) {
			return fmt.Errorf("the result overflows float64: error %v, want one wrapping ErrNonFinite", err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	pg := parts(got)
	for _, p := range preds {
		x := pg[p.name]
		if len(x) != len(p.x0) {
			return fmt.Errorf("%s has %d values, want %d", p.name, len(x), len(p.x0))
		}
		for i, v := range x {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s[%d] is %v without an error", p.name, i, v)
			}
		}
		if p.logMx < -290 || (vanish && maxAbs(x) == 0) {
			// The prediction underflows: any values of that size.
			if m := maxAbs(x); m > 1e-280 {
				return fmt.Errorf("%s: largest magnitude %v where 10^%.1f is predicted", p.name, m, p.logMx)
			}
			continue
		}
		tol := 1e-6 * math.Pow(10, p.logMx)
		for i, v := range x {
			w := 0.0
			if p.x0[i] != 0 {
				w = math.Copysign(math.Pow(10, math.Log10(math.Abs(p.x0[i]))+p.logf), p.x0[i])
			}
			if math.Abs(v-w) > tol {
				return fmt.Errorf("%s[%d] is %v, the power law predicts %v", p.name, i, v, w)
			}
		}
	}
	return nil
}

// knownVanish lists the clamped scales at which a loss's gradient is zero
// although the power law predicts otherwise, with the reason:
//
//   - FastAP at 1e-300: the normalised rows are x·1e-288, whose squared
//     distances (about 1e-576) round to 0, where the soft histogram's
//     subgradient is 0 (as in torch, whose cdist gives the same 0).
var knownVanish = map[string]float64{"FastAP": 1e-300}

// TestExtremeRowsLosses: a batch whose rows differ in magnitude by up to
// 1e310 gives the scale-free losses their unscaled value (each row is
// normalised on its own) and each row's gradient divided by its scale.
func TestExtremeRowsLosses(t *testing.T) {
	// The smallest scales keep every row norm above 1e-8, the eps of
	// torch's cosine_similarity (ThresholdConsistentMargin).
	rowScale := []float64{1e300, 1, 1e-7, 1e160, 2e-7, 3, 1e30, 7e-5}
	for _, v := range lossVariants() {
		if !v.free {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			b := v.in()
			want, err := v.make().Compute(b)
			if err != nil {
				t.Fatal(err)
			}
			bs := b
			bs.Embeddings = mat.DenseCopyOf(b.Embeddings)
			for i, s := range rowScale {
				row := bs.Embeddings.RawRowView(i)
				for k := range row {
					row[k] *= s
				}
			}
			got, err := v.make().Compute(bs)
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(got.Loss - want.Loss); d > 1e-9*math.Abs(want.Loss) && d > 1e-12 {
				t.Errorf("loss %v, want %v", got.Loss, want.Loss)
			}
			_, c := want.Grad.Dims()
			for i, s := range rowScale {
				for k := range c {
					g, w := got.Grad.At(i, k)*s, want.Grad.At(i, k)
					if d := math.Abs(g - w); d > 1e-7*math.Abs(w) && d > 1e-7*mat.Norm(want.Grad, math.Inf(1)) {
						t.Errorf("gradient (%d, %d) times its scale %v is %v, want %v", i, k, s, g, w)
					}
				}
			}
		})
	}
}

// TestExtremeReproductions are the reproductions, as explicit rows.
func TestExtremeReproductions(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	emb := testkit.NormalDense(rng, 12, 6)
	labels := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}
	for _, c := range []struct {
		name string
		loss losses.Loss
	}{
		{"MultiSimilarity", losses.NewMultiSimilarity()},
		{"TripletMargin", losses.NewTripletMargin()},
		{"Contrastive", losses.NewContrastive()},
		{"NTXent", losses.NewNTXent()},
		{"SupCon", losses.NewSupCon()},
	} {
		want, err := c.loss.Compute(losses.Batch{Embeddings: emb, Labels: labels})
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.loss.Compute(scaleBatch(losses.Batch{Embeddings: emb, Labels: labels}, 1e160))
		if err != nil {
			t.Errorf("%s ×1e160: %v", c.name, err)
			continue
		}
		if err := compareResult(got, want, 1e160); err != nil {
			t.Errorf("%s ×1e160: %v", c.name, err)
		}
	}
}

// FuzzExtremeScale: every scale-free loss variant on its batch times 2^e,
// e in [-24, 1000] (every row norm stays above 1e-8, the largest eps of
// a normalisation: ThresholdConsistentMargin's cosine_similarity), gives
// the loss at scale 1 and the gradient divided by 2^e.
func FuzzExtremeScale(f *testing.F) {
	f.Add(int16(0), uint8(0))
	f.Add(int16(531), uint8(7))
	f.Add(int16(-24), uint8(13))
	f.Add(int16(1000), uint8(21))
	vs := lossVariants()
	f.Fuzz(func(t *testing.T, e int16, which uint8) {
		e = int16(-24 + (int(e)%1025+1025)%1025)
		v := vs[int(which)%len(vs)]
		if !v.free {
			return
		}
		b := v.in()
		want, err := v.make().Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		s := math.Ldexp(1, int(e))
		got, err := v.make().Compute(scaleBatch(b, s))
		if err != nil {
			t.Fatalf("%s at 2^%d: %v", v.name, e, err)
		}
		if err := compareResult(got, want, s); err != nil {
			t.Fatalf("%s at 2^%d: %v", v.name, e, err)
		}
	})
}
