package distances

import (
	"math"

	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

// Lp mirrors PML's LpDistance: the matrix is torch.cdist(query, ref, p)
// between the rows (each first divided by its P-norm when
// NormalizeEmbeddings), raised to Power. It is a distance: smaller means
// closer.
//
// For P = 2 the matrix comes from one GEMM (‖q‖² + ‖r‖² − 2q·r) with the
// entries where that formula cancels recomputed directly; with Power = 2 the
// squared distances are returned without a square root. Other values of P
// use a blocked loop over pairs. Rows of any finite magnitude give the
// right distances: normalisation scales its norms where their sums
// overflow or underflow, and without it the entries of rows whose squares
// would overflow or underflow the GEMM formula are computed from the
// scaled difference (see the package doc, Magnitudes). An entry whose
// value (to the power Power) exceeds float64's range is an error wrapping
// gometric.ErrNonFinite.
//
// The zero value is not PML's defaults (NormalizeEmbeddings false where
// PML normalises): it is refused with an error wrapping gometric.ErrSetting
// that names NewLp, as is any value NewLp did not make whose P or Power
// is 0. Make one with NewLp and set fields; a struct literal must set P
// and Power, and leaves NormalizeEmbeddings false unless it sets it. An
// Lp is safe for concurrent use by several goroutines while its fields
// are not being changed.
type Lp struct {
	// NormalizeEmbeddings divides every row by its P-norm first
	// (PML's normalize_embeddings, default true).
	NormalizeEmbeddings bool
	// P is the norm of the distance and of the normalisation: any finite
	// real >= 1 (PML's p, default 2).
	P float64
	// Power raises every distance to this finite, non-zero power
	// (PML's power, default 1).
	Power float64

	made bool // by NewLp
}

// NewLp returns an Lp distance with PML 2.8.1's LpDistance defaults:
// normalised embeddings, P = 2, Power = 1.
func NewLp() *Lp { return &Lp{NormalizeEmbeddings: true, P: 2, Power: 1, made: true} }

func (d *Lp) spec() spec {
	const name = "distances.Lp"
	if d == nil {
		return spec{name: name, nilRecv: true}
	}
	s := spec{name: name, kind: kindLp, normalize: d.NormalizeEmbeddings, p: d.P, power: d.Power}
	if !d.made && (d.P == 0 || d.Power == 0) {
		s.notMade = "NewLp"
	}
	return s
}

// Matrix returns the N×M matrix of Lp distances (to the power Power)
// between the rows of query and ref (ref nil: query). It mirrors
// LpDistance.forward.
func (d *Lp) Matrix(query, ref *mat.Dense) (*mat.Dense, error) {
	return d.spec().matrix(query, ref)
}

// MatrixVJP returns the gradients of a loss with respect to query and ref
// given grad, the gradient with respect to Matrix(query, ref); m is that
// matrix or nil. As for torch.cdist, a zero distance contributes no
// gradient.
func (d *Lp) MatrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	return d.spec().matrixVJP(query, ref, m, grad)
}

// Pairwise mirrors LpDistance.pairwise_distance, i.e.
// torch.nn.functional.pairwise_distance(x, y, p): ‖x_i − y_i + 1e-6‖_p for
// every row i, with neither normalisation nor Power, as in PML.
func (d *Lp) Pairwise(x, y *mat.Dense) ([]float64, error) {
	return d.spec().pairwise(x, y)
}

// PairwiseVJP returns the gradients of a loss with respect to x and y given
// grad[i], the gradient with respect to Pairwise(x, y)[i].
func (d *Lp) PairwiseVJP(x, y *mat.Dense, grad []float64) (dx, dy *mat.Dense, err error) {
	return d.spec().pairwiseVJP(x, y, grad)
}

// OpenSession implements SessionOpener: a session for Matrix(query, ref)
// with the same values, whose VJP reuses the normalised rows.
func (d *Lp) OpenSession(query, ref *mat.Dense) (Session, error) {
	return d.spec().open(d, query, ref)
}

// Settings returns the distance's settings (Inverted is false), or the
// zero Settings for a nil receiver.
func (d *Lp) Settings() Settings {
	if d == nil {
		return Settings{}
	}
	return Settings{NormalizeEmbeddings: d.NormalizeEmbeddings, P: d.P, Power: d.Power}
}

// lpMatrix sets out (any content on entry) to the matrix of p-norm
// distances between the rows of a and b (b ignored when self) by a blocked
// loop over pairs. A self matrix is computed once per pair and mirrored,
// with an exact zero diagonal.
func lpMatrix(out, a, b *mat.Dense, p float64, self bool) {
	if self {
		b = a
	}
	n, d := a.Dims()
	m, _ := b.Dims()
	raw := out.RawMatrix()
	parallelRows(n, m*d, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			ai := a.RawRowView(i)[:d]
			row := out.RawRowView(i)[:m]
			j0 := 0
			if self {
				row[i] = 0
				j0 = i + 1
			}
			for j := j0; j < m; j++ {
				v := lpDist(ai, b.RawRowView(j)[:d], p)
				row[j] = v
				if self {
					raw.Data[j*raw.Stride+i] = v
				}
			}
		}
	})
}

// lpDist returns (Σ|a−b|^p)^(1/p) for p != 2, as torch.cdist does: the
// plain sum, or where it overflows or underflows (rownorm.Safe) the scaled
// norm of a − b, right for any finite rows.
func lpDist(a, b []float64, p float64) float64 {
	var s float64
	switch p {
	case 1:
		// Overflows only when the distance does; adding subnormals is exact.
		for k, v := range a {
			s += math.Abs(v - b[k])
		}
		return s
	case 3:
		for k, v := range a {
			e := math.Abs(v - b[k])
			s += e * e * e
		}
	default:
		for k, v := range a {
			s += math.Pow(math.Abs(v-b[k]), p)
		}
	}
	if !rownorm.Safe(s) {
		return rownorm.ScaledDiff(a, b, p)
	}
	return math.Pow(s, 1/p)
}

// accPhi adds c·sign(e)|e|^(p−1) to dst, e = x − y elementwise: c times the
// gradient of Σ|e|^p / p.
func accPhi(dst, x, y []float64, c, p float64) {
	switch p {
	case 1:
		for k, v := range x {
			e := v - y[k]
			if e > 0 {
				dst[k] += c
			} else if e < 0 {
				dst[k] -= c
			}
		}
	case 3:
		for k, v := range x {
			e := v - y[k]
			dst[k] += c * e * math.Abs(e)
		}
	default:
		for k, v := range x {
			e := v - y[k]
			switch {
			case e > 0:
				dst[k] += c * math.Pow(e, p-1)
			case e < 0:
				dst[k] -= c * math.Pow(-e, p-1)
			}
		}
	}
}

// unitPhi is an entry of the Lp VJP for p != 2 whose coefficient
// g·d(m)/d(dist)/dist^(p−1) would overflow or underflow: it is added as
// c·sign(e)(|e|/dist)^(p−1) (accPhiUnit).
type unitPhi struct {
	i, j    int
	c, dist float64
}

// accPhiUnit adds c·sign(e)(|e|/dist)^(p−1) to dst, e = x − y
// elementwise: accPhi with the coefficient c/dist^(p−1) taken apart, for
// magnitudes where it would overflow or underflow.
func accPhiUnit(dst, x, y []float64, c, dist, p float64) {
	y, dst = y[:len(x)], dst[:len(x)]
	if p == 3 {
		for k, v := range x {
			e := (v - y[k]) / dist
			dst[k] += c * e * math.Abs(e)
		}
		return
	}
	for k, v := range x {
		e := v - y[k]
		switch {
		case e > 0:
			dst[k] += c * math.Pow(e/dist, p-1)
		case e < 0:
			dst[k] -= c * math.Pow(-e/dist, p-1)
		}
	}
}

// lpVJP adds the VJP of the Lp matrix for p != 2 (see lpMatrix), with
// respect to the normalised rows, to dq and dr (nil when self).
func lpVJP(in *inputs, m, g *mat.Dense, p, power float64, dq, dr *mat.Dense, ar *arena) {
	a, b := in.qn, in.rn
	n, m2, d := in.n, in.m, in.d
	// c_ij = g_ij · d(m)/d(dist) / dist^(p−1): the coefficient of
	// sign(e)|e|^(p−1) in the gradient of entry (i, j).
	c := ar.zeroed(n, m2)
	units := make([][]unitPhi, numBlocks(n))
	parallelRows(n, m2, func(blk, lo, hi int) {
		for i := lo; i < hi; i++ {
			gi, mi, ci := g.RawRowView(i)[:m2], m.RawRowView(i)[:m2], c.RawRowView(i)[:m2]
			for j, gij := range gi {
				if gij == 0 {
					continue
				}
				if power != 1 && !(mi[j] >= rownorm.Tiny) {
					// See lp2VJP: the distance from the rows.
					if c, dist, ok := in.exactDist(i, j, gij, power, p); ok {
						units[blk] = append(units[blk], unitPhi{i, j, c, dist})
					}
					continue
				}
				dist := root(mi[j], power)
				if dist == 0 {
					continue
				}
				w := gij * powGrad(dist, power)
				if p != 1 {
					dp := math.Pow(dist, p-1)
					if q := math.Abs(w / dp); !rownorm.Safe(dp) || !rownorm.Safe(q) {
						units[blk] = append(units[blk], unitPhi{i, j, w, dist})
						continue
					}
					w /= dp
				}
				ci[j] = w
			}
		}
	})
	defer func() {
		// The entries of extreme magnitude, one by one.
		for _, blk := range units {
			for _, e := range blk {
				ai, bj := a.RawRowView(e.i)[:d], b.RawRowView(e.j)[:d]
				accPhiUnit(dq.RawRowView(e.i)[:d], ai, bj, e.c, e.dist, p)
				if in.self {
					accPhiUnit(dq.RawRowView(e.j)[:d], ai, bj, -e.c, e.dist, p)
				} else {
					accPhiUnit(dr.RawRowView(e.j)[:d], ai, bj, -e.c, e.dist, p)
				}
			}
		}
	}()
	if in.self {
		symmetrize(c)
		b = a
	}
	parallelRows(n, m2*d, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			ai, di, ci := a.RawRowView(i)[:d], dq.RawRowView(i)[:d], c.RawRowView(i)[:m2]
			for j, cij := range ci {
				if cij != 0 {
					accPhi(di, ai, b.RawRowView(j)[:d], cij, p)
				}
			}
		}
	})
	if in.self {
		return
	}
	ct := ar.dirty(m2, n)
	ct.Copy(c.T())
	parallelRows(m2, n*d, func(_, lo, hi int) {
		for j := lo; j < hi; j++ {
			bj, dj, cj := b.RawRowView(j)[:d], dr.RawRowView(j)[:d], ct.RawRowView(j)[:n]
			for i, cij := range cj {
				if cij != 0 {
					accPhi(dj, a.RawRowView(i)[:d], bj, -cij, p)
				}
			}
		}
	})
}

// lp2VJP adds the VJP of the p = 2 Lp matrix with respect to the
// normalised rows to dq and dr (nil when self): entry (i, j) contributes
// w_ij (q_i − r_j) with w_ij = g_ij · d(m)/d(dist) / dist, gathered by one
// GEMM per output, or added entry by entry when few are non-zero; the
// entries where the GEMM form would cancel are always added directly.
func lp2VJP(in *inputs, m, g *mat.Dense, power float64, dq, dr *mat.Dense, ar *arena) {
	a, b := in.qn, in.rn
	na, nb := in.sqNorms()
	m2 := in.m
	w := ar.dirty(in.n, m2)
	es := newEntries(in.n, m2)
	defer putEntries(es)
	parallelRows(in.n, m2, func(blk, lo, hi int) {
		e := &es[blk]
		for i := lo; i < hi; i++ {
			gi, mi, wi := g.RawRowView(i)[:m2], m.RawRowView(i)[:m2], w.RawRowView(i)[:m2]
			for j, gij := range gi {
				wi[j] = 0
				if gij == 0 {
					continue
				}
				if power != 1 && !(mi[j] >= rownorm.Tiny) {
					// The powered entry has lost bits to underflow (or
					// overflow, for a negative power): the distance is
					// recomputed from the rows, and the entry added
					// directly.
					if c, dist, ok := in.exactDist(i, j, gij, power, 2); ok {
						e.near = append(e.near, near{i, j, c / dist})
					}
					continue
				}
				wij, ok := lp2Weight(gij, mi[j], power)
				if !ok {
					continue
				}
				var sq float64
				switch power {
				case 2:
					sq = mi[j]
				case 1:
					sq = mi[j] * mi[j]
				default:
					dist := root(mi[j], power)
					sq = dist * dist
				}
				if sq < guardRatio*(na[i]+nb[j]) {
					e.near = append(e.near, near{i, j, wij})
					continue
				}
				wi[j] = wij
				e.add(i, j, wij)
			}
		}
	})
	projA, projB := projected(in.qNorms), projected(in.rNorms)
	if in.self {
		projB = projA
	}
	diffVJP(a, b, w, es, in.self, nil, nil, nil, dq, dr, projA, projB)
}

// projected marks the normalised rows (norms non-nil) whose clamp is not
// active: the VJP of their normalisation projects out any component along
// the row (see diffVJP). It returns nil when norms is nil.
func projected(norms []float64) []bool {
	if norms == nil {
		return nil
	}
	out := make([]bool, len(norms))
	for i, n := range norms {
		out[i] = n > rownorm.Eps
	}
	return out
}

// exactDist returns the distance between the normalised rows q_i and r_j
// computed from them (right at any magnitude) and c = g·d(m)/d(dist)
// there, for an entry whose powered value m_ij lost bits to underflow or
// overflow; false at a zero distance (and on the diagonal of a self
// matrix), where there is no gradient.
func (in *inputs) exactDist(i, j int, g, power, p float64) (c, dist float64, ok bool) {
	if in.self && i == j {
		return 0, 0, false
	}
	a, b := in.qn.RawRowView(i)[:in.d], in.rn.RawRowView(j)[:in.d]
	if p == 2 {
		dist = lpExact(a, b, true)
	} else {
		dist = lpDist(a, b, p)
	}
	if dist == 0 {
		return 0, 0, false
	}
	return g * powGrad(dist, power), dist, true
}

// lp2Weight returns w such that entry (i, j) of the p = 2 Lp matrix,
// m_ij, contributes w·(q_i − r_j) to the gradient of q_i given
// g = d(loss)/d(m_ij): g·d(m)/d(dist)/dist. It returns false at a zero
// distance, where there is no gradient (as for torch.cdist).
func lp2Weight(g, mij, power float64) (float64, bool) {
	switch power {
	case 2:
		// m holds squared distances: d(m)/dq = 2(q − r).
		return 2 * g, mij != 0
	case 1:
		return g / mij, mij != 0
	}
	dist := root(mij, power)
	return g * powGrad(dist, power) / dist, dist != 0
}
