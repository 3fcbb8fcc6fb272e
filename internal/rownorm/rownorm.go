// Package rownorm computes row-wise Lp norms and Lp normalisation of
// matrices, with their vector-Jacobian products, as torch.norm(x, p, dim=1)
// and torch.nn.functional.normalize(x, p, dim=1) do.
package rownorm

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Eps is the lower bound torch.nn.functional.normalize puts on a norm.
const Eps = 1e-12

// Norm returns the p-norm of x (p ≥ 1).
func Norm(x []float64, p float64) float64 {
	switch p {
	case 2:
		var s float64
		for _, v := range x {
			s += v * v
		}
		return math.Sqrt(s)
	case 1:
		var s float64
		for _, v := range x {
			s += math.Abs(v)
		}
		return s
	}
	var s float64
	for _, v := range x {
		s += math.Pow(math.Abs(v), p)
	}
	return math.Pow(s, 1/p)
}

// NormGrad adds g·∂‖x‖_p/∂x to dst, where n = ‖x‖_p. At n = 0 the gradient
// is zero, as in torch.
func NormGrad(dst, x []float64, p, n, g float64) {
	if n == 0 || g == 0 {
		return
	}
	switch p {
	case 2:
		s := g / n
		for k, v := range x {
			dst[k] += s * v
		}
	case 1:
		for k, v := range x {
			dst[k] += g * sign(v)
		}
	default:
		s := g / math.Pow(n, p-1)
		for k, v := range x {
			dst[k] += s * sign(v) * math.Pow(math.Abs(v), p-1)
		}
	}
}

func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// Norms returns the p-norm of every row of m.
func Norms(m *mat.Dense, p float64) []float64 {
	r, _ := m.Dims()
	out := make([]float64, r)
	for i := range out {
		out[i] = Norm(m.RawRowView(i), p)
	}
	return out
}

// Normalize returns m with every row divided by max(‖row‖_p, Eps), and the
// row norms.
func Normalize(m *mat.Dense, p float64) (*mat.Dense, []float64) {
	r, c := m.Dims()
	out := mat.NewDense(r, c, nil)
	norms := Norms(m, p)
	for i := 0; i < r; i++ {
		s := 1 / math.Max(norms[i], Eps)
		src, dst := m.RawRowView(i), out.RawRowView(i)
		for k, v := range src {
			dst[k] = v * s
		}
	}
	return out, norms
}

// NormalizeInto is Normalize for p = 2 into caller-owned storage, so that a
// hot loop can reuse its buffers: dst (at least r·c, written with stride c)
// receives the normalised rows of the r×c matrix m and norms (at least r)
// the row norms. The values are those of Normalize(m, 2) up to the order
// of the sums of squares.
func NormalizeInto(dst, norms []float64, m *mat.Dense) {
	r, c := m.Dims()
	raw := m.RawMatrix()
	for i := 0; i < r; i++ {
		src := raw.Data[i*raw.Stride : i*raw.Stride+c]
		n := Norm2(src)
		norms[i] = n
		s := 1 / math.Max(n, Eps)
		out := dst[i*c : (i+1)*c]
		for k, v := range src {
			out[k] = v * s
		}
	}
}

// NormalizeVJP returns d(loss)/dm given g = d(loss)/d(Normalize(m, p)) and
// the norms Normalize returned.
func NormalizeVJP(m, g *mat.Dense, p float64, norms []float64) *mat.Dense {
	r, c := m.Dims()
	out := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		x, gi, dst := m.RawRowView(i), g.RawRowView(i), out.RawRowView(i)
		n := norms[i]
		if n <= Eps {
			// The clamp is active: y = x / Eps, a linear map.
			for k := range dst {
				dst[k] = gi[k] / Eps
			}
			continue
		}
		var dot float64
		for k, v := range x {
			dot += gi[k] * v
			dst[k] = gi[k] / n
		}
		NormGrad(dst, x, p, n, -dot/(n*n))
	}
	return out
}

// Norm2 is Norm(x, 2) up to the order of the sum of squares, which is
// gonum's vectorised dot product (faster than one running sum).
func Norm2(x []float64) float64 { return math.Sqrt(floats.Dot(x, x)) }
