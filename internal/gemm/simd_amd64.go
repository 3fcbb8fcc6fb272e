//go:build goexperiment.simd && amd64

package gemm

import (
	"simd/archsimd"
	"unsafe"
)

// The SIMD kernels: 4 rows × 2 vectors of accumulators, Float64x4 (a 4×8
// tile) and Float32x8 (4×16), updated by fused multiply-adds. Larger tiles
// measured slower here: the compiler's 213-form FMA costs a register copy
// per product, and with more accumulators it spills.
var (
	simd64 = kernel[float64]{name: "avx2fma-4x8", mr: 4, nr: 8, kc: 256, nc: 128, dot: dotD4x8, put: putD4x8}
	simd32 = kernel[float32]{name: "avx2fma-4x16", mr: 4, nr: 16, kc: 256, nc: 256, dot: dotS4x16, put: putS4x16}
)

// platformKernels returns the SIMD kernels when the CPU has AVX2 and FMA.
// This build has no AVX-512 kernels.
func platformKernels() []kernelPair {
	if archsimd.X86.AVX2() && archsimd.X86.FMA() {
		return []kernelPair{{"avx2", &simd64, &simd32}}
	}
	return nil
}

// dotD4x8 writes *alpha (1 if alpha is nil) times the 4×8 product of the
// A panel (row r, step l at a[r·ra + l·sa]) and the B panel (step l at
// b[l·sb:][:8]) to the rows of c (stride ldc). It is
// kept out of line so that its loop has the registers to itself, and it
// clears the upper halves of the vector registers before returning: the
// compiler's scalar float code is legacy SSE, which would otherwise wait
// on them (measured: put and pack slowed down severalfold).
//
// (Its pointer arithmetic stays inside the panels, checked on entry, so
// the race build's per-step pointer checks are turned off: they made the
// race tests of this package minutes long.)
//
//go:noinline
//go:nocheckptr
func dotD4x8(kc int, a []float64, ra, sa int, b []float64, sb int, c []float64, ldc int, alpha *float64) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float64x4
	if kc > 0 {
		a, b = a[:3*ra+(kc-1)*sa+1], b[:(kc-1)*sb+8]
		rb := uintptr(ra) * 8
		pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
		// Pointers advance by one step of the panels; the last step does
		// not advance them, so they never point past the panels' end.
		for l := 1; ; l++ {
			b0 := archsimd.LoadFloat64x4((*[4]float64)(pb))
			b1 := archsimd.LoadFloat64x4((*[4]float64)(unsafe.Add(pb, 32)))
			x := archsimd.BroadcastFloat64x4(*(*float64)(pa))
			c00 = x.MulAdd(b0, c00)
			c01 = x.MulAdd(b1, c01)
			x = archsimd.BroadcastFloat64x4(*(*float64)(unsafe.Add(pa, rb)))
			c10 = x.MulAdd(b0, c10)
			c11 = x.MulAdd(b1, c11)
			x = archsimd.BroadcastFloat64x4(*(*float64)(unsafe.Add(pa, 2*rb)))
			c20 = x.MulAdd(b0, c20)
			c21 = x.MulAdd(b1, c21)
			x = archsimd.BroadcastFloat64x4(*(*float64)(unsafe.Add(pa, 3*rb)))
			c30 = x.MulAdd(b0, c30)
			c31 = x.MulAdd(b1, c31)
			if l == kc {
				break
			}
			pa, pb = unsafe.Add(pa, sa*8), unsafe.Add(pb, sb*8)
		}
	}
	if alpha != nil {
		al := archsimd.BroadcastFloat64x4(*alpha)
		c00, c01, c10, c11 = c00.Mul(al), c01.Mul(al), c10.Mul(al), c11.Mul(al)
		c20, c21, c30, c31 = c20.Mul(al), c21.Mul(al), c30.Mul(al), c31.Mul(al)
	}
	c = c[:3*ldc+8]
	c00.Store((*[4]float64)(c[0:4]))
	c01.Store((*[4]float64)(c[4:8]))
	c10.Store((*[4]float64)(c[ldc : ldc+4]))
	c11.Store((*[4]float64)(c[ldc+4 : ldc+8]))
	c20.Store((*[4]float64)(c[2*ldc : 2*ldc+4]))
	c21.Store((*[4]float64)(c[2*ldc+4 : 2*ldc+8]))
	c30.Store((*[4]float64)(c[3*ldc : 3*ldc+4]))
	c31.Store((*[4]float64)(c[3*ldc+4 : 3*ldc+8]))
	archsimd.ClearAVXUpperBits()
}

// putD4x8 combines the full 4×8 tile t with C as mode says, with the
// arithmetic of update: alpha·T rounded, beta·C rounded, one rounded sum.
func putD4x8(t, c []float64, ldc int, alpha, beta float64, mode int) {
	scaled := alpha != 1 // scalar work first, while the upper halves are clear
	t, c = t[:32], c[:3*ldc+8]
	c0, c1, c2, c3 := c[0:8], c[ldc:ldc+8], c[2*ldc:2*ldc+8], c[3*ldc:3*ldc+8]
	x00, x01 := loadD(t[0:4]), loadD(t[4:8])
	x10, x11 := loadD(t[8:12]), loadD(t[12:16])
	x20, x21 := loadD(t[16:20]), loadD(t[20:24])
	x30, x31 := loadD(t[24:28]), loadD(t[28:32])
	if scaled {
		al := archsimd.BroadcastFloat64x4(alpha)
		x00, x01, x10, x11 = x00.Mul(al), x01.Mul(al), x10.Mul(al), x11.Mul(al)
		x20, x21, x30, x31 = x20.Mul(al), x21.Mul(al), x30.Mul(al), x31.Mul(al)
	}
	switch mode {
	case modeAdd:
		x00, x01 = x00.Add(loadD(c0[0:4])), x01.Add(loadD(c0[4:8]))
		x10, x11 = x10.Add(loadD(c1[0:4])), x11.Add(loadD(c1[4:8]))
		x20, x21 = x20.Add(loadD(c2[0:4])), x21.Add(loadD(c2[4:8]))
		x30, x31 = x30.Add(loadD(c3[0:4])), x31.Add(loadD(c3[4:8]))
	case modeScale:
		be := archsimd.BroadcastFloat64x4(beta)
		x00, x01 = x00.Add(loadD(c0[0:4]).Mul(be)), x01.Add(loadD(c0[4:8]).Mul(be))
		x10, x11 = x10.Add(loadD(c1[0:4]).Mul(be)), x11.Add(loadD(c1[4:8]).Mul(be))
		x20, x21 = x20.Add(loadD(c2[0:4]).Mul(be)), x21.Add(loadD(c2[4:8]).Mul(be))
		x30, x31 = x30.Add(loadD(c3[0:4]).Mul(be)), x31.Add(loadD(c3[4:8]).Mul(be))
	}
	x00.Store((*[4]float64)(c0[0:4]))
	x01.Store((*[4]float64)(c0[4:8]))
	x10.Store((*[4]float64)(c1[0:4]))
	x11.Store((*[4]float64)(c1[4:8]))
	x20.Store((*[4]float64)(c2[0:4]))
	x21.Store((*[4]float64)(c2[4:8]))
	x30.Store((*[4]float64)(c3[0:4]))
	x31.Store((*[4]float64)(c3[4:8]))
	archsimd.ClearAVXUpperBits()
}

func loadD(s []float64) archsimd.Float64x4 { return archsimd.LoadFloat64x4((*[4]float64)(s)) }

// dotS4x16 is dotD4x8 for float32 with a 4×16 tile.
//
//go:noinline
//go:nocheckptr
func dotS4x16(kc int, a []float32, ra, sa int, b []float32, sb int, c []float32, ldc int, alpha *float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x8
	if kc > 0 {
		a, b = a[:3*ra+(kc-1)*sa+1], b[:(kc-1)*sb+16]
		rb := uintptr(ra) * 4
		pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
		// Pointers advance by one step of the panels; the last step does
		// not advance them, so they never point past the panels' end.
		for l := 1; ; l++ {
			b0 := archsimd.LoadFloat32x8((*[8]float32)(pb))
			b1 := archsimd.LoadFloat32x8((*[8]float32)(unsafe.Add(pb, 32)))
			x := archsimd.BroadcastFloat32x8(*(*float32)(pa))
			c00 = x.MulAdd(b0, c00)
			c01 = x.MulAdd(b1, c01)
			x = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, rb)))
			c10 = x.MulAdd(b0, c10)
			c11 = x.MulAdd(b1, c11)
			x = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 2*rb)))
			c20 = x.MulAdd(b0, c20)
			c21 = x.MulAdd(b1, c21)
			x = archsimd.BroadcastFloat32x8(*(*float32)(unsafe.Add(pa, 3*rb)))
			c30 = x.MulAdd(b0, c30)
			c31 = x.MulAdd(b1, c31)
			if l == kc {
				break
			}
			pa, pb = unsafe.Add(pa, sa*4), unsafe.Add(pb, sb*4)
		}
	}
	if alpha != nil {
		al := archsimd.BroadcastFloat32x8(*alpha)
		c00, c01, c10, c11 = c00.Mul(al), c01.Mul(al), c10.Mul(al), c11.Mul(al)
		c20, c21, c30, c31 = c20.Mul(al), c21.Mul(al), c30.Mul(al), c31.Mul(al)
	}
	c = c[:3*ldc+16]
	c00.Store((*[8]float32)(c[0:8]))
	c01.Store((*[8]float32)(c[8:16]))
	c10.Store((*[8]float32)(c[ldc : ldc+8]))
	c11.Store((*[8]float32)(c[ldc+8 : ldc+16]))
	c20.Store((*[8]float32)(c[2*ldc : 2*ldc+8]))
	c21.Store((*[8]float32)(c[2*ldc+8 : 2*ldc+16]))
	c30.Store((*[8]float32)(c[3*ldc : 3*ldc+8]))
	c31.Store((*[8]float32)(c[3*ldc+8 : 3*ldc+16]))
	archsimd.ClearAVXUpperBits()
}

// putS4x16 is putD4x8 for the float32 4×16 tile.
func putS4x16(t, c []float32, ldc int, alpha, beta float32, mode int) {
	scaled := alpha != 1 // scalar work first, while the upper halves are clear
	t, c = t[:64], c[:3*ldc+16]
	c0, c1, c2, c3 := c[0:16], c[ldc:ldc+16], c[2*ldc:2*ldc+16], c[3*ldc:3*ldc+16]
	x00, x01 := loadS(t[0:8]), loadS(t[8:16])
	x10, x11 := loadS(t[16:24]), loadS(t[24:32])
	x20, x21 := loadS(t[32:40]), loadS(t[40:48])
	x30, x31 := loadS(t[48:56]), loadS(t[56:64])
	if scaled {
		al := archsimd.BroadcastFloat32x8(alpha)
		x00, x01, x10, x11 = x00.Mul(al), x01.Mul(al), x10.Mul(al), x11.Mul(al)
		x20, x21, x30, x31 = x20.Mul(al), x21.Mul(al), x30.Mul(al), x31.Mul(al)
	}
	switch mode {
	case modeAdd:
		x00, x01 = x00.Add(loadS(c0[0:8])), x01.Add(loadS(c0[8:16]))
		x10, x11 = x10.Add(loadS(c1[0:8])), x11.Add(loadS(c1[8:16]))
		x20, x21 = x20.Add(loadS(c2[0:8])), x21.Add(loadS(c2[8:16]))
		x30, x31 = x30.Add(loadS(c3[0:8])), x31.Add(loadS(c3[8:16]))
	case modeScale:
		be := archsimd.BroadcastFloat32x8(beta)
		x00, x01 = x00.Add(loadS(c0[0:8]).Mul(be)), x01.Add(loadS(c0[8:16]).Mul(be))
		x10, x11 = x10.Add(loadS(c1[0:8]).Mul(be)), x11.Add(loadS(c1[8:16]).Mul(be))
		x20, x21 = x20.Add(loadS(c2[0:8]).Mul(be)), x21.Add(loadS(c2[8:16]).Mul(be))
		x30, x31 = x30.Add(loadS(c3[0:8]).Mul(be)), x31.Add(loadS(c3[8:16]).Mul(be))
	}
	x00.Store((*[8]float32)(c0[0:8]))
	x01.Store((*[8]float32)(c0[8:16]))
	x10.Store((*[8]float32)(c1[0:8]))
	x11.Store((*[8]float32)(c1[8:16]))
	x20.Store((*[8]float32)(c2[0:8]))
	x21.Store((*[8]float32)(c2[8:16]))
	x30.Store((*[8]float32)(c3[0:8]))
	x31.Store((*[8]float32)(c3[8:16]))
	archsimd.ClearAVXUpperBits()
}

func loadS(s []float32) archsimd.Float32x8 { return archsimd.LoadFloat32x8((*[8]float32)(s)) }
