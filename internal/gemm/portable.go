package gemm

import "gonum.org/v1/gonum/blas"

// The portable kernels: pure Go, 2×4 scalar accumulators (larger tiles
// spill: the compiler has 15 X registers for accumulators, operands and
// products). On the portable path Dgemm and Sgemm delegate to gonum, whose
// SSE2 assembly was as fast or faster at every size measured; Dsyrk and
// Ssyrk use these kernels, since computing half the tiles beats gonum's
// full product.
var (
	portable64 = kernel[float64]{name: "portable-2x4", mr: 2, nr: 4, kc: 256, nc: 128, dot: dot2x4[float64], put: put2x4[float64]}
	portable32 = kernel[float32]{name: "portable-2x4", mr: 2, nr: 4, kc: 256, nc: 256, dot: dot2x4[float32], put: put2x4[float32]}
)

// dot2x4 is the portable micro-kernel: a 2×4 tile of scalar accumulators,
// each a plain sum of products in order of l, times *alpha into c. Step l
// of the panels is a[l·sa], a[l·sa + ra] and b[l·sb:][:4].
func dot2x4[T float](kc int, a []T, ra, sa int, b []T, sb int, c []T, ldc int, alpha *T) {
	var c00, c01, c02, c03, c10, c11, c12, c13 T
	for l := range kc {
		bl, al := b[l*sb:][:4], a[l*sa:]
		b0, b1, b2, b3 := bl[0], bl[1], bl[2], bl[3]
		a0, a1 := al[0], al[ra]
		c00 += T(a0 * b0)
		c01 += T(a0 * b1)
		c02 += T(a0 * b2)
		c03 += T(a0 * b3)
		c10 += T(a1 * b0)
		c11 += T(a1 * b1)
		c12 += T(a1 * b2)
		c13 += T(a1 * b3)
	}
	t := [8]T{c00, c01, c02, c03, c10, c11, c12, c13}
	al := T(1)
	if alpha != nil {
		al = *alpha
	}
	update(t[:], 4, c, ldc, 2, 4, al, 0, modeSet)
}

func put2x4[T float](t, c []T, ldc int, alpha, beta T, mode int) {
	update(t, 4, c, ldc, 2, 4, alpha, beta, mode)
}

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}
