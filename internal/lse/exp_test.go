package lse

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactExp is exp(x) to 200 bits, from the Taylor series of exp(x/2^s)
// squared s times.
func exactExp(x float64) float64 {
	const prec = 200
	const s = 12
	z := new(big.Float).SetPrec(prec).SetFloat64(x)
	z.SetMantExp(z, -s)
	sum := new(big.Float).SetPrec(prec).SetInt64(1)
	term := new(big.Float).SetPrec(prec).SetInt64(1)
	for k := 1; k < 40; k++ {
		term.Mul(term, z)
		term.Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(k)))
		sum.Add(sum, term)
	}
	for range s {
		sum.Mul(sum, sum)
	}
	f, _ := sum.Float64()
	return f
}

// TestExp: Exp is within 1 ulp of exp, as math.Exp, and is math.Exp at the
// edges.
func TestExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	worst, worstStd := 0.0, 0.0
	for i := range 20000 {
		var x float64
		switch i % 3 {
		case 0:
			x = -200 * rng.Float64()
		case 1:
			x = 1400*rng.Float64() - 700
		default:
			x = 2*rng.Float64() - 1
		}
		want := exactExp(x)
		ulp := math.Nextafter(want, math.Inf(1)) - want
		if e := math.Abs(Exp(x)-want) / ulp; e > worst {
			worst = e
		}
		y := []float64{x}
		if Exps(y); y[0] != Exp(x) {
			t.Fatalf("Exps(%v) = %v, Exp %v", x, y[0], Exp(x))
		}
		if e := math.Abs(math.Exp(x)-want) / ulp; e > worstStd {
			worstStd = e
		}
	}
	t.Logf("largest error %.3f ulp (math.Exp: %.3f ulp)", worst, worstStd)
	if worst > 1 {
		t.Errorf("largest error %v ulp, want at most 1", worst)
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1, -1, -707, 709, -707.5, 709.5, -745.2, -800, 800, math.Inf(1), math.Inf(-1), math.NaN(), math.SmallestNonzeroFloat64, -math.MaxFloat64} {
		got, want := Exp(x), math.Exp(x)
		if !(got == want || math.IsNaN(got) && math.IsNaN(want)) && math.Abs(got-want) > 2.3e-16*want {
			t.Errorf("Exp(%v) = %v, math.Exp %v", x, got, want)
		}
		y := []float64{x}
		if Exps(y); !(y[0] == got || math.IsNaN(got) && math.IsNaN(y[0])) {
			t.Errorf("Exps(%v) = %v, Exp %v", x, y[0], got)
		}
	}
}

// TestExpsVector: the vector loop of Exps gives the bits of Exp, around
// the values it leaves to the scalar code (out of range, NaN, −Inf) and
// for every length of tail.
func TestExpsVector(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float64{math.Inf(-1), math.Inf(1), math.NaN(), -707.25, 709.5, -800, -707, 709}
	for n := range 40 {
		for trial := range 20 {
			x := make([]float64, n)
			for i := range x {
				x[i] = 1400*rng.Float64() - 700
				if trial%2 == 1 && rng.IntN(6) == 0 {
					x[i] = special[rng.IntN(len(special))]
				}
			}
			y := append([]float64(nil), x...)
			Exps(y)
			for i, v := range x {
				want := Exp(v)
				if math.IsInf(v, -1) {
					want = 0
				}
				if !(y[i] == want || math.IsNaN(want) && math.IsNaN(y[i])) {
					t.Fatalf("n=%d: Exps(%v) = %v, Exp %v", n, v, y[i], want)
				}
			}
		}
	}
}

func BenchmarkExp(b *testing.B) {
	x := make([]float64, 8192)
	for i := range x {
		x[i] = -float64(i%100) * 0.37
	}
	b.Run("lse", func(b *testing.B) {
		var s float64
		for b.Loop() {
			for _, v := range x {
				s += Exp(v)
			}
		}
		_ = s
	})
	b.Run("exps", func(b *testing.B) {
		y := make([]float64, len(x))
		for b.Loop() {
			copy(y, x)
			Exps(y)
		}
	})
	b.Run("math", func(b *testing.B) {
		var s float64
		for b.Loop() {
			for _, v := range x {
				s += math.Exp(v)
			}
		}
		_ = s
	})
}
