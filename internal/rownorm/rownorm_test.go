package rownorm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

func TestNormalizeVJP(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, p := range []float64{1, 2, 3, 2.5} {
		x := mat.NewDense(4, 5, nil)
		g := mat.NewDense(4, 5, nil)
		for i := 0; i < 4; i++ {
			for j := 0; j < 5; j++ {
				x.Set(i, j, rng.NormFloat64())
				g.Set(i, j, rng.NormFloat64())
			}
		}
		_, norms := Normalize(x, p)
		got := NormalizeVJP(x, g, p, norms)
		num := fdiff.Gradient(func() float64 {
			y, _ := Normalize(x, p)
			return mat.Sum(testkit.MulElem(y, g))
		}, x, 1e-6)
		if err := fdiff.Compare(got, num, 1e-6, 1e-8); err != nil {
			t.Errorf("p=%v: %v", p, err)
		}
		// Normalised rows have unit p-norm.
		y, _ := Normalize(x, p)
		for i, n := range Norms(y, p) {
			if math.Abs(n-1) > 1e-12 {
				t.Errorf("p=%v row %d norm %v", p, i, n)
			}
		}
	}
}

func TestNormGrad(t *testing.T) {
	x := []float64{0.5, -1.5, 2}
	for _, p := range []float64{1, 2, 3} {
		g := make([]float64, 3)
		NormGrad(g, x, p, Norm(x, p), 1)
		for k := range x {
			h := 1e-6
			xp := append([]float64(nil), x...)
			xm := append([]float64(nil), x...)
			xp[k] += h
			xm[k] -= h
			num := (Norm(xp, p) - Norm(xm, p)) / (2 * h)
			if math.Abs(num-g[k]) > 1e-7 {
				t.Errorf("p=%v: d/dx[%d] = %v, numeric %v", p, k, g[k], num)
			}
		}
	}
	// Zero rows: zero gradient, and the clamp keeps normalisation finite.
	g := make([]float64, 2)
	NormGrad(g, []float64{0, 0}, 2, 0, 1)
	if g[0] != 0 || g[1] != 0 {
		t.Errorf("zero row gradient %v", g)
	}
	z := mat.NewDense(1, 2, nil)
	y, norms := Normalize(z, 2)
	if y.At(0, 0) != 0 || norms[0] != 0 {
		t.Errorf("zero row normalised to %v", y.RawRowView(0))
	}
}

// TestNormalizeInto: NormalizeInto and Norm2 agree with Normalize and Norm
// up to the order of the sums, for rows of every length mod 4 and a zero
// row, and read a strided view.
func TestNormalizeInto(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for d := 1; d <= 9; d++ {
		big := mat.NewDense(4, d+2, nil)
		for i := 0; i < 3; i++ {
			for j := 0; j < d+2; j++ {
				big.Set(i, j, rng.NormFloat64())
			}
		}
		x := big.Slice(0, 4, 1, 1+d).(*mat.Dense) // row 3 is zero
		want, wantNorms := Normalize(x, 2)
		got, norms := make([]float64, 4*d), make([]float64, 4)
		NormalizeInto(got, norms, x)
		for i := 0; i < 4; i++ {
			if n := Norm2(x.RawRowView(i)); math.Abs(n-wantNorms[i]) > 1e-15*wantNorms[i] || n != norms[i] {
				t.Errorf("d=%d row %d: norm %v, NormalizeInto %v, want %v", d, i, n, norms[i], wantNorms[i])
			}
			for j := 0; j < d; j++ {
				if math.Abs(got[i*d+j]-want.At(i, j)) > 1e-15 {
					t.Errorf("d=%d (%d, %d): %v, want %v", d, i, j, got[i*d+j], want.At(i, j))
				}
			}
		}
	}
}
