package distances_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
)

var benchSizes = []struct{ n, d int }{{256, 128}, {4096, 128}}

// benchMatrix times Matrix(query, nil) for an n×d query.
func benchMatrix(b *testing.B, dist distances.Distance) {
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", s.n, s.d), func(b *testing.B) {
			q := testkit.UniformDense(rand.New(rand.NewPCG(1, 1)), s.n, s.d)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := dist.Matrix(q, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchVJP times MatrixVJP(query, nil, m, grad) with m precomputed, as a
// loss calls it after the forward pass.
func benchVJP(b *testing.B, dist distances.Distance) {
	for _, s := range benchSizes {
		b.Run(fmt.Sprintf("%dx%d", s.n, s.d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(2, 2))
			q := testkit.UniformDense(rng, s.n, s.d)
			g := testkit.UniformDense(rng, s.n, s.n)
			m, err := dist.Matrix(q, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := dist.MatrixVJP(q, nil, m, g); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkLpMatrix(b *testing.B)        { benchMatrix(b, distances.NewLp()) }
func BenchmarkLpMatrixVJP(b *testing.B)     { benchVJP(b, distances.NewLp()) }
func BenchmarkCosineMatrix(b *testing.B)    { benchMatrix(b, distances.NewCosineSimilarity()) }
func BenchmarkCosineMatrixVJP(b *testing.B) { benchVJP(b, distances.NewCosineSimilarity()) }
