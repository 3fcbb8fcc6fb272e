package rownorm

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// extremeScales multiply an ordinary matrix: the norms, normalised rows
// and VJPs must follow exactly as the scale predicts.
var extremeScales = []float64{1, 1e300, 1e160, 1e100, 1e30, 1e7, 1e-7, 1e-30, 1e-160, 1e-300, 1e-310}

func relClose(got, want, tol float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= tol*math.Max(math.Abs(want), math.SmallestNonzeroFloat64)
}

func scaledDense(x *mat.Dense, s float64) *mat.Dense {
	r, c := x.Dims()
	y := mat.NewDense(r, c, nil)
	for i := range r {
		for j := range c {
			y.Set(i, j, x.At(i, j)*s)
		}
	}
	return y
}

// TestExtremeNorms: Norm, Norm2, Norms, Normalize, NormGrad and
// NormalizeVJP at every magnitude, for p = 1, 2, 3, 2.5 and 50, agree with
// the unscaled row (norms scale by s, normalised rows do not change, the
// gradients of a norm do not change and those of a normalisation scale by
// 1/s), and the reproduction (p 50 on x·1e7) normalises.
func TestExtremeNorms(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	x := mat.NewDense(5, 6, nil)
	g := mat.NewDense(5, 6, nil)
	for i := range 5 {
		for j := range 6 {
			x.Set(i, j, rng.NormFloat64())
			g.Set(i, j, rng.NormFloat64())
		}
	}
	x.Set(4, 0, 0) // a zero entry
	for _, p := range []float64{1, 2, 3, 2.5, 50} {
		wantY, wantN := Normalize(x, p)
		wantV := NormalizeVJP(x, g, p, wantN)
		for _, s := range extremeScales {
			xs := scaledDense(x, s)
			// A subnormal scale rounds the entries themselves to fewer bits.
			q := 1.0
			if s < 1e-305 {
				q = 1e4
			}
			y, norms := Normalize(xs, p)
			v := NormalizeVJP(xs, g, p, norms)
			for i := range 5 {
				row := xs.RawRowView(i)
				want := wantN[i] * s
				if !relClose(norms[i], want, q*1e-13) || !relClose(Norm(row, p), want, q*1e-13) {
					t.Errorf("p=%v s=%v row %d: norm %v (Norm %v), want %v", p, s, i, norms[i], Norm(row, p), want)
				}
				if p == 2 && !relClose(Norm2(row), want, q*1e-13) {
					t.Errorf("s=%v row %d: Norm2 %v, want %v", s, i, Norm2(row), want)
				}
				gn := make([]float64, 6)
				NormGrad(gn, row, p, norms[i], 1.5)
				gw := make([]float64, 6)
				NormGrad(gw, x.RawRowView(i), p, wantN[i], 1.5)
				for k := range gn {
					if !relClose(gn[k], gw[k], q*1e-12) && math.Abs(gn[k]-gw[k]) > 1e-300 {
						t.Errorf("p=%v s=%v row %d: NormGrad[%d] %v, want %v", p, s, i, k, gn[k], gw[k])
					}
				}
				for k := range 6 {
					wy, wv := wantY.At(i, k), wantV.At(i, k)/s
					if want <= Eps {
						// torch's clamp: y = x/Eps, a linear map.
						wy, wv = xs.At(i, k)/Eps, g.At(i, k)/Eps
					}
					if !relClose(y.At(i, k), wy, q*1e-13) && math.Abs(y.At(i, k)-wy) > 1e-300 {
						t.Errorf("p=%v s=%v (%d, %d): normalised %v, want %v", p, s, i, k, y.At(i, k), wy)
					}
					if !relClose(v.At(i, k), wv, q*1e-11) && math.Abs(v.At(i, k)-wv) > 1e-12*math.Abs(wantV.At(i, k)/s) {
						t.Errorf("p=%v s=%v (%d, %d): VJP %v, want %v", p, s, i, k, v.At(i, k), wv)
					}
				}
			}
			// NormalizeInto (p = 2) agrees with Normalize.
			if p == 2 {
				dst, ns := make([]float64, 30), make([]float64, 5)
				NormalizeInto(dst, ns, xs)
				for i := range 5 {
					for k := range 6 {
						if !relClose(dst[i*6+k], y.At(i, k), 1e-14) {
							t.Errorf("s=%v (%d, %d): NormalizeInto %v, Normalize %v", s, i, k, dst[i*6+k], y.At(i, k))
						}
					}
				}
			}
		}
	}
}

// TestScaledSpecial: zero, NaN, ±Inf and a norm beyond float64's range.
func TestScaledSpecial(t *testing.T) {
	for _, c := range []struct {
		x    []float64
		p    float64
		want float64
	}{
		{[]float64{0, 0}, 2, 0},
		{[]float64{0, -0}, 3, 0},
		{[]float64{1, math.NaN()}, 2, math.NaN()},
		{[]float64{math.NaN(), 1}, 2.5, math.NaN()},
		{[]float64{1, math.Inf(-1)}, 2, math.Inf(1)},
		{[]float64{math.MaxFloat64, math.MaxFloat64}, 2, math.Inf(1)},
		{[]float64{math.MaxFloat64, math.MaxFloat64}, 1, math.Inf(1)},
		{[]float64{math.MaxFloat64 / 2, math.MaxFloat64 / 2}, 2, math.MaxFloat64 / 2 * math.Sqrt2},
		{[]float64{math.SmallestNonzeroFloat64, 0}, 2, math.SmallestNonzeroFloat64},
		{[]float64{3e-320, 4e-320}, 2, 5e-320},
		{[]float64{3e200, -4e200}, 2, 5e200},
		{[]float64{3e200, -4e200}, 50, 4e200 * math.Pow(1+math.Pow(0.75, 50), 1.0/50)},
	} {
		got := Norm(c.x, c.p)
		if !(got == c.want || (math.IsNaN(got) && math.IsNaN(c.want)) || relClose(got, c.want, 1e-15)) {
			t.Errorf("Norm(%v, %v) = %v, want %v", c.x, c.p, got, c.want)
		}
		if c.p == 2 {
			if got := Norm2(c.x); !(got == c.want || (math.IsNaN(got) && math.IsNaN(c.want)) || relClose(got, c.want, 1e-15)) {
				t.Errorf("Norm2(%v) = %v, want %v", c.x, got, c.want)
			}
		}
	}
	// ScaledDiff: the norm of a difference at any magnitude.
	for _, c := range []struct {
		a, b []float64
		p    float64
		want float64
	}{
		{[]float64{3e200, 1}, []float64{0, 1}, 2, 3e200},
		{[]float64{3e-200, 0}, []float64{0, 4e-200}, 2, 5e-200},
		{[]float64{1, 1}, []float64{1, 1}, 3, 0},
		{[]float64{math.MaxFloat64}, []float64{-math.MaxFloat64}, 2, math.Inf(1)},
		{[]float64{3e200, 0}, []float64{0, -4e200}, 1, 7e200},
	} {
		if got := ScaledDiff(c.a, c.b, c.p); !relClose(got, c.want, 1e-15) {
			t.Errorf("ScaledDiff(%v, %v, %v) = %v, want %v", c.a, c.b, c.p, got, c.want)
		}
	}
}

// BenchmarkNorm2 is the hot path's plain sum plus its one comparison.
func BenchmarkNorm2(b *testing.B) {
	x := make([]float64, 128)
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	var s float64
	for b.Loop() {
		s += Norm2(x)
	}
	_ = s
}
