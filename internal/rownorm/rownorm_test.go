package rownorm

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/fdiff"
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
			return mat.Sum(mulElem(y, g))
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

func mulElem(a, b *mat.Dense) *mat.Dense {
	var out mat.Dense
	out.MulElem(a, b)
	return &out
}
