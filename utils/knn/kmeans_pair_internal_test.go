package knn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSqDist64Pair checks the two-row distance against sqDist64 bit for
// bit, for every length mod 4.
func TestSqDist64Pair(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for n := range 20 {
		for range 20 {
			a0, a1, c := make([]float32, n), make([]float32, n), make([]float32, n)
			c64 := make([]float64, n)
			for l := range n {
				a0[l], a1[l], c[l] = float32(rng.NormFloat64()*1e3), float32(rng.NormFloat64()), float32(rng.NormFloat64()*1e-3)
				c64[l] = float64(c[l])
			}
			s0, s1 := sqDist64Pair(a0, a1, c64)
			if w0, w1 := sqDist64(a0, c), sqDist64(a1, c); math.Float64bits(s0) != math.Float64bits(w0) || math.Float64bits(s1) != math.Float64bits(w1) {
				t.Fatalf("n %d: %v, %v; want %v, %v", n, s0, s1, w0, w1)
			}
		}
	}
}
