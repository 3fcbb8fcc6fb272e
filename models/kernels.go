package models

import (
	"math"

	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/workers"
	"gonum.org/v1/gonum/blas"
	G "gorgonia.org/gorgonia"
)

// float is the element type of a network: float32 (the encoders) or
// float64 (used by the finite-difference tests).
type float interface{ float32 | float64 }

// matmul computes C = op(A)·op(B) + beta·C (row-major) with the BLAS that
// Gorgonia currently uses (gorgonia.WhichBLAS), so that gorgonia.Use and
// UseFastBLAS switch these layers too.
func matmul[T float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	if transB {
		tB = blas.Trans
	}
	impl := G.WhichBLAS()
	switch a := any(a).(type) {
	case []float32:
		impl.Sgemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		impl.Dgemm(tA, tB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// matmulPacked sets C = op(A)·B, B (k×n) given by a gemm.PackFunc. It
// always runs on the package's GEMM (internal/gemm), whichever BLAS
// Gorgonia uses: only that GEMM can take its B as a packing function.
func matmulPacked[T float](transA bool, m, n, k int, a []T, lda int, pack gemm.PackFunc[T], c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	switch a := any(a).(type) {
	case []float32:
		gemm.SgemmPacked(transA, m, n, k, 1, a, lda, any(pack).(gemm.PackFunc[float32]), 0, any(c).([]float32), ldc)
	case []float64:
		gemm.DgemmPacked(transA, m, n, k, 1, a, lda, any(pack).(gemm.PackFunc[float64]), 0, any(c).([]float64), ldc)
	}
}

// parallel runs fn over [0, n) split into one contiguous range per
// processor when work (the number of values touched) is large enough to
// pay for goroutines. fn must write disjoint outputs for disjoint ranges,
// so results do not depend on the split.
func parallel(n, work int, fn func(lo, hi int)) {
	p := workers.Count(n)
	if p < 2 || work < 1<<16 {
		fn(0, n)
		return
	}
	workers.Ranges(p, n, fn)
}

// im2col3 lays out the 3×3 (pad 1, stride 1) patches of x (n×c×h×w) as
// the rows of col ((c·9)×(n·h·w)): row ci·9+ky·3+kx, column (i·h+y)·w+x
// holds x[i, ci, y+ky-1, x+kx-1], or 0 outside the image.
func im2col3[T float](x []T, n, c, h, w int, col []T) {
	hw := h * w
	nhw := n * hw
	parallel(c*9, len(col), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ci, ky, kx := r/9, r%9/3, r%3
			row := col[r*nhw:][:nhw]
			// Columns x in [x0, x1) read the source column x+kx-1.
			x0, x1 := max(0, 1-kx), min(w, w+1-kx)
			for i := 0; i < n; i++ {
				plane := x[(i*c+ci)*hw:][:hw]
				dst := row[i*hw:][:hw]
				for y := 0; y < h; y++ {
					d := dst[y*w:][:w]
					sy := y + ky - 1
					if sy < 0 || sy >= h {
						clear(d)
						continue
					}
					src := plane[sy*w:][:w]
					clear(d[:x0])
					copy(d[x0:x1], src[x0+kx-1:x1+kx-1])
					clear(d[x1:])
				}
			}
		}
	})
}

// col2im3 is the adjoint of im2col3: it sets dx (n×c×h×w) to the sum, over
// the patches that read each pixel, of the matching entries of dcol.
func col2im3[T float](dcol []T, n, c, h, w int, dx []T) {
	hw := h * w
	nhw := n * hw
	parallel(n*c, len(dcol), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			i, ci := p/c, p%c
			plane := dx[p*hw:][:hw]
			clear(plane)
			for ky := 0; ky < 3; ky++ {
				for kx := 0; kx < 3; kx++ {
					src := dcol[((ci*3+ky)*3+kx)*nhw+i*hw:][:hw]
					x0, x1 := max(0, 1-kx), min(w, w+1-kx)
					for y := 0; y < h; y++ {
						sy := y + ky - 1
						if sy < 0 || sy >= h {
							continue
						}
						d := plane[sy*w:][:w][x0+kx-1 : x1+kx-1]
						s := src[y*w:][:w][x0:x1]
						for j, v := range s {
							d[j] += v
						}
					}
				}
			}
		}
	})
}

// biasReLUPool computes one plane of a conv block's output: for each 2×2
// window (stride 2, floor mode) of pre (h×w pre-activations) plus bias,
// y = ReLU(window maximum), and arg = the index in pre of the first
// maximum in row-major order (of the last NaN when there is one, as
// torch's max-pool loop keeps it).
func biasReLUPool[T float](pre []T, bias T, h, w int, y []T, arg []int32) {
	oh, ow := h/2, w/2
	for oy := 0; oy < oh; oy++ {
		r0 := pre[2*oy*w:][:w]
		r1 := pre[(2*oy+1)*w:][:w]
		yr := y[oy*ow:][:ow]
		ar := arg[oy*ow:][:ow]
		base := int32(2 * oy * w)
		for ox := range yr {
			a, b := r0[2*ox]+bias, r0[2*ox+1]+bias
			c, d := r1[2*ox]+bias, r1[2*ox+1]+bias
			m := max(max(a, b), max(c, d)) // NaN if any is NaN
			k := base + int32(2*ox)
			idx := k + int32(w) + 1
			if c == m {
				idx = k + int32(w)
			}
			if b == m {
				idx = k + 1
			}
			if a == m {
				idx = k
			}
			if m != m {
				idx = k
				for j, v := range [4]T{a, b, c, d} {
					if v != v {
						idx = k + [4]int32{0, 1, int32(w), int32(w) + 1}[j]
					}
				}
			}
			yr[ox] = max(m, 0)
			ar[ox] = idx
		}
	}
}

// poolReLUGrad writes into dpre (one h×w plane, all zero) the gradient of
// biasReLUPool: each output's gradient dy goes to its window's argmax,
// unless the output y is 0 (the ReLU was off; a NaN output passes the
// gradient, as torch's threshold_backward does).
func poolReLUGrad[T float](dy, y []T, arg []int32, dpre []T) {
	for j, v := range y {
		if v != 0 {
			dpre[arg[j]] = dy[j]
		}
	}
}

// relu sets y = max(x, 0) (NaN propagates, as torch.relu).
func relu[T float](x, y []T) {
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// reluGrad sets dx = dy where y ≠ 0, else 0, y being a ReLU's output (so
// ≥ 0 or NaN): torch's threshold_backward(dy, y, 0).
func reluGrad[T float](y, dy, dx []T) {
	for i, v := range y {
		g := dy[i]
		if v == 0 {
			g = 0
		}
		dx[i] = g
	}
}

// channelSum sets out[ci] to the sum of x (n×c×s) over samples and the s
// positions of channel ci, accumulating in float64.
func channelSum[T float](x []T, n, c, s int, out []T) {
	acc := make([]float64, c)
	for i := 0; i < n; i++ {
		for ci := 0; ci < c; ci++ {
			var sum float64
			for _, v := range x[(i*c+ci)*s:][:s] {
				sum += float64(v)
			}
			acc[ci] += sum
		}
	}
	for ci, v := range acc {
		out[ci] = T(v)
	}
}

// addRowBias adds b to each of the n rows of y (n×len(b)).
func addRowBias[T float](y, b []T, n int) {
	e := len(b)
	for i := 0; i < n; i++ {
		row := y[i*e:][:e]
		for j, v := range b {
			row[j] += v
		}
	}
}

// firstNonFinite returns the index of the first NaN or ±Inf of xs, or -1.
func firstNonFinite[T float](xs []T) int {
	for i, v := range xs {
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return i
		}
	}
	return -1
}
