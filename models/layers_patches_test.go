package models

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// im2col is the reference the packing functions are checked against.
// im2col lays out the k×k patches (stride s, zero padding p) of samples
// [i0, i1) of x (CNHW) as the rows of col ((c·k·k) × ((i1−i0)·oh·ow)): row
// (ci·k+ky)·k+kx, column ((i−i0)·oh+oy)·ow+ox holds
// x[ci, i, oy·s+ky−p, ox·s+kx−p], or 0 outside the image.
func im2col[T float](x fmap[T], i0, i1, k, s, p, oh, ow int, col []T) {
	cols := (i1 - i0) * oh * ow
	hw := x.h * x.w
	parallel(x.c*k*k, len(col), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			ci, ky, kx := r/(k*k), r%(k*k)/k, r%k
			row := col[r*cols:][:cols]
			src := x.d[ci*x.n*hw:]
			// Output columns ox in [x0, x1) read inside the image.
			x0 := max(0, ceilDivInt(p-kx, s))
			x1 := min(ow, ceilDivInt(x.w+p-kx, s))
			x1 = max(x1, x0)
			for i := i0; i < i1; i++ {
				for oy := 0; oy < oh; oy++ {
					d := row[((i-i0)*oh+oy)*ow:][:ow]
					sy := oy*s + ky - p
					if sy < 0 || sy >= x.h {
						clear(d)
						continue
					}
					srow := src[(i*x.h+sy)*x.w:][:x.w]
					clear(d[:x0])
					if s == 1 {
						copy(d[x0:x1], srow[x0+kx-p:x1+kx-p])
					} else {
						for ox := x0; ox < x1; ox++ {
							d[ox] = srow[ox*s+kx-p]
						}
					}
					clear(d[x1:])
				}
			}
		}
	})
}

// packRef packs rows [p0, p0+kc) and columns [j0, j0+nc) of the stored
// matrix m (rows×cols, transposed when trans) as gemm's packB does.
func packRef(m []float64, cols int, trans bool, dst []float64, p0, kc, j0, nc, nr int) {
	for q := 0; q < nc; q += nr {
		for l := range kc {
			for c := range nr {
				v := 0.0
				if q+c < nc {
					r, j := p0+l, j0+q+c
					if trans {
						r, j = j, r
					}
					v = m[r*cols+j]
				}
				dst[q*kc+l*nr+c] = v
			}
		}
	}
}

// TestPatchesPack: the packing functions of the never-built im2col matrix
// give what packing the built one gives, for every geometry of the ResNets
// and odd ones (kernel, stride, padding, sizes whose rows end inside a
// panel), any block of rows and columns, any panel width.
func TestPatchesPack(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	type geo struct{ c, n, h, w, k, s, p int }
	geos := []geo{
		{3, 2, 9, 11, 7, 2, 3}, {2, 3, 7, 7, 3, 1, 1}, {2, 2, 8, 6, 3, 2, 1},
		{3, 2, 5, 5, 1, 2, 0}, {1, 4, 3, 2, 3, 1, 1}, {2, 1, 10, 9, 3, 3, 2},
		{2, 2, 4, 4, 3, 1, 0}, {1, 2, 1, 1, 3, 1, 1}, {2, 2, 40, 37, 3, 1, 1},
		{8, 2, 9, 10, 3, 1, 1}, {4, 2, 6, 5, 3, 1, 0}, // full panels of 32 taps
	}
	for _, gg := range geos {
		x := fmap[float64]{c: gg.c, n: gg.n, h: gg.h, w: gg.w, d: make([]float64, gg.c*gg.n*gg.h*gg.w)}
		for i := range x.d {
			x.d[i] = rng.Float64() + 1
		}
		l := conv2d[float64]{cin: gg.c, k: gg.k, stride: gg.s, pad: gg.p}
		oh, ow := l.outSize(gg.h, gg.w)
		kk, cols := gg.c*gg.k*gg.k, gg.n*oh*ow
		col := make([]float64, kk*cols)
		im2col(x, 0, gg.n, gg.k, gg.s, gg.p, oh, ow, col)
		var pool bufPool[float64]
		g, _ := l.patches(x, oh, ow, &pool) // a padded copy when p > 0
		for trial := range 120 {
			trans := trial%2 == 1
			rows, width := kk, cols // of op(B)
			if trans {
				rows, width = cols, kk
			}
			nr := []int{4, 16, 32}[trial%3]
			p0 := rng.IntN(rows)
			kc := 1 + rng.IntN(min(256, rows-p0))
			j0 := rng.IntN(width)
			nc := 1 + rng.IntN(width-j0)
			np := (nc + nr - 1) / nr * nr
			want, got := make([]float64, np*kc), make([]float64, np*kc)
			for i := range got {
				got[i] = -7 // every entry must be written
			}
			packRef(col, cols, trans, want, p0, kc, j0, nc, nr)
			if trans {
				g.packT(got, p0, kc, j0, nc, nr)
			} else {
				g.pack(got, p0, kc, j0, nc, nr)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%+v trans %v p0 %d kc %d j0 %d nc %d nr %d: dst[%d] = %v, want %v", gg, trans, p0, kc, j0, nc, nr, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkPatchesPack times the packing of ResNet-18's layer-1 patches
// (64 channels, 56×56 with padding 1, 3×3, batch 8, read from the
// zero-padded copy) in the GEMM's blocks (kc 256, nc 256, nr 32): ns per
// packed value, both orientations.
func BenchmarkPatchesPack(b *testing.B) {
	x := fmap[float32]{c: 64, n: 8, h: 56, w: 56, d: make([]float32, 64*8*56*56)}
	for i := range x.d {
		x.d[i] = float32(i % 7)
	}
	var pool bufPool[float32]
	l := conv2d[float32]{cin: 64, k: 3, stride: 1, pad: 1}
	g, _ := l.patches(x, 56, 56, &pool)
	dst := make([]float32, 256*256)
	all := 8 * 56 * 56
	for _, trans := range []bool{false, true} {
		b.Run(fmt.Sprintf("transposed=%v", trans), func(b *testing.B) {
			n := 0
			for b.Loop() {
				for j0 := 0; j0+256 <= all; j0 += 256 * 7 {
					if trans {
						g.packT(dst, j0, 256, 256, 256, 32)
					} else {
						g.pack(dst, 256, 256, j0, 256, 32)
					}
					n += 256 * 256
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/value")
		})
	}
}
