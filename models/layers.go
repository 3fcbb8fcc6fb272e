package models

import (
	"math"
)

// The layers of the ResNets (torchvision's torchvision.models.resnet) are
// written directly, forward and backward, rather than as Gorgonia ops: a
// ResNet-50 has 53 convolutions and 53 BatchNorms, and a training step
// must reuse its activation buffers (a Gorgonia tape machine allocates
// every op's output on every run) to stay fast and within memory. Every
// product still goes through matmul, the BLAS Gorgonia uses (the
// package's fast GEMM by default), and the gradients are checked by
// finite differences as the Gorgonia ops' are.
//
// Activations are held channel-major (CNHW): the n·h·w values of a
// channel are contiguous. A convolution is then one GEMM, W·col, over the
// whole batch whose result is already the next layer's input, a 1×1
// stride-1 convolution needs no im2col at all, and BatchNorm's per-channel
// statistics run over contiguous memory.

// fmap is a batch of feature maps in CNHW layout.
type fmap[T float] struct {
	c, n, h, w int
	d          []T
}

// plane is the number of values per channel, n·h·w.
func (f fmap[T]) plane() int { return f.n * f.h * f.w }

// bufPool recycles the activation and gradient buffers of a network by
// length, so that a step after the first allocates nothing large.
type bufPool[T float] struct {
	free map[int][][]T
}

// get returns a buffer of length n (not zeroed).
func (p *bufPool[T]) get(n int) []T {
	if l := p.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		p.free[n] = l[:len(l)-1]
		return b
	}
	return make([]T, n)
}

// put returns b to the pool (nil is ignored).
func (p *bufPool[T]) put(b []T) {
	if b == nil {
		return
	}
	if p.free == nil {
		p.free = map[int][][]T{}
	}
	p.free[len(b)] = append(p.free[len(b)], b)
}

// reset drops every pooled buffer.
func (p *bufPool[T]) reset() { p.free = nil }

// ---- convolution ----

// conv2d is torch's nn.Conv2d(cin, cout, k, stride, padding, bias=False)
// (torchvision's convolutions have no bias).
type conv2d[T float] struct {
	cin, cout, k, stride, pad int
	w                         *Param // cout×cin×k×k
}

func (l *conv2d[T]) outSize(h, w int) (int, int) {
	return (h+2*l.pad-l.k)/l.stride + 1, (w+2*l.pad-l.k)/l.stride + 1
}

// direct reports whether the input is its own im2col matrix (1×1, stride
// 1, no padding).
func (l *conv2d[T]) direct() bool { return l.k == 1 && l.stride == 1 && l.pad == 0 }

// colBudget bounds the matrix Wᵀ·dy that a convolution's backward pass
// builds at once for col2im (in values: 16 MB of float32). The batch is
// taken in chunks of whole samples whose matrix fits (at least one
// sample), so that memory does not grow with the batch. The chunks depend
// on the shapes only, never on the number of threads.
var colBudget = 1 << 22 // a variable for tests

// chunk returns the samples per col2im chunk for oh·ow output pixels per
// sample.
func (l *conv2d[T]) chunk(n, ohw int) int {
	return min(n, max(1, colBudget/(l.cin*l.k*l.k*ohw)))
}

// forward returns W * x as a new buffer from pool: one GEMM over the
// whole batch whose B, the im2col matrix of x, is never built — the GEMM's
// packing reads the pixels (patches.pack).
func (l *conv2d[T]) forward(x fmap[T], pool *bufPool[T]) fmap[T] {
	oh, ow := l.outSize(x.h, x.w)
	y := fmap[T]{c: l.cout, n: x.n, h: oh, w: ow}
	all := x.n * oh * ow
	kk := l.cin * l.k * l.k
	y.d = pool.get(l.cout * all)
	w := l.w.value.Data().([]T)
	if l.direct() {
		matmul(false, false, l.cout, all, kk, w, kk, x.d, all, 0, y.d, all)
		return y
	}
	g, xp := l.patches(x, oh, ow, pool)
	matmulPacked(false, l.cout, all, kk, w, kk, g.pack, y.d, all)
	pool.put(xp)
	return y
}

// patches describes the im2col matrix of x for this convolution. With
// padding, it reads a zero-padded copy of x (a buffer from pool, returned
// as xp for the caller to put back), so that every tap is inside its
// input and the packing needs no bounds per tap (one copy per run of
// pixels at stride 1).
func (l *conv2d[T]) patches(x fmap[T], oh, ow int, pool *bufPool[T]) (g *patches[T], xp []T) {
	return newPatches(x, l.k, l.stride, l.pad, oh, ow, pool)
}

// newPatches is patches for any CNHW input, kernel, stride and padding:
// with p > 0 it pads x into a buffer from pool (returned for the caller
// to put back), so the patches it returns read no padding.
func newPatches[T float](x fmap[T], k, s, p, oh, ow int, pool *bufPool[T]) (*patches[T], []T) {
	if p == 0 {
		return cnhwPatches(x, k, s, oh, ow), nil
	}
	xp := padded(x, p, pool.get(x.c*x.n*(x.h+2*p)*(x.w+2*p)))
	return cnhwPatches(xp, k, s, oh, ow), xp.d
}

// cnhwPatches describes the patches of x, unpadded: (oh−1)·s+k ≤ x.h and
// (ow−1)·s+k ≤ x.w, which a convolution's output size guarantees.
func cnhwPatches[T float](x fmap[T], k, s, oh, ow int) *patches[T] {
	return &patches[T]{x: x, k: k, s: s, oh: oh, ow: ow, cs: x.n * x.h * x.w, ss: x.h * x.w}
}

// padded returns x with p zeros around every h×w plane, written to dst
// (c·n·(h+2p)·(w+2p) values).
func padded[T float](x fmap[T], p int, dst []T) fmap[T] {
	h, w := x.h+2*p, x.w+2*p
	xp := fmap[T]{c: x.c, n: x.n, h: h, w: w, d: dst[:x.c*x.n*h*w]}
	parallel(x.c*x.n, len(xp.d), func(lo, hi int) {
		for q := lo; q < hi; q++ {
			src := x.d[q*x.h*x.w:][:x.h*x.w]
			dst := xp.d[q*h*w:][:h*w]
			clear(dst[:p*w])
			for y := range x.h {
				row := dst[(y+p)*w:][:w]
				clear(row[:p])
				copy(row[p:p+x.w], src[y*x.w:][:x.w])
				clear(row[p+x.w:])
			}
			clear(dst[(x.h+p)*w:])
		}
	})
	return xp
}

// backward sets the weight's gradient from the input x and the output's
// gradient dy, and returns the input's gradient (a new buffer from pool)
// when needDX.
func (l *conv2d[T]) backward(x, dy fmap[T], needDX bool, pool *bufPool[T]) fmap[T] {
	ohw := dy.h * dy.w
	all := dy.plane()
	kk := l.cin * l.k * l.k
	w := l.w.value.Data().([]T)
	gw := l.w.grad.Data().([]T)
	var dx fmap[T]
	if needDX {
		dx = fmap[T]{c: x.c, n: x.n, h: x.h, w: x.w, d: pool.get(len(x.d))}
	}
	if l.direct() {
		matmul(false, true, l.cout, kk, all, dy.d, all, x.d, all, 0, gw, kk)
		if needDX {
			matmul(true, false, l.cin, all, l.cout, w, kk, dy.d, all, 0, dx.d, all)
		}
		return dx
	}
	// dW = dy · colᵀ, colᵀ packed from the pixels of x.
	g, xp := l.patches(x, dy.h, dy.w, pool)
	matmulPacked(false, l.cout, kk, all, dy.d, all, g.packT, gw, kk)
	pool.put(xp)
	if !needDX {
		return dx
	}
	if l.stride == 1 && l.pad < l.k {
		// dX is the convolution of dy with the flipped, transposed kernel
		// (padding k−1−p): one GEMM whose B packs the pixels of dy.
		kt := l.cout * l.k * l.k
		wt := pool.get(l.cin * kt)
		l.flipped(w, wt)
		gt, dyp := newPatches(dy, l.k, 1, l.k-1-l.pad, x.h, x.w, pool)
		matmulPacked(false, l.cin, x.plane(), kt, wt, kt, gt.pack, dx.d, x.plane())
		pool.put(wt)
		pool.put(dyp)
		return dx
	}
	spc := l.chunk(x.n, ohw)
	col := pool.get(kk * spc * ohw)
	for i0 := 0; i0 < x.n; i0 += spc {
		i1 := min(x.n, i0+spc)
		cols := (i1 - i0) * ohw
		c := col[:kk*cols]
		matmul(true, false, kk, cols, l.cout, w, kk, dy.d[i0*ohw:], all, 0, c, cols)
		col2im(c, dx, i0, i1, l.k, l.stride, l.pad, dy.h, dy.w)
	}
	pool.put(col)
	return dx
}

// flipped writes to wt (cin × cout·k·k) the kernel of the transposed
// convolution: wt[ci][(co·k+ky)·k+kx] = w[co][ci][k−1−ky][k−1−kx].
func (l *conv2d[T]) flipped(w, wt []T) {
	kk := l.k * l.k
	for co := range l.cout {
		for ci := range l.cin {
			src := w[(co*l.cin+ci)*kk:][:kk]
			dst := wt[(ci*l.cout+co)*kk:][:kk]
			for t := range kk {
				dst[t] = src[kk-1-t]
			}
		}
	}
}

// patches is the im2col matrix of a batch x (CNHW) for a k×k convolution
// with stride s and no padding (newPatches pads x first), never stored:
// row (ci·k+ky)·k+kx, column (i·oh+oy)·ow+ox holds x[ci, i, oy·s+ky,
// ox·s+kx]. Its pack and packT are gemm.PackFuncs of the matrix and of
// its transpose: they read only x, every tap inside it.
type patches[T float] struct {
	x            fmap[T]
	k, s, oh, ow int
	// cs and ss are the strides of a channel and of a sample in x.d
	// (CNHW: n·h·w and h·w).
	cs, ss int
}

// run is a run of consecutive output pixels on one output row: pixels
// (i, oy, ox…ox+n−1), at offset at of the packed block; base is the
// offset, from its channel's first value, of the input pixel that the
// patch's top-left tap reads for the first pixel (i, oy·s, ox·s).
type run struct{ at, n, base int }

// runs appends to out the runs that cover pixels [j0, j0+n), each run's
// at counting from j0.
func (g *patches[T]) runs(j0, n int, out []run) []run {
	ohw := g.oh * g.ow
	i, rem := j0/ohw, j0%ohw
	oy, ox := rem/g.ow, rem%g.ow
	for at := 0; at < n; {
		m := min(g.ow-ox, n-at)
		out = append(out, run{at: at, n: m, base: i*g.ss + oy*g.s*g.x.w + ox*g.s})
		at += m
		if ox += m; ox == g.ow {
			ox = 0
			if oy++; oy == g.oh {
				oy = 0
				i++
			}
		}
	}
	return out
}

// maxRuns bounds the runs a packing call keeps on its stack: a panel of
// nr ≤ 32 columns, or kc ≤ 256 rows of output pixels, make at most that
// many runs when rows are at least 2 pixels wide (longer lists spill to
// the heap).
const maxRuns = 160

// pack is the gemm.PackFunc of the im2col matrix: rows [p0, p0+kc) (patch
// rows) and columns [j0, j0+nc) (output pixels) in panels of nr columns.
// For one patch row, a run of pixels reads a run of one input row (every
// s-th value): a copy when s is 1.
func (g *patches[T]) pack(dst []T, p0, kc, j0, nc, nr int) {
	var buf [maxRuns]run
	x, k, s := g.x, g.k, g.s
	xd, plane := x.d, g.cs
	for q := 0; q < nc; q += nr {
		cols := min(nr, nc-q)
		panel := dst[q*kc : (q+nr)*kc]
		runs := g.runs(j0+q, cols, buf[:0])
		ci, ky, kx := p0/(k*k), p0%(k*k)/k, p0%k
		for l := range kc {
			d := panel[l*nr : l*nr+nr]
			tap := ci*plane + ky*x.w + kx // the offset of this patch row's tap
			for _, u := range runs {
				o := tap + u.base
				if s == 1 {
					copy(d[u.at:u.at+u.n], xd[o:o+u.n])
					continue
				}
				seg := d[u.at : u.at+u.n]
				for t := range seg {
					seg[t] = xd[o+t*s]
				}
			}
			if cols < nr {
				clear(d[cols:])
			}
			if kx++; kx == k {
				kx = 0
				if ky++; ky == k {
					ky = 0
					ci++
				}
			}
		}
	}
}

// packT is the gemm.PackFunc of the transposed im2col matrix: rows [p0,
// p0+kc) (output pixels) and columns [j0, j0+nc) (patch rows) in panels of
// nr columns. A full panel of the AVX-512 kernel (32 columns) gathers each
// pixel's 32 taps from fixed offsets and writes them contiguously; other
// panels go column by column, a run of pixels reading a run of one input
// row (every s-th value) written nr apart.
func (g *patches[T]) packT(dst []T, p0, kc, j0, nc, nr int) {
	var buf [maxRuns]run
	x, k, s := g.x, g.k, g.s
	xd, plane := x.d, g.cs
	runs := g.runs(p0, kc, buf[:0])
	for q := 0; q < nc; q += nr {
		cols := min(nr, nc-q)
		panel := dst[q*kc : (q+nr)*kc]
		r := j0 + q
		ci, ky, kx := r/(k*k), r%(k*k)/k, r%k
		if nr == 32 && cols == 32 {
			var taps [32]int
			for c := range taps {
				taps[c] = ci*plane + ky*x.w + kx
				if kx++; kx == k {
					kx = 0
					if ky++; ky == k {
						ky = 0
						ci++
					}
				}
			}
			for _, u := range runs {
				for t := range u.n {
					row := (*[32]T)(panel[(u.at+t)*32:])
					src := xd[u.base+t*s:]
					for c, off := range &taps {
						row[c] = src[off]
					}
				}
			}
			continue
		}
		for c := range cols {
			tap := ci*plane + ky*x.w + kx
			for _, u := range runs {
				d := panel[u.at*nr+c:]
				o := tap + u.base
				if s == 1 {
					scatter(d, xd[o:o+u.n], nr)
					continue
				}
				for t := range u.n {
					d[t*nr] = xd[o+t*s]
				}
			}
			if kx++; kx == k {
				kx = 0
				if ky++; ky == k {
					ky = 0
					ci++
				}
			}
		}
		if cols < nr {
			for l := range kc {
				clear(panel[l*nr+cols : l*nr+nr])
			}
		}
	}
}

// scatter sets d[t·step] = src[t]: a column of a packed panel. The common
// step of 32 (the AVX-512 kernel's nr) is a constant to the compiler, so
// one bounds check covers the loop.
func scatter[T float](d, src []T, step int) {
	if len(src) == 0 {
		return
	}
	if step == 32 {
		d = d[:(len(src)-1)*32+1]
		for t, v := range src {
			d[t*32] = v
		}
		return
	}
	for t, v := range src {
		d[t*step] = v
	}
}

// ceilDivInt is ⌈a/b⌉ for b > 0 and any a.
func ceilDivInt(a, b int) int {
	if a <= 0 {
		return -((-a) / b)
	}
	return (a + b - 1) / b
}

// col2im is the adjoint of im2col: it sets samples [i0, i1) of dx (CNHW,
// its shape given) to the sum, over the patches that read each pixel, of
// dcol's entries.
func col2im[T float](dcol []T, dx fmap[T], i0, i1, k, s, p, oh, ow int) {
	cols := (i1 - i0) * oh * ow
	hw := dx.h * dx.w
	parallel(dx.c, len(dcol), func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			plane := dx.d[ci*dx.n*hw:][:dx.n*hw]
			clear(plane[i0*hw : i1*hw])
			for ky := 0; ky < k; ky++ {
				for kx := 0; kx < k; kx++ {
					row := dcol[((ci*k+ky)*k+kx)*cols:][:cols]
					x0 := max(0, ceilDivInt(p-kx, s))
					x1 := max(x0, min(ow, ceilDivInt(dx.w+p-kx, s)))
					for i := i0; i < i1; i++ {
						for oy := 0; oy < oh; oy++ {
							sy := oy*s + ky - p
							if sy < 0 || sy >= dx.h {
								continue
							}
							src := row[((i-i0)*oh+oy)*ow:][:ow]
							drow := plane[(i*dx.h+sy)*dx.w:][:dx.w]
							if s == 1 {
								d := drow[x0+kx-p : x1+kx-p]
								for j, v := range src[x0:x1] {
									d[j] += v
								}
							} else {
								for ox := x0; ox < x1; ox++ {
									drow[ox*s+kx-p] += src[ox]
								}
							}
						}
					}
				}
			}
		}
	})
}

// ---- BatchNorm ----

// bnMomentum and bnEps are torch's BatchNorm2d defaults.
const (
	bnMomentum = 0.1
	bnEps      = 1e-5
)

// batchNorm is torch's nn.BatchNorm2d(c) (eps 1e-5, momentum 0.1, affine,
// tracking running statistics), optionally followed by the addition of a
// residual and a ReLU, in one pass.
type batchNorm[T float] struct {
	c            int
	w, b         *Param
	mean, vr     []T // running_mean, running_var
	tracked      int64
	shift, scale []T // per channel: the statistics of the last forward (mean, 1/√(var+eps))
}

func newBatchNorm[T float](prefix string, c int) *batchNorm[T] {
	l := &batchNorm[T]{c: c,
		w: newParam[T](prefix+".weight", []int{c}, c), b: newParam[T](prefix+".bias", []int{c}, c),
		mean: make([]T, c), vr: make([]T, c), shift: make([]T, c), scale: make([]T, c)}
	for i := range l.vr {
		l.vr[i] = 1
	}
	w := l.w.value.Data().([]T)
	for i := range w {
		w[i] = 1
	}
	return l
}

// forward writes y = [ReLU](γ·(x−μ)/σ + β [+ res]) (y may be x.d; res may
// be nil). With batch true the statistics are the batch's (the biased
// variance normalises) and, with update, the running statistics move by
// the momentum with the unbiased variance, as torch in train mode;
// otherwise the running statistics normalise (eval mode).
func (l *batchNorm[T]) forward(x fmap[T], y, res []T, relu, batch, update bool) {
	m := x.plane()
	if batch {
		parallel(l.c, len(x.d), func(lo, hi int) {
			for ci := lo; ci < hi; ci++ {
				src := x.d[ci*m:][:m]
				mu := sum4(src, false, 0) / float64(m)
				q := sum4(src, true, mu)
				v := q / float64(m)
				l.shift[ci] = T(mu)
				l.scale[ci] = T(1 / math.Sqrt(v+bnEps))
				if update {
					unb := v
					if m > 1 {
						unb = q / float64(m-1)
					}
					l.mean[ci] = T((1-bnMomentum)*float64(l.mean[ci]) + bnMomentum*mu)
					l.vr[ci] = T((1-bnMomentum)*float64(l.vr[ci]) + bnMomentum*unb)
				}
			}
		})
		if update {
			l.tracked++
		}
	} else {
		for ci := range l.c {
			l.shift[ci] = l.mean[ci]
			l.scale[ci] = T(1 / math.Sqrt(float64(l.vr[ci])+bnEps))
		}
	}
	g := l.w.value.Data().([]T)
	b := l.b.value.Data().([]T)
	parallel(l.c, len(x.d), func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			a := g[ci] * l.scale[ci]
			c := b[ci] - l.shift[ci]*a
			src := x.d[ci*m:][:m]
			dst := y[ci*m:][:m]
			switch {
			case res != nil && relu:
				r := res[ci*m:][:m]
				for j, v := range src {
					dst[j] = max(v*a+c+r[j], 0)
				}
			case res != nil:
				r := res[ci*m:][:m]
				for j, v := range src {
					dst[j] = v*a + c + r[j]
				}
			case relu:
				for j, v := range src {
					dst[j] = max(v*a+c, 0)
				}
			default:
				for j, v := range src {
					dst[j] = v*a + c
				}
			}
		}
	})
}

// backward turns dy, the gradient of the normalised output (before any
// residual; after the ReLU's mask), into the gradient of x, in place. With
// batch (train mode) the batch statistics' dependence on x is included.
// With params the gradients of γ and β are set.
func (l *batchNorm[T]) backward(x fmap[T], dy []T, batch, params bool) {
	m := x.plane()
	g := l.w.value.Data().([]T)
	gw := l.w.grad.Data().([]T)
	gb := l.b.grad.Data().([]T)
	parallel(l.c, len(x.d), func(lo, hi int) {
		for ci := lo; ci < hi; ci++ {
			src := x.d[ci*m:][:m]
			d := dy[ci*m:][:m]
			mu, is := float64(l.shift[ci]), float64(l.scale[ci])
			sd, sdx := dot4(d, src, mu)
			sdx *= is // Σ dy·x̂
			if params {
				gw[ci] = T(sdx)
				gb[ci] = T(sd)
			}
			a := T(float64(g[ci]) * is)
			if !batch {
				for j := range d {
					d[j] *= a
				}
				continue
			}
			mean := T(sd / float64(m))
			k := T(sdx / float64(m) * is) // Σ dy·x̂ / m, times 1/σ for x−μ
			mT := T(mu)
			for j, v := range src {
				d[j] = a * (d[j] - mean - (v-mT)*k)
			}
		}
	})
}

// sum4 returns Σ v, or Σ (v−mu)² when sq, in float64, over four running
// sums (the sums of one chain wait on each other; four chains keep the
// adder busy). The order is fixed, so the bits are too.
func sum4[T float](x []T, sq bool, mu float64) float64 {
	var s [4]float64
	n := len(x) / 4 * 4
	if !sq {
		for j := 0; j < n; j += 4 {
			v := x[j : j+4 : j+4]
			s[0] += float64(v[0])
			s[1] += float64(v[1])
			s[2] += float64(v[2])
			s[3] += float64(v[3])
		}
		for _, v := range x[n:] {
			s[0] += float64(v)
		}
	} else {
		for j := 0; j < n; j += 4 {
			v := x[j : j+4 : j+4]
			d0, d1, d2, d3 := float64(v[0])-mu, float64(v[1])-mu, float64(v[2])-mu, float64(v[3])-mu
			s[0] += d0 * d0
			s[1] += d1 * d1
			s[2] += d2 * d2
			s[3] += d3 * d3
		}
		for _, v := range x[n:] {
			d := float64(v) - mu
			s[0] += d * d
		}
	}
	return (s[0] + s[1]) + (s[2] + s[3])
}

// dot4 returns Σ dy and Σ dy·(x−mu) in float64, over four running sums
// each (see sum4).
func dot4[T float](dy, x []T, mu float64) (float64, float64) {
	var s, t [4]float64
	n := len(dy) / 4 * 4
	x = x[:len(dy)]
	for j := 0; j < n; j += 4 {
		d, v := dy[j:j+4:j+4], x[j:j+4:j+4]
		s[0] += float64(d[0])
		s[1] += float64(d[1])
		s[2] += float64(d[2])
		s[3] += float64(d[3])
		t[0] += float64(d[0]) * (float64(v[0]) - mu)
		t[1] += float64(d[1]) * (float64(v[1]) - mu)
		t[2] += float64(d[2]) * (float64(v[2]) - mu)
		t[3] += float64(d[3]) * (float64(v[3]) - mu)
	}
	for j := n; j < len(dy); j++ {
		s[0] += float64(dy[j])
		t[0] += float64(dy[j]) * (float64(x[j]) - mu)
	}
	return (s[0] + s[1]) + (s[2] + s[3]), (t[0] + t[1]) + (t[2] + t[3])
}

// reluMask zeroes dy where y (a ReLU's output) is 0: torch's
// threshold_backward(dy, y, 0).
func reluMask[T float](y, dy []T) {
	parallel(len(y), len(y), func(lo, hi int) {
		for i, v := range y[lo:hi] {
			if v == 0 {
				dy[lo+i] = 0
			}
		}
	})
}

// ---- pooling ----

// maxPool3 is torch's nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
// recording each output's argmax (its index in the input's h×w plane) for
// the gradient. Like torch's CPU kernel, a window's first maximum in
// row-major order wins, and a NaN wins over numbers (the last NaN).
func maxPool3[T float](x fmap[T], y fmap[T], arg []int32) {
	plane := x.h * x.w
	oplane := y.h * y.w
	parallel(x.c*x.n, len(x.d), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			src := x.d[p*plane:][:plane]
			dst := y.d[p*oplane:][:oplane]
			ar := arg[p*oplane:][:oplane]
			for oy := 0; oy < y.h; oy++ {
				y0, y1 := max(0, 2*oy-1), min(x.h, 2*oy+2)
				for ox := 0; ox < y.w; ox++ {
					x0, x1 := max(0, 2*ox-1), min(x.w, 2*ox+2)
					best := T(math.Inf(-1))
					idx := int32(y0*x.w + x0)
					for sy := y0; sy < y1; sy++ {
						for sx := x0; sx < x1; sx++ {
							v := src[sy*x.w+sx]
							if v > best || v != v {
								best, idx = v, int32(sy*x.w+sx)
							}
						}
					}
					dst[oy*y.w+ox] = best
					ar[oy*y.w+ox] = idx
				}
			}
		}
	})
}

// maxPool3Grad sets dx (zeroed here) from dy through the recorded argmax.
func maxPool3Grad[T float](dy fmap[T], dx []T, plane int, arg []int32) {
	oplane := dy.h * dy.w
	parallel(dy.c*dy.n, len(dx), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			d := dx[p*plane:][:plane]
			clear(d)
			for j, g := range dy.d[p*oplane:][:oplane] {
				d[arg[p*oplane+j]] += g
			}
		}
	})
}

// avgPool is torch's nn.AdaptiveAvgPool2d(1) followed by flatten: out
// (n×c, row-major) holds each channel's mean over its h×w plane.
func avgPool[T float](x fmap[T], out []T) {
	hw := x.h * x.w
	for ci := 0; ci < x.c; ci++ {
		for i := 0; i < x.n; i++ {
			var s float64
			for _, v := range x.d[(ci*x.n+i)*hw:][:hw] {
				s += float64(v)
			}
			out[i*x.c+ci] = T(s / float64(hw))
		}
	}
}

// avgPoolGrad spreads dout (n×c) evenly over each plane of dx (CNHW).
func avgPoolGrad[T float](dout []T, dx fmap[T]) {
	hw := dx.h * dx.w
	for ci := 0; ci < dx.c; ci++ {
		for i := 0; i < dx.n; i++ {
			g := dout[i*dx.c+ci] / T(hw)
			d := dx.d[(ci*dx.n+i)*hw:][:hw]
			for j := range d {
				d[j] = g
			}
		}
	}
}

// ---- layout ----

// nchwToCNHW copies x (n×c×hw, row-major) into dst in CNHW layout.
func nchwToCNHW[T float](x []T, n, c, hw int, dst []T) {
	parallel(n*c, n*c*hw, func(lo, hi int) {
		for q := lo; q < hi; q++ { // q = i·c + ci
			i, ci := q/c, q%c
			copy(dst[(ci*n+i)*hw:][:hw], x[q*hw:][:hw])
		}
	})
}

// cnhwToNCHW is the inverse of nchwToCNHW.
func cnhwToNCHW[T float](x []T, n, c, hw int, dst []T) {
	for i := 0; i < n; i++ {
		for ci := 0; ci < c; ci++ {
			copy(dst[(i*c+ci)*hw:][:hw], x[(ci*n+i)*hw:][:hw])
		}
	}
}
