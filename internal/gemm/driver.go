package gemm

import (
	"runtime"
	"sync"

	"github.com/gometric/gometric/internal/workers"
)

// How a micro-kernel combines its tile T = op(A)·op(B) (over one kc block)
// with C. Every mode computes alpha·T as one rounded product and adds it
// with one rounded addition, never a fused multiply-add, so a full tile
// written by a vector kernel and an edge tile written through update give
// the same bits.
const (
	modeSet   = iota // C = alpha·T
	modeAdd          // C = C + alpha·T
	modeScale        // C = beta·C + alpha·T
)

// kernel is one micro-kernel with its blocking. The result of every
// element of C depends only on kc and on dot and put (the order of the
// products inside a kc block, and the kc blocks added in order): never on
// nc, the row chunks, the task grid or the number of goroutines. That is what keeps results
// bit-identical across GOMAXPROCS.
type kernel[T float] struct {
	name   string
	mr, nr int // the tile the micro-kernel computes
	kc     int // depth of a block of k: fixed, it decides the rounding
	nc     int // most columns of B per task: a kc×nc packed block fits L2
	// dot writes the mr×nr product of the panels a and b, times *alpha
	// unless alpha is nil, to the rows of c (stride ldc): modeSet for a
	// full tile, without a round trip through a tile buffer. Row r of the
	// A panel takes a[r·ra + l·sa] at step l and the B panel b[l·sb:][:nr]:
	// ra = 1, sa = mr, sb = nr for packed panels; the matrix's strides for
	// panels read in place. alpha is a pointer so that the kernel reads it
	// after its loop instead of holding a register through it.
	dot func(kc int, a []T, ra, sa int, b []T, sb int, c []T, ldc int, alpha *T)
	// add, if not nil, is dot that adds its product to c (C + alpha·T,
	// rounded as update's modeAdd) instead of storing it: a full tile in
	// modeAdd then skips the round trip through the tile buffer.
	add func(kc int, a []T, ra, sa int, b []T, sb int, c []T, ldc int, alpha *T)
	// put combines a full tile t with the mr×nr block of C at c (stride
	// ldc) as mode says, with the arithmetic of update.
	put  func(t, c []T, ldc int, alpha, beta T, mode int)
	pool sync.Pool // *workspace[T]
}

// workspace holds packed panels: the packed A of a chunk of rows for the
// calling goroutine, the packed B block and the tile buffer for a task.
type workspace[T float] struct {
	a, b, tile []T
}

// parallelMin is the number of multiply-adds (m·n·k) below which a GEMM
// runs on the calling goroutine only. Below about 16M the second
// goroutine's start, its packing of B and the barrier cost more than they
// save, now that the AVX-512 kernel does a 256×256×128 product in a
// fraction of a millisecond: at that size (the distance matrix and the
// gradient product of a batch of 256) MultiSimilarityLoss took 0.51–0.57
// ms against 0.65–0.69 with the threshold at 4M, ContrastiveLoss 0.25
// against 0.29, and the Fashion-MNIST training step did not change
// (alternating runs on the AMD EPYC of the README).
var parallelMin = 1 << 24 // a variable for tests

// maxPackedA bounds the packed copy of op(A) (in elements): rows are taken
// in chunks of at most maxPackedA/kc, so the extra memory stays at a few
// MB whatever m is.
var maxPackedA = 1 << 20 // a variable for tests

// run computes the validated problem p (alpha ≠ 0, k > 0, m, n > 0).
//
// Rows are taken in chunks (see maxPackedA). For each chunk and each kc
// block of k, op(A) is packed once into micro-panels of mr rows, then tasks (a block of at most nc columns × a run of rows)
// each pack their kc×nc block of op(B), sized for L2, and sweep it with
// every A micro-panel of their rows, row of tiles by row of tiles: the A
// micro-panel stays in L1 along a row and C is written row-wise, so the
// rows of a tile never fight for one L1 set when ldc is a power of two.
func run[T float](kn *kernel[T], p *problem[T]) {
	workers := 1
	if p.m*p.n*p.k >= parallelMin {
		workers = runtime.GOMAXPROCS(0)
	}
	// A serial product reads op(A) (either way) and op(B) = B in place:
	// packing them costs about as much as the kernel on the small products
	// of a loss, and nothing is gained from it there.
	p.inPlace = workers == 1
	own := getWorkspace(kn)
	defer kn.pool.Put(own)
	chunk := max(kn.mr, maxPackedA/kn.kc/kn.mr*kn.mr)
	for i0 := 0; i0 < p.m; i0 += chunk {
		runRows(kn, p, own, workers, i0, min(chunk, p.m-i0))
	}
	if p.sym && !p.upper {
		if p.m*p.m < 1<<20 {
			workers = 1 // a copy this small is not worth a barrier
		}
		mirror(workers, p.c, p.ldc, p.m)
	}
}

// runRows computes rows [r0, r0+m) of C.
func runRows[T float](kn *kernel[T], p *problem[T], own *workspace[T], workers, r0, m int) {
	mr, nr := kn.mr, kn.nr
	n, k := p.n, p.k
	// The task grid: enough tasks for the workers to balance. Any grid
	// gives the same bits (see kernel), so it may follow the worker count.
	mcB, ncB := roundUp(m, mr), min(kn.nc, roundUp(n, nr))
	for want := 3 * workers; workers > 1 && ceilDiv(m, mcB)*ceilDiv(n, ncB) < want; {
		if ncB >= 8*nr {
			ncB = roundUp(ncB/2, nr)
		} else if mcB >= 16*mr {
			mcB = roundUp(mcB/2, mr)
		} else {
			break
		}
	}
	if workers > 1 {
		ncB = balance(n, nr, ncB, ceilDiv(m, mcB), workers)
	}
	colBlocks := ceilDiv(n, ncB)
	tasks := ceilDiv(m, mcB) * colBlocks
	own.a = grow(own.a, roundUp(m, mr)*min(kn.kc, k))
	for p0 := 0; p0 < k; p0 += kn.kc {
		kc := min(kn.kc, k-p0)
		// Packing A here, before the tasks start, costs a small fraction of
		// the product and saves a round of goroutines and a barrier.
		packed := own.a[:roundUp(m, mr)*kc] // packed row r0+i at i·kc
		if full := m / mr * mr; p.inPlace {
			// Only the last, partial panel is packed (zero-padded).
			packA(packed[full*kc:], p, r0+full, m-full, p0, kc, mr)
		} else {
			packA(packed, p, r0, m, p0, kc, mr)
		}
		mode := modeAdd
		if p0 == 0 {
			switch p.beta {
			case 0:
				mode = modeSet
			case 1:
			default:
				mode = modeScale
			}
		}
		parallelFor(kn, own, min(workers, tasks), tasks, func(ws *workspace[T], t int) {
			i0, j0 := (t/colBlocks)*mcB, (t%colBlocks)*ncB
			nc := min(ncB, n-j0)
			if p.sym && r0+i0 >= j0+nc {
				return // wholly below the diagonal: mirrored afterwards
			}
			sweep(kn, p, ws, packed[i0*kc:], p0, kc, r0+i0, min(mcB, m-i0), j0, nc, mode)
		})
	}
}

// balance returns the width of the column blocks (a multiple of nr, from
// 2·nr up to the larger of nc and the chosen ncB) that keeps workers
// busiest when the grid has few tasks: with rows row blocks, a grid of T
// tasks runs in about ⌈T/workers⌉ rounds, so 5 tasks on 2 workers leave
// one idle for a fifth of the product (a weight gradient of a 64-channel
// convolution is 5 blocks of 128 columns wide). Among the widths it
// prefers the most work per round, then the widest.
func balance(n, nr, ncB, rows, workers int) int {
	if ceilDiv(n, ncB)*rows >= 16*workers {
		return ncB // enough tasks: the imbalance is at most 1/16
	}
	best, bestEff := ncB, -1.0
	for w := max(ncB, 2*nr) / nr * nr; w >= min(ncB, 2*nr); w -= nr {
		tasks := ceilDiv(n, w) * rows
		rounds := ceilDiv(tasks, workers)
		eff := float64(n*rows) / float64(w*rounds*workers)
		if eff > bestEff+1e-9 {
			best, bestEff = w, eff
		}
	}
	return best
}

// mirrorBlock is the side of the square blocks that mirror copies.
const mirrorBlock = 32

// mirror copies the upper triangle of the n×n matrix c onto the lower one
// on up to nw goroutines (MirrorUpper serially). Entries below the diagonal
// that a tile computed already hold these bits; the copy makes C exactly
// symmetric whatever the kernel.
func mirror[T float](nw int, c []T, ldc, n int) {
	rowsBlocks := ceilDiv(n, mirrorBlock)
	workers.Each(min(nw, rowsBlocks), rowsBlocks, func(_, bi int) { mirrorRows(c, ldc, n, bi) })
}

// mirrorRows copies the entries of block row bi below the diagonal from
// their mirrors above it, a block transposed whole at a time so that the
// transposed reads stay in cache.
func mirrorRows[T float](c []T, ldc, n, bi int) {
	i0 := bi * mirrorBlock
	i1 := min(n, i0+mirrorBlock)
	for j0 := 0; j0 <= i0; j0 += mirrorBlock {
		for i := i0; i < i1; i++ {
			row := c[i*ldc : i*ldc+min(i, j0+mirrorBlock)]
			for j := j0; j < len(row); j++ {
				row[j] = c[j*ldc+i]
			}
		}
	}
}

// parallelFor calls fn(ws, i) for i in [0, count) on workers goroutines
// (workers.Each): the caller's, with ws = own, and workers−1 new ones, each
// with a workspace from the pool.
func parallelFor[T float](kn *kernel[T], own *workspace[T], n, count int, fn func(ws *workspace[T], i int)) {
	ws := make([]*workspace[T], max(1, min(n, count)))
	ws[0] = own
	workers.Each(len(ws), count, func(w, i int) {
		if ws[w] == nil {
			ws[w] = getWorkspace(kn)
		}
		fn(ws[w], i)
	})
	for _, w := range ws[1:] {
		if w != nil {
			kn.pool.Put(w)
		}
	}
}

func getWorkspace[T float](kn *kernel[T]) *workspace[T] {
	if ws, ok := kn.pool.Get().(*workspace[T]); ok {
		return ws
	}
	return &workspace[T]{tile: make([]T, kn.mr*kn.nr)}
}

// grow returns s resliced to n elements, reallocating when it is too short.
func grow[T float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// sweep computes the contribution of the kc block at p0 to the mc×nc block
// of C at (i0, j0): it packs the kc×nc block of op(B), then runs the
// micro-kernel on every tile with the A micro-panels of packedA (which
// starts at row i0).
func sweep[T float](kn *kernel[T], p *problem[T], ws *workspace[T], packedA []T, p0, kc, i0, mc, j0, nc, mode int) {
	mr, nr := kn.mr, kn.nr
	ws.b = grow(ws.b, roundUp(nc, nr)*kc)
	inB := p.inPlace && !p.transB && p.pack == nil
	if full := nc / nr * nr; inB {
		packB(ws.b[full*kc:], p, p0, kc, j0+full, nc-full, nr)
	} else {
		packB(ws.b, p, p0, kc, j0, nc, nr)
	}
	var alpha *T
	if p.alpha != 1 {
		alpha = &p.alpha
	}
	c, ldc := p.c, p.ldc
	for ir := i0; ir < i0+mc; ir += mr {
		rows := min(mr, i0+mc-ir)
		ap, ra, sa := packedA[(ir-i0)*kc:(ir-i0+mr)*kc], 1, mr
		switch {
		case !p.inPlace || rows < mr:
		case p.transA:
			ap, sa = p.a[p0*p.lda+ir:], p.lda // op(A)[ir+r][p0+l] = a[(p0+l)·lda + ir+r]
		default:
			ap, ra, sa = p.a[ir*p.lda+p0:], p.lda, 1 // op(A)[ir+r][p0+l] = a[(ir+r)·lda + p0+l]
		}
		jr := 0
		if p.sym {
			// Skip the tiles wholly below the diagonal (mirrored later).
			jr = max(0, (ir-j0)/nr*nr)
		}
		for ; jr < nc; jr += nr {
			cols := min(nr, nc-jr)
			bp, sb := ws.b[jr*kc:(jr+nr)*kc], nr
			if inB && cols == nr {
				bp, sb = p.b[p0*p.ldb+j0+jr:], p.ldb // op(B)[p0+l][j] = b[(p0+l)·ldb + j]
			}
			off := ir*ldc + j0 + jr
			full := rows == mr && cols == nr
			if full && mode == modeSet {
				kn.dot(kc, ap, ra, sa, bp, sb, c[off:], ldc, alpha)
				continue
			}
			if full && mode == modeAdd && kn.add != nil {
				kn.add(kc, ap, ra, sa, bp, sb, c[off:], ldc, alpha)
				continue
			}
			kn.dot(kc, ap, ra, sa, bp, sb, ws.tile, nr, nil)
			if full {
				kn.put(ws.tile, c[off:], ldc, p.alpha, p.beta, mode)
			} else {
				update(ws.tile, nr, c[off:], ldc, rows, cols, p.alpha, p.beta, mode)
			}
		}
	}
}

// update combines the rows×cols corner of the tile t (stride ldt) with C
// as mode says. The explicit conversions keep the compiler from fusing a
// product and a sum into one FMA, so the arithmetic is that of the vector
// kernels' full-tile stores.
func update[T float](t []T, ldt int, c []T, ldc, rows, cols int, alpha, beta T, mode int) {
	for r := range rows {
		tr, cr := t[r*ldt:r*ldt+cols], c[r*ldc:r*ldc+cols]
		switch mode {
		case modeSet:
			for j, v := range tr {
				cr[j] = alpha * v
			}
		case modeAdd:
			for j, v := range tr {
				cr[j] = cr[j] + T(alpha*v)
			}
		default:
			for j, v := range tr {
				cr[j] = T(beta*cr[j]) + T(alpha*v)
			}
		}
	}
}

// packA copies rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into
// micro-panels of mr rows: panel q holds, for each l in [0, kc), the mr
// values op(A)[i0+q·mr+r][p0+l] at dst[q·mr·kc + l·mr + r]. Rows past mc
// are zero.
func packA[T float](dst []T, p *problem[T], i0, mc, p0, kc, mr int) {
	if p.transA {
		// op(A)[i][l] = a[l·lda + i]: each row of the stored A gives
		// contiguous values of one l.
		packCopy(dst, p.a, p.lda, p0, kc, i0, mc, mr)
		return
	}
	packGather(dst, p.a, p.lda, i0, mc, p0, kc, mr)
}

// packB copies rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
// micro-panels of nr columns: panel q holds, for each l in [0, kc), the nr
// values op(B)[p0+l][j0+q·nr+c] at dst[q·nr·kc + l·nr + c]. Columns past nc
// are zero.
func packB[T float](dst []T, p *problem[T], p0, kc, j0, nc, nr int) {
	if p.pack != nil {
		p.pack(dst, p0, kc, j0, nc, nr)
		return
	}
	if p.transB {
		packGather(dst, p.b, p.ldb, j0, nc, p0, kc, nr)
		return
	}
	packCopy(dst, p.b, p.ldb, p0, kc, j0, nc, nr)
}

// packCopy packs panels of w columns [j0, j0+n) of rows [l0, l0+kc) of
// the row-major x (stride ld): dst[q·w·kc + l·w + c] = x[(l0+l)·ld + j0 +
// q·w + c], zero past n.
func packCopy[T float](dst, x []T, ld, l0, kc, j0, n, w int) {
	for q := 0; q < n; q += w {
		cols := min(w, n-q)
		d := dst[q*kc : (q+w)*kc]
		for l := range kc {
			dl := d[l*w : l*w+w]
			copy(dl, x[(l0+l)*ld+j0+q:][:cols])
			clear(dl[cols:])
		}
	}
}

// packGather packs panels of w rows [i0, i0+n) of columns [l0, l0+kc) of
// the row-major x (stride ld), transposed: dst[q·w·kc + l·w + r] =
// x[(i0+q+r)·ld + l0 + l], zero past n. It reads four rows side by side,
// writing four adjacent values of dst at a time.
func packGather[T float](dst, x []T, ld, i0, n, l0, kc, w int) {
	for q := 0; q < n; q += w {
		rows := min(w, n-q)
		d := dst[q*kc : (q+w)*kc]
		if rows < w {
			clear(d)
		}
		r := 0
		for ; r+4 <= rows; r += 4 {
			base := (i0+q+r)*ld + l0
			s0, s1 := x[base:][:kc], x[base+ld:][:kc]
			s2, s3 := x[base+2*ld:][:kc], x[base+3*ld:][:kc]
			for l := range kc {
				o := d[l*w+r:][:4]
				o[0], o[1], o[2], o[3] = s0[l], s1[l], s2[l], s3[l]
			}
		}
		for ; r < rows; r++ {
			src := x[(i0+q+r)*ld+l0:][:kc]
			dr := d[r:]
			for l, v := range src {
				dr[l*w] = v
			}
		}
	}
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

func ceilDiv(x, m int) int { return (x + m - 1) / m }
