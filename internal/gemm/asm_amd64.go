//go:build !purego && !goexperiment.simd

package gemm

import "golang.org/x/sys/cpu"

// The assembly kernels of the default build on amd64 (asm_amd64.s): the
// same blocked driver as the other paths with a 6×8 float64 or 6×16
// float32 tile of fused multiply-add accumulators held in the 12 spare
// YMM registers — the register blocking of BLIS's Haswell kernels, which
// hand-written assembly can use fully (the archsimd build's compiled
// kernels spill past 8 accumulators). Each entry of a tile is the FMA
// chain over the packed panels in order of l, as in the archsimd kernels,
// so both builds give the same bits. Build with -tags purego to leave
// them out.
var (
	asm64 = kernel[float64]{name: "asm-avx2fma-6x8", mr: 6, nr: 8, kc: 256, nc: 128, dot: dotD6x8, add: addD6x8, put: putTile[float64](6, 8)}
	asm32 = kernel[float32]{name: "asm-avx2fma-6x16", mr: 6, nr: 16, kc: 256, nc: 256, dot: dotS6x16, add: addS6x16, put: putTile[float32](6, 16)}
)

// The AVX-512F kernels (asm512_amd64.s): a 12×16 float64 or 12×32 float32
// tile in 24 of the 32 ZMM registers, two vectors a row, the other eight
// holding a step of the B panel and broadcast A values. The same kc as the
// AVX2 kernels and the same FMA chain per entry in order of l, so they give
// the same bits as the AVX2 kernels. nc keeps a kc×nc block of B at 256 KB
// (either type), well inside a 1 MB L2; the 12-row A micro-panel (12 or
// 24 KB) stays in L1.
var (
	avx512x64 = kernel[float64]{name: "asm-avx512-12x16", mr: 12, nr: 16, kc: 256, nc: 128, dot: dotD12x16, add: addD12x16, put: putTile[float64](12, 16)}
	avx512x32 = kernel[float32]{name: "asm-avx512-12x32", mr: 12, nr: 32, kc: 256, nc: 256, dot: dotS12x32, add: addS12x32, put: putTile[float32](12, 32)}
)

// platformKernels returns the assembly kernels the CPU supports, best
// first: AVX-512F (x/sys/cpu also checks that the OS saves the ZMM state),
// then AVX2 with FMA.
func platformKernels() []kernelPair {
	var out []kernelPair
	if cpu.X86.HasAVX512F {
		out = append(out, kernelPair{"avx512", &avx512x64, &avx512x32})
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		out = append(out, kernelPair{"avx2", &asm64, &asm32})
	}
	return out
}

// kernD6x8 is dotD6x8 without bounds checks: *alpha (1 if alpha is nil)
// times the 6×8 product of the A panel (row r, step l at a[r·ra + l·sa])
// and the B panel (step l at b[l·sb:][:8]), stored to the 6 rows of c,
// ldc elements apart.
//
//go:noescape
func kernD6x8(kc int, a *float64, ra, sa int, b *float64, sb int, c *float64, ldc int, alpha *float64)

// kernS6x16 is kernD6x8 for float32 with a 6×16 tile.
//
//go:noescape
func kernS6x16(kc int, a *float32, ra, sa int, b *float32, sb int, c *float32, ldc int, alpha *float32)

// dotD6x8 checks that the panels and the rows of c are in bounds, then
// runs the assembly kernel.
func dotD6x8(kc int, a []float64, ra, sa int, b []float64, sb int, c []float64, ldc int, alpha *float64) {
	if kc <= 0 {
		kc, a, b = 0, a[:1], b[:1] // the kernel reads nothing
	} else {
		a, b = a[:5*ra+(kc-1)*sa+1], b[:(kc-1)*sb+8]
	}
	c = c[:5*ldc+8]
	kernD6x8(kc, &a[0], ra, sa, &b[0], sb, &c[0], ldc, alpha)
}

// dotS6x16 is dotD6x8 for float32.
func dotS6x16(kc int, a []float32, ra, sa int, b []float32, sb int, c []float32, ldc int, alpha *float32) {
	if kc <= 0 {
		kc, a, b = 0, a[:1], b[:1]
	} else {
		a, b = a[:5*ra+(kc-1)*sa+1], b[:(kc-1)*sb+16]
	}
	c = c[:5*ldc+16]
	kernS6x16(kc, &a[0], ra, sa, &b[0], sb, &c[0], ldc, alpha)
}

// kernD6x8Add is kernD6x8 that adds its tile to C (C + *alpha·T,
// rounded as update's modeAdd) instead of storing it.
//
//go:noescape
func kernD6x8Add(kc int, a *float64, ra, sa int, b *float64, sb int, c *float64, ldc int, alpha *float64)

// kernS6x16Add is kernD6x8Add for float32.
//
//go:noescape
func kernS6x16Add(kc int, a *float32, ra, sa int, b *float32, sb int, c *float32, ldc int, alpha *float32)

// addD6x8 is dotD6x8 with kernD6x8Add.
func addD6x8(kc int, a []float64, ra, sa int, b []float64, sb int, c []float64, ldc int, alpha *float64) {
	if kc <= 0 {
		kc, a, b = 0, a[:1], b[:1]
	} else {
		a, b = a[:5*ra+(kc-1)*sa+1], b[:(kc-1)*sb+8]
	}
	c = c[:5*ldc+8]
	kernD6x8Add(kc, &a[0], ra, sa, &b[0], sb, &c[0], ldc, alpha)
}

// addS6x16 is dotS6x16 with kernS6x16Add.
func addS6x16(kc int, a []float32, ra, sa int, b []float32, sb int, c []float32, ldc int, alpha *float32) {
	if kc <= 0 {
		kc, a, b = 0, a[:1], b[:1]
	} else {
		a, b = a[:5*ra+(kc-1)*sa+1], b[:(kc-1)*sb+16]
	}
	c = c[:5*ldc+16]
	kernS6x16Add(kc, &a[0], ra, sa, &b[0], sb, &c[0], ldc, alpha)
}

// kernD12x16 is kernD6x8 with a 12×16 tile in ZMM registers (AVX-512F).
//
//go:noescape
func kernD12x16(kc int, a *float64, ra, sa int, b *float64, sb int, c *float64, ldc int, alpha *float64)

// kernS12x32 is kernD12x16 for float32 with a 12×32 tile.
//
//go:noescape
func kernS12x32(kc int, a *float32, ra, sa int, b *float32, sb int, c *float32, ldc int, alpha *float32)

// kernD12x16Add is kernD12x16 that adds its tile to C (C + *alpha·T,
// rounded as update's modeAdd) instead of storing it.
//
//go:noescape
func kernD12x16Add(kc int, a *float64, ra, sa int, b *float64, sb int, c *float64, ldc int, alpha *float64)

// kernS12x32Add is kernD12x16Add for float32.
//
//go:noescape
func kernS12x32Add(kc int, a *float32, ra, sa int, b *float32, sb int, c *float32, ldc int, alpha *float32)

// peakZ runs n rounds of 24 independent VFMADD231PS on ZMM registers and
// peakY n rounds of 12 on YMM registers: register-only loops that measure
// the FMA peak of a core (BenchmarkPeak).
func peakZ(n int)

func peakY(n int)

// dotD12x16 checks the bounds of the panels and of c, then runs
// kernD12x16.
func dotD12x16(kc int, a []float64, ra, sa int, b []float64, sb int, c []float64, ldc int, alpha *float64) {
	if kc <= 0 {
		kc, a, b = 0, a[:1], b[:1]
	} else {
		a, b = a[:11*ra+(kc-1)*sa+1], b[:(kc-1)*sb+16]
	}
	c = c[:11*ldc+16]
	kernD12x16(kc, &a[0], ra, sa, &b[0], sb, &c[0], ldc, alpha)
}

// dotS12x32 is dotD12x16 for float32.
func dotS12x32(kc int, a []float32, ra, sa int, b []float32, sb int, c []float32, ldc int, alpha *float32) {
	if kc <= 0 {
		kc, a, b = 0, a[:1], b[:1]
	} else {
		a, b = a[:11*ra+(kc-1)*sa+1], b[:(kc-1)*sb+32]
	}
	c = c[:11*ldc+32]
	kernS12x32(kc, &a[0], ra, sa, &b[0], sb, &c[0], ldc, alpha)
}

// addD12x16 is dotD12x16 with kernD12x16Add.
func addD12x16(kc int, a []float64, ra, sa int, b []float64, sb int, c []float64, ldc int, alpha *float64) {
	if kc <= 0 {
		kc, a, b = 0, a[:1], b[:1]
	} else {
		a, b = a[:11*ra+(kc-1)*sa+1], b[:(kc-1)*sb+16]
	}
	c = c[:11*ldc+16]
	kernD12x16Add(kc, &a[0], ra, sa, &b[0], sb, &c[0], ldc, alpha)
}

// addS12x32 is dotS12x32 with kernS12x32Add.
func addS12x32(kc int, a []float32, ra, sa int, b []float32, sb int, c []float32, ldc int, alpha *float32) {
	if kc <= 0 {
		kc, a, b = 0, a[:1], b[:1]
	} else {
		a, b = a[:11*ra+(kc-1)*sa+1], b[:(kc-1)*sb+32]
	}
	c = c[:11*ldc+32]
	kernS12x32Add(kc, &a[0], ra, sa, &b[0], sb, &c[0], ldc, alpha)
}

// putTile returns a put for a full mr×nr tile: update over the whole tile.
func putTile[T float](mr, nr int) func(t, c []T, ldc int, alpha, beta T, mode int) {
	return func(t, c []T, ldc int, alpha, beta T, mode int) {
		update(t, nr, c, ldc, mr, nr, alpha, beta, mode)
	}
}
