package regularizers_test

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/regularizers"
	"gonum.org/v1/gonum/mat"
)

// times returns v·t^k exactly rounded (big.Float holds any exponent), as
// float64: ±Inf when it overflows, 0 or a subnormal when it underflows.
func times(v, t float64, k int) float64 {
	x := new(big.Float).SetPrec(200).SetFloat64(v)
	bt := new(big.Float).SetPrec(200).SetFloat64(t)
	for range max(k, -k) {
		if k > 0 {
			x.Mul(x, bt)
		} else {
			x.Quo(x, bt)
		}
	}
	r, _ := x.Float64()
	return r
}

// TestExtremeScaleRegularizers: every regularizer is homogeneous in its
// input, of degree deg: at x·s its penalty is s^deg times the one at x and
// its gradient s^(deg−1) times, for s from 1e-300 to 1e300 (the issue's
// 1e160, 1e30, 1e-30, 1e-160 among them), or an error wrapping
// ErrNonFinite exactly when that overflows float64. RegularFace and
// SparseCenters (cosine similarities: degree 0) used to normalise rows ×1e160
// to zeros.
func TestExtremeScaleRegularizers(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 19))
	x := testkit.NormalDense(rng, 6, 5)
	for _, c := range []struct {
		name string
		r    regularizers.Regularizer
		deg  int
	}{
		{"Lp", regularizers.NewLp(), 1},
		{"Lp/P1", &regularizers.Lp{P: 1, Power: 1}, 1},
		{"Lp/P3/Power2", &regularizers.Lp{P: 3, Power: 2}, 2},
		{"Lp/P50", &regularizers.Lp{P: 50, Power: 1}, 1},
		{"Lp/P2.5/Power-1", &regularizers.Lp{P: 2.5, Power: -1}, -1},
		{"CenterInvariant", regularizers.NewCenterInvariant(), 4},
		{"RegularFace", regularizers.NewRegularFace(), 0},
		{"SparseCenters", regularizers.NewSparseCenters(2, 3), 0},
		{"ZeroMean", regularizers.NewZeroMean(), 1},
	} {
		v1, g1, err := c.r.Compute(x)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		at := func(s float64) (float64, *mat.Dense) {
			xs := mat.DenseCopyOf(x)
			xs.Scale(s, xs)
			v, g, err := c.r.Compute(xs)
			if err != nil {
				t.Fatalf("%s at scale %v: %v", c.name, s, err)
			}
			return v, g
		}
		for _, s := range []float64{1e300, 1e160, 1e80, 1e30, 1e-30, 1e-80, 1e-160, 1e-300} {
			what := fmt.Sprintf("%s at scale %v", c.name, s)
			// The penalty and the gradient at scale 1 times s^kv and
			// s^kg, or, for the cosine regularizers (degree 0) at scales
			// where torch's clamp of the norms at 1e-12 is active (row
			// norms here exceed 0.1), the power law through 1e-50 and
			// 1e-40: the rows are x·s/1e-12, nearly zero.
			base, vb, gb, kv, kg := 1.0, v1, g1, c.deg, c.deg-1
			if c.deg == 0 && s < 1e-11 {
				base = 1e-50
				var v0 float64
				vb, gb = at(base)
				v0, g0 := at(1e-40)
				kv = int(math.Round(math.Log10(v0/vb) / 10))
				kg = int(math.Round(math.Log10(mat.Norm(g0, math.Inf(1))/mat.Norm(gb, math.Inf(1))) / 10))
			}
			wantV := times(vb, s/base, kv)
			wantG := mat.NewDense(6, 5, nil)
			overflow := math.IsInf(wantV, 0)
			for i := range 6 {
				for j := range 5 {
					w := times(gb.At(i, j), s/base, kg)
					overflow = overflow || math.IsInf(w, 0)
					wantG.Set(i, j, w)
				}
			}
			xs := mat.DenseCopyOf(x)
			xs.Scale(s, xs)
			v, g, err := c.r.Compute(xs)
			if overflow {
				if !errors.Is(err, gometric.ErrNonFinite) {
					t.Errorf("%s: the result overflows float64: error %v, want ErrNonFinite", what, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", what, err)
				continue
			}
			// Subnormal results keep fewer bits: an absolute floor.
			if d := math.Abs(v - wantV); d > 1e-12*math.Abs(wantV) && d > 1e-300 {
				t.Errorf("%s: penalty %v, want %v", what, v, wantV)
			}
			scale := mat.Norm(wantG, math.Inf(1))
			if vb != 0 && wantV == 0 {
				// The similarities the penalty is made of underflow to
				// exact ties at 0 (RegularFace at 1e-300: about 1e-576),
				// where the closest row is the first, as in torch: only
				// the size of the gradient is predictable.
				if m := mat.Norm(g, math.Inf(1)); m > 10*scale || math.IsNaN(m) {
					t.Errorf("%s: gradient of size %v, want at most about %v", what, m, scale)
				}
				continue
			}
			for i := range 6 {
				for j := range 5 {
					if d := math.Abs(g.At(i, j) - wantG.At(i, j)); d > 1e-10*scale && d > 1e-300 {
						t.Errorf("%s: gradient (%d, %d) %v, want %v", what, i, j, g.At(i, j), wantG.At(i, j))
					}
				}
			}
		}
	}
}

// TestZeroMeanPartialOverflow: a row whose partial sums overflow but whose
// sum does not gives that sum.
func TestZeroMeanPartialOverflow(t *testing.T) {
	m := math.MaxFloat64
	x := mat.NewDense(2, 3, []float64{m, m, -m, 1, 2, 3})
	v, g, err := regularizers.NewZeroMean().Compute(x)
	if err != nil || v != (m+6)/2 || g.At(0, 0) != 0.5 {
		t.Errorf("penalty %v (%v), want %v", v, err, (m+6)/2)
	}
	if _, _, err := regularizers.NewZeroMean().Compute(mat.NewDense(1, 2, []float64{m, m})); !errors.Is(err, gometric.ErrNonFinite) {
		t.Errorf("a sum beyond float64: error %v, want ErrNonFinite", err)
	}
}
