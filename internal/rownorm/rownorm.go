// Package rownorm computes row-wise Lp norms and Lp normalisation of
// matrices, with their vector-Jacobian products, as torch.norm(x, p, dim=1)
// and torch.nn.functional.normalize(x, p, dim=1) do.
//
// Every norm is right for any finite input, however large or small its
// entries: the plain sum of p-th powers is taken first (the common case,
// which costs one comparison more), and when it overflows, or is so small
// that its terms lost bits to underflow (a zero sum of non-zero entries
// among them), the norm is recomputed on the entries divided by the
// largest magnitude, as BLAS's nrm2 scales (see Safe and Scaled). The
// VJPs are likewise exact at any magnitude: where a quotient such as
// g/‖x‖^(p−1) would overflow or underflow they work with x/‖x‖ instead.
package rownorm

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Eps is the lower bound torch.nn.functional.normalize puts on a norm.
const Eps = 1e-12

// Tiny is the smallest sum of p-th powers Safe accepts: 2^-968, 2^54 times
// the smallest normal float64. A term that underflows loses at most
// 2^-1075, a relative 2^-107 of such a sum.
const Tiny = 0x1p-968

// divideAbove is the norm above which a row is divided by its norm rather
// than multiplied by the reciprocal, which would be subnormal (2^1000 ≈
// 1.1e301).
const divideAbove = 0x1p1000

// projectAbove is the norm above which the VJP of a normalisation uses
// the unit vector x/‖x‖: below it ‖x‖² and ‖x‖³ are finite (2^500 ≈
// 3.3e150).
const projectAbove = 0x1p500

// Safe reports whether s, a sum of squares (or of p-th powers of
// magnitudes), is one a norm may be taken from as it is: finite, and not
// below Tiny, so that no term lost bits to underflow. Otherwise (+Inf,
// NaN, 0 or a tiny sum) the norm is recomputed by Scaled. It costs one
// comparison per row on the hot paths that sum their own squares.
func Safe(s float64) bool { return s >= Tiny && s <= math.MaxFloat64 }

// Scaled returns the p-norm of x (p ≥ 1) computed on x divided by its
// largest magnitude m, times m: right for any finite x (+Inf only when the
// norm exceeds math.MaxFloat64; 0 only for a zero x). A NaN in x gives
// NaN, a ±Inf gives +Inf.
func Scaled(x []float64, p float64) float64 {
	m := maxAbs(x)
	if m == 0 || !(m <= math.MaxFloat64) {
		return m
	}
	var s float64
	switch p {
	case 1:
		for _, v := range x {
			s += math.Abs(v) / m
		}
		return m * s
	case 2:
		for _, v := range x {
			t := v / m
			s += t * t
		}
		return m * math.Sqrt(s)
	}
	for _, v := range x {
		s += math.Pow(math.Abs(v)/m, p)
	}
	return m * math.Pow(s, 1/p)
}

// ScaledDiff is Scaled(a − b, p) without storing a − b (a and b of the same
// length). An overflowing difference gives +Inf: the norm exceeds
// math.MaxFloat64.
func ScaledDiff(a, b []float64, p float64) float64 {
	b = b[:len(a)]
	var m float64
	for k, v := range a {
		e := math.Abs(v - b[k])
		if e > m {
			m = e
		} else if e != e {
			return e
		}
	}
	if m == 0 || !(m <= math.MaxFloat64) {
		return m
	}
	var s float64
	switch p {
	case 1:
		for k, v := range a {
			s += math.Abs(v-b[k]) / m
		}
		return m * s
	case 2:
		for k, v := range a {
			t := (v - b[k]) / m
			s += t * t
		}
		return m * math.Sqrt(s)
	}
	for k, v := range a {
		s += math.Pow(math.Abs(v-b[k])/m, p)
	}
	return m * math.Pow(s, 1/p)
}

// maxAbs returns the largest |v| in x, or NaN if x holds a NaN.
func maxAbs(x []float64) float64 {
	var m float64
	for _, v := range x {
		a := math.Abs(v)
		if a > m {
			m = a
		} else if a != a {
			return a
		}
	}
	return m
}

// Norm returns the p-norm of x (p ≥ 1), right for any finite x (see the
// package doc).
func Norm(x []float64, p float64) float64 {
	switch p {
	case 2:
		var s float64
		for _, v := range x {
			s += v * v
		}
		if Safe(s) {
			return math.Sqrt(s)
		}
	case 1:
		// A sum of magnitudes overflows only when the norm does, and
		// adding subnormals is exact.
		var s float64
		for _, v := range x {
			s += math.Abs(v)
		}
		return s
	default:
		var s float64
		for _, v := range x {
			s += math.Pow(math.Abs(v), p)
		}
		if Safe(s) {
			return math.Pow(s, 1/p)
		}
	}
	return Scaled(x, p)
}

// NormGrad adds g·∂‖x‖_p/∂x to dst, where n = ‖x‖_p. At n = 0 the gradient
// is zero, as in torch. The result is right for any magnitude of x and g:
// where g/n^(p−1) would overflow or underflow, g·sign(x)(|x|/n)^(p−1) is
// computed instead.
func NormGrad(dst, x []float64, p, n, g float64) {
	if n == 0 || g == 0 {
		return
	}
	switch p {
	case 2:
		s := g / n
		if a := math.Abs(s); a >= Tiny && a <= math.MaxFloat64 {
			for k, v := range x {
				dst[k] += s * v
			}
			return
		}
		for k, v := range x {
			dst[k] += g * (v / n)
		}
	case 1:
		for k, v := range x {
			dst[k] += g * sign(v)
		}
	default:
		np := math.Pow(n, p-1)
		s := g / np
		if a := math.Abs(s); np >= Tiny && np <= math.MaxFloat64 && a >= Tiny && a <= math.MaxFloat64 {
			for k, v := range x {
				dst[k] += s * sign(v) * math.Pow(math.Abs(v), p-1)
			}
			return
		}
		for k, v := range x {
			dst[k] += g * sign(v) * math.Pow(math.Abs(v)/n, p-1)
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
// row norms. Any finite row gives a row of unit p-norm (or, when its norm
// is at most Eps, the row divided by Eps, as torch).
func Normalize(m *mat.Dense, p float64) (*mat.Dense, []float64) {
	r, c := m.Dims()
	out := mat.NewDense(r, c, nil)
	norms := Norms(m, p)
	for i := 0; i < r; i++ {
		ScaleRow(out.RawRowView(i), m.RawRowView(i), p, norms[i])
	}
	return out, norms
}

// ScaleRow sets dst to src / max(n, Eps), n being src's p-norm: by a
// product with the reciprocal, or for a norm above 2^1000 (whose
// reciprocal would be subnormal) by a quotient. A norm of +Inf (finite
// entries whose norm exceeds math.MaxFloat64) divides src by its largest
// magnitude first, so the row still has unit norm.
func ScaleRow(dst, src []float64, p, n float64) {
	dst = dst[:len(src)]
	if n > divideAbove {
		if n > math.MaxFloat64 {
			if m := maxAbs(src); m <= math.MaxFloat64 {
				for k, v := range src {
					dst[k] = v / m
				}
				n = Norm(dst, p)
				src = dst
			}
		}
		for k, v := range src {
			dst[k] = v / n
		}
		return
	}
	s := 1 / math.Max(n, Eps)
	for k, v := range src {
		dst[k] = v * s
	}
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
		ScaleRow(dst[i*c:(i+1)*c], src, 2, n)
	}
}

// NormalizeVJP returns d(loss)/dm given g = d(loss)/d(Normalize(m, p)) and
// the norms Normalize returned.
func NormalizeVJP(m, g *mat.Dense, p float64, norms []float64) *mat.Dense {
	r, c := m.Dims()
	out := mat.NewDense(r, c, nil)
	for i := 0; i < r; i++ {
		AddRowVJP(out.RawRowView(i), m.RawRowView(i)[:c], g.RawRowView(i), p, norms[i])
	}
	return out
}

// AddRowVJP adds to dst the VJP of x ↦ x / max(‖x‖_p, Eps) at x given g,
// the gradient with respect to the normalised row, and n = ‖x‖_p:
// g/n − (g·x/n²)·∂‖x‖_p/∂x above Eps, g/Eps at or below it (where the
// clamp makes the map linear). It is right for any finite x: for a norm
// above 2^500, or a g·x that overflows, the projection is taken on x/n.
func AddRowVJP(dst, x, g []float64, p, n float64) {
	dst, g = dst[:len(x)], g[:len(x)]
	if n <= Eps {
		for k := range dst {
			dst[k] += g[k] / Eps
		}
		return
	}
	var dot float64
	for k, v := range x {
		dot += g[k] * v
	}
	coef := -dot / (n * n)
	if n > projectAbove || !(math.Abs(dot) <= math.MaxFloat64) {
		// g·x/n² = (g·x̂)/n with x̂ = x/n, whose products cannot overflow.
		dot = 0
		for k, v := range x {
			dot += g[k] * (v / n)
		}
		coef = -dot / n
	}
	for k := range dst {
		dst[k] += g[k] / n
	}
	NormGrad(dst, x, p, n, coef)
}

// Norm2 is Norm(x, 2) up to the order of the sum of squares, which is
// gonum's vectorised dot product (faster than one running sum).
func Norm2(x []float64) float64 {
	if s := floats.Dot(x, x); Safe(s) {
		return math.Sqrt(s)
	}
	return Scaled(x, 2)
}
