package testkit

import (
	"math/rand/v2"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
)

// Every generator draws its values from rng in row-major order, one draw a
// value, so that a seed gives every test the same numbers.

// NormalDense returns an r×c matrix of standard normal values
// (rng.NormFloat64).
func NormalDense(rng *rand.Rand, r, c int) *mat.Dense {
	m := mat.NewDense(r, c, nil)
	raw := m.RawMatrix().Data
	for i := range raw {
		raw[i] = rng.NormFloat64()
	}
	return m
}

// UniformDense returns an r×c matrix of values uniform in [-1, 1)
// (2·rng.Float64() − 1).
func UniformDense(rng *rand.Rand, r, c int) *mat.Dense {
	m := mat.NewDense(r, c, nil)
	raw := m.RawMatrix().Data
	for i := range raw {
		raw[i] = 2*rng.Float64() - 1
	}
	return m
}

// NormalMatrix is NormalDense in float32: each value is
// float32(rng.NormFloat64()).
func NormalMatrix(rng *rand.Rand, r, c int) gometric.Matrix {
	m := gometric.Matrix{Rows: r, Cols: c, Data: make([]float32, r*c)}
	for i := range m.Data {
		m.Data[i] = float32(rng.NormFloat64())
	}
	return m
}

// UniformMatrix is UniformDense in float32: each value is
// float32(2·rng.Float64() − 1).
func UniformMatrix(rng *rand.Rand, r, c int) gometric.Matrix {
	m := gometric.Matrix{Rows: r, Cols: c, Data: make([]float32, r*c)}
	for i := range m.Data {
		m.Data[i] = float32(2*rng.Float64() - 1)
	}
	return m
}

// NormalCentres returns k centres of dimension d whose values are
// scale·rng.NormFloat64(), drawn centre by centre.
func NormalCentres(rng *rand.Rand, k, d int, scale float64) [][]float64 {
	cs := make([][]float64, k)
	for c := range cs {
		cs[c] = make([]float64, d)
		for j := range cs[c] {
			cs[c][j] = scale * rng.NormFloat64()
		}
	}
	return cs
}

// Blobs returns n labelled points around the given centres, as float32
// rows with their labels: point i belongs to class c = i mod len(centres)
// and its value j is float32(centres[c][j] + spread·rng.NormFloat64()),
// computed in float64.
func Blobs(rng *rand.Rand, centres [][]float64, n int, spread float64) (gometric.Matrix, []int) {
	k, d := len(centres), len(centres[0])
	x := gometric.Matrix{Rows: n, Cols: d, Data: make([]float32, n*d)}
	labels := make([]int, n)
	for i := range n {
		c := i % k
		labels[i] = c
		for j := range d {
			x.Data[i*d+j] = float32(centres[c][j] + spread*rng.NormFloat64())
		}
	}
	return x, labels
}

// Blobs32 is Blobs around float32 centres (the rows of mu) in float32
// arithmetic, as kNN data is made: value j of point i, of class
// c = i mod mu.Rows, is mu.Row(c)[j] + float32(spread·rng.NormFloat64()).
func Blobs32(rng *rand.Rand, mu gometric.Matrix, n int, spread float64) (gometric.Matrix, []int) {
	d := mu.Cols
	x := gometric.Matrix{Rows: n, Cols: d, Data: make([]float32, n*d)}
	labels := make([]int, n)
	for i := range n {
		c := i % mu.Rows
		labels[i] = c
		for j := range d {
			x.Data[i*d+j] = mu.Data[c*d+j] + float32(spread*rng.NormFloat64())
		}
	}
	return x, labels
}
