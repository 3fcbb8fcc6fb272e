// The shared pieces of the matrix VJPs: sparse and near entries, the
// difference-form VJP, and the derivatives of Power.

package distances

import (
	"math"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// near is a matrix entry whose VJP contribution is added directly rather
// than through the GEMM.
type near struct {
	i, j int
	w    float64
}

// sparseDiv decides when a VJP weight matrix is sparse enough to skip the
// GEMM: when at most one entry in sparseDiv is non-zero, the entries are
// added one by one (2·D multiply-adds each, against 2·N·M·D for the GEMM,
// which runs about sparseDiv times faster per multiply-add).
const sparseDiv = 16

// entries collects the non-zero entries of a VJP weight matrix for one
// block of rows, written by one goroutine: the near entries, which are
// always added directly, and, while there are few, all the others, so that
// a sparse weight matrix can skip the GEMM.
type entries struct {
	near, sparse []near
	dense        bool // too many entries for the sparse path
	limit        int  // most sparse entries the block keeps
}

// newEntries returns one entries per block of rows of an n×m weight
// matrix, with the sparse limit set; putEntries hands it back.
func newEntries(n, m int) []entries {
	nb := numBlocks(n)
	var es []entries
	if p, ok := entriesPool.Get().(*[]entries); ok && cap(*p) >= nb {
		es = (*p)[:nb]
	} else {
		es = make([]entries, nb)
	}
	for b := range es {
		rows := min(n, (b+1)*blockRows) - b*blockRows
		es[b] = entries{near: es[b].near[:0], sparse: es[b].sparse[:0], limit: rows * m / sparseDiv}
	}
	return es
}

var entriesPool sync.Pool

func putEntries(es []entries) { entriesPool.Put(&es) }

// add records a non-near entry, which is also in the weight matrix.
func (e *entries) add(i, j int, w float64) {
	if e.dense {
		return
	}
	if len(e.sparse) >= e.limit {
		e.dense = true
		return
	}
	e.sparse = append(e.sparse, near{i, j, w})
}

// sparse reports whether every block kept all its entries.
func sparse(es []entries) bool {
	for i := range es {
		if es[i].dense {
			return false
		}
	}
	return true
}

// diffVJP adds to dA and dB
//
//	dA_i = Σ_j w_ij (a_i − b_j) + extra_i a_i,   dB_j = −Σ_i w_ij (a_i − b_j)
//
// where w holds the non-near entries and es the near ones (whose w_ij must
// be 0 in w), added directly as w·(ea_i − eb_j); ea and eb (nil: a and b)
// are rows whose difference is a_i − b_j, or equals it up to a component
// the caller projects out afterwards. With self, b is a and dA receives
// both sums (dB is nil). When every block kept its entries (see entries)
// they are all added directly; otherwise the sums come from one GEMM per
// output and w is overwritten. extra may be nil.
//
// projA and projB (nil: none; with self, projA serves both) mark the rows
// whose gradient the caller projects onto the plane orthogonal to the
// row (the VJP of a normalisation whose clamp is not active): the
// components w_ij·a_i of dA_i and w_ij·b_j of dB_j along the row itself
// are then left out of the sparse and GEMM sums, which is exact after the
// projection and keeps a small orthogonal part (rows against much shorter
// rows) from being lost to rounding against them. Near entries keep the
// difference form, exact where a_i ≈ b_j.
func diffVJP(a, b, w *mat.Dense, es []entries, self bool, extra []float64, ea, eb, dA, dB *mat.Dense, projA, projB []bool) {
	if ea == nil {
		ea, eb = a, b
	}
	if self {
		b, eb, projB = a, ea, projA
	}
	n, d := a.Dims()
	m, _ := b.Dims()
	// rows returns the rows of an entry and their gradient rows.
	rows := func(e near) (ai, bj, gi, gj []float64) {
		ai, bj = ea.RawRowView(e.i)[:d], eb.RawRowView(e.j)[:d]
		gi = dA.RawRowView(e.i)[:d]
		if self {
			gj = dA.RawRowView(e.j)[:d]
		} else {
			gj = dB.RawRowView(e.j)[:d]
		}
		return ai, bj[:len(ai)], gi[:len(ai)], gj[:len(ai)]
	}
	direct := func(e near) {
		ai, bj, gi, gj := rows(e)
		for k, v := range ai {
			t := e.w * (v - bj[k])
			gi[k] += t
			gj[k] -= t
		}
	}
	// sparseEntry is direct for a sparse (not near) entry: the same sums,
	// without the components along projected rows.
	sparseEntry := direct
	if projA != nil || projB != nil {
		sparseEntry = func(e near) {
			pi, pj := projA != nil && projA[e.i], projB != nil && projB[e.j]
			if !pi && !pj {
				direct(e)
				return
			}
			ai, bj, gi, gj := rows(e)
			fa, fb := 1.0, 1.0
			if pi {
				fa = 0
			}
			if pj {
				fb = 0
			}
			for k, v := range ai {
				gi[k] += e.w * (fa*v - bj[k])
				gj[k] -= e.w * (v - fb*bj[k])
			}
		}
	}
	if sparse(es) {
		if extra != nil {
			addScaledRows(dA, a, extra)
		}
		for bi := range es {
			for _, e := range es[bi].sparse {
				if self {
					var ok bool
					if e.w, ok = mirrored(w, e); !ok {
						continue
					}
				}
				sparseEntry(e)
			}
			for _, e := range es[bi].near {
				direct(e)
			}
		}
		return
	}
	rs := make([]float64, n)
	cs := make([]float64, m)
	for i := 0; i < n; i++ {
		row := w.RawRowView(i)[:m]
		var s float64
		for j, v := range row {
			s += v
			cs[j] += v
		}
		rs[i] = s
		if extra != nil {
			rs[i] += extra[i]
		}
	}
	if self {
		for i := range rs {
			rs[i] += cs[i]
		}
		symmetrize(w)
		// w is exactly symmetric now: wᵀ·a has the bits of w·a, and the
		// GEMM packs a transposed operand with contiguous copies.
		gemmAcc(dA, true, -1, w, a)
	} else {
		gemmAcc(dA, false, -1, w, b)
		gemmAcc(dB, true, -1, w, a)
		dropProjected(cs, projB)
		addScaledRows(dB, b, cs)
	}
	dropProjected(rs, projA)
	addScaledRows(dA, a, rs)
	for bi := range es {
		for _, e := range es[bi].near {
			direct(e)
		}
	}
}

// dropProjected zeroes the coefficients of the projected rows (see
// diffVJP).
func dropProjected(coef []float64, proj []bool) {
	for i, p := range proj {
		if p {
			coef[i] = 0
		}
	}
}

// mirrored returns the weight with which the sparse entry e of a self VJP
// weight matrix w is added: entries (i, j) and (j, i) weigh the same
// difference (or product), so they are added once, together, as the one
// above the diagonal. It returns false for an entry its mirror carries.
func mirrored(w *mat.Dense, e near) (float64, bool) {
	if e.i == e.j {
		return e.w, true
	}
	raw := w.RawMatrix()
	o := raw.Data[e.j*raw.Stride+e.i]
	if e.i > e.j {
		return e.w, o == 0
	}
	return e.w + o, true
}

// symmetrize replaces the square matrix w by w + wᵀ, in tiles of
// symTile×symTile so that the column reads of the transposed tile stay in
// a few cache lines and pages (a plain row-by-column sweep strides the
// whole matrix for every row). Each sum is w_ij + w_ji, whatever the tile.
func symmetrize(w *mat.Dense) {
	n, _ := w.Dims()
	raw := w.RawMatrix()
	data, st := raw.Data, raw.Stride
	for i0 := 0; i0 < n; i0 += symTile {
		i1 := min(n, i0+symTile)
		// The diagonal tile.
		for i := i0; i < i1; i++ {
			ri := data[i*st:]
			ri[i] *= 2
			for j := i + 1; j < i1; j++ {
				s := ri[j] + data[j*st+i]
				ri[j], data[j*st+i] = s, s
			}
		}
		for j0 := i1; j0 < n; j0 += symTile {
			j1 := min(n, j0+symTile)
			for i := i0; i < i1; i++ {
				ri := data[i*st+j0 : i*st+j1]
				for k := range ri {
					p := (j0+k)*st + i
					s := ri[k] + data[p]
					ri[k], data[p] = s, s
				}
			}
		}
	}
}

// symTile is symmetrize's tile: one cache line of float64s. Wider tiles
// read their transposed columns from rows a power-of-two stride apart,
// which share a few sets of the L1 cache and evict each other (about twice
// as slow at 32 on a 256×256 matrix).
const symTile = 8

// addScaledRows adds s_i·x_i to row i of dst.
func addScaledRows(dst, x *mat.Dense, s []float64) {
	_, d := x.Dims()
	for i, c := range s {
		if c == 0 {
			continue
		}
		xi, di := x.RawRowView(i)[:d], dst.RawRowView(i)[:d]
		for k, v := range xi {
			di[k] += c * v
		}
	}
}

// root inverts v = x^power for x ≥ 0.
func root(v, power float64) float64 {
	switch power {
	case 1:
		return v
	case 2:
		return math.Sqrt(v)
	}
	return math.Pow(v, 1/power)
}

// powGrad returns power·x^(power−1), the derivative of x^power.
func powGrad(x, power float64) float64 {
	switch power {
	case 1:
		return 1
	case 2:
		return 2 * x
	}
	return power * math.Pow(x, power-1)
}
