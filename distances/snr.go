package distances

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"gonum.org/v1/gonum/mat"
)

// SNR mirrors PML's SNRDistance, the signal-to-noise-ratio distance: entry
// (i, j) is var(q_i − r_j) / var(q_i) between the rows (each first divided
// by its P-norm when NormalizeEmbeddings), with torch's unbiased variance,
// raised to Power. It is a distance: smaller means closer. Rows need at
// least 2 columns, and a query row of zero variance is an error (PML would
// return inf or NaN).
//
// The matrix comes from one GEMM on the centred rows; the entries where
// that formula cancels are recomputed directly. The matrix does not change
// when query and ref are multiplied by one number: where the centred rows'
// squares would overflow or underflow, both are multiplied by a power of
// two first (exact), and rows that differ in magnitude beyond what float64
// can then hold are an error wrapping gometric.ErrNonFinite.
//
// The zero value is not PML's defaults (NormalizeEmbeddings false where
// PML normalises): it is refused with an error wrapping gometric.ErrSetting
// that names NewSNR, as is any value NewSNR did not make whose P or Power
// is 0. Make one with NewSNR and set fields; a struct literal must set P
// and Power, and leaves NormalizeEmbeddings false unless it sets it. An
// SNR is safe for concurrent use by several goroutines while its fields
// are not being changed.
type SNR struct {
	// NormalizeEmbeddings divides every row by its P-norm first
	// (PML's normalize_embeddings, default true).
	NormalizeEmbeddings bool
	// P is the norm of the normalisation: any finite real >= 1
	// (PML's p, default 2).
	P float64
	// Power raises every distance to this finite, non-zero power
	// (PML's power, default 1).
	Power float64

	made bool // by NewSNR
}

// NewSNR returns an SNR distance with PML 2.8.1's SNRDistance defaults:
// normalised embeddings, P = 2, Power = 1.
func NewSNR() *SNR { return &SNR{NormalizeEmbeddings: true, P: 2, Power: 1, made: true} }

func (d *SNR) spec() spec {
	const name = "distances.SNR"
	if d == nil {
		return spec{name: name, nilRecv: true}
	}
	s := spec{name: name, kind: kindSNR, normalize: d.NormalizeEmbeddings, p: d.P, power: d.Power}
	if !d.made && (d.P == 0 || d.Power == 0) {
		s.notMade = "NewSNR"
	}
	return s
}

// Matrix returns the N×M matrix of SNR distances (to the power Power)
// between the rows of query and ref (ref nil: query). It mirrors
// SNRDistance.forward.
func (d *SNR) Matrix(query, ref *mat.Dense) (*mat.Dense, error) {
	return d.spec().matrix(query, ref)
}

// MatrixVJP returns the gradients of a loss with respect to query and ref
// given grad, the gradient with respect to Matrix(query, ref); m is that
// matrix or nil.
func (d *SNR) MatrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	return d.spec().matrixVJP(query, ref, m, grad)
}

// Pairwise mirrors SNRDistance.pairwise_distance: var(x_i − y_i)/var(x_i)
// for every row i, with neither normalisation nor Power, as in PML.
func (d *SNR) Pairwise(x, y *mat.Dense) ([]float64, error) {
	return d.spec().pairwise(x, y)
}

// PairwiseVJP returns the gradients of a loss with respect to x and y given
// grad[i], the gradient with respect to Pairwise(x, y)[i].
func (d *SNR) PairwiseVJP(x, y *mat.Dense, grad []float64) (dx, dy *mat.Dense, err error) {
	return d.spec().pairwiseVJP(x, y, grad)
}

// OpenSession implements SessionOpener: a session for Matrix(query, ref)
// with the same values, whose VJP reuses the normalised rows.
func (d *SNR) OpenSession(query, ref *mat.Dense) (Session, error) {
	return d.spec().open(d, query, ref)
}

// Settings returns the distance's settings (Inverted is false), or the
// zero Settings for a nil receiver.
func (d *SNR) Settings() Settings {
	if d == nil {
		return Settings{}
	}
	return Settings{NormalizeEmbeddings: d.NormalizeEmbeddings, P: d.P, Power: d.Power}
}

// centred returns a copy of a, from ar, with every row minus its mean.
func centred(a *mat.Dense, ar *arena) *mat.Dense {
	n, d := a.Dims()
	out := ar.dirty(n, d)
	for i := 0; i < n; i++ {
		centre(out.RawRowView(i)[:d], a.RawRowView(i)[:d])
	}
	return out
}

// centre sets dst to src minus its mean (dst may be src). A constant row
// becomes exactly zero.
func centre(dst, src []float64) {
	constant := true
	for _, v := range src[1:] {
		if v != src[0] {
			constant = false
			break
		}
	}
	if constant {
		clear(dst)
		return
	}
	mu := mean(src)
	// One correction step: mu + mean(x − mu) is the mean to about an ulp
	// even when the plain sum rounds.
	var c float64
	for _, v := range src {
		c += v - mu
	}
	mu += c / float64(len(src))
	for k, v := range src {
		dst[k] = v - mu
	}
}

// centreRows subtracts its mean from every row of g in place: the VJP of
// centring.
func centreRows(g *mat.Dense) {
	n, d := g.Dims()
	for i := 0; i < n; i++ {
		row := g.RawRowView(i)[:d]
		mu := mean(row)
		for k := range row {
			row[k] -= mu
		}
	}
}

// snrParts holds the rows an SNR matrix is computed from.
type snrParts struct {
	qn, rn *mat.Dense // the (normalised) rows, times 2^-exp
	qc, rc *mat.Dense // the same, centred
	a, b   []float64  // the squared norms of the centred rows
	exp    int        // the rows were multiplied by 2^-exp (0: as given)
}

// snrParts returns the centred rows and their squared norms, checking the
// query rows for zero variance. The SNR matrix does not change when query
// and ref are multiplied by the same number: when a centred row's sum of
// squares overflows or underflows (gemmSafe), both are multiplied by
// the power of two that brings their largest centred entry to [0.5, 1),
// which is exact. Rows that differ in magnitude by more than that can
// hold (a centred row then still overflows or underflows) are an error.
func (s spec) snrParts(in *inputs, ar *arena) (*snrParts, error) {
	sp := &snrParts{qn: in.qn, rn: in.rn}
	sp.centre(in.self, ar)
	if mx := math.Max(maxAbs(sp.qc), maxAbs(sp.rc)); mx <= math.MaxFloat64 && (!sp.safe()) {
		// (A NaN or ±Inf from the inputs is left to the callers' checks.)
		_, e := math.Frexp(mx)
		sp.exp = e
		sp.qn = ldexpCopy(in.qn, -e, ar)
		sp.rn = sp.qn
		if !in.self {
			sp.rn = ldexpCopy(in.rn, -e, ar)
		}
		sp.centre(in.self, ar)
		if !sp.safe() {
			return nil, check.Errorf(s.name, gometric.ErrNonFinite,
				"the rows differ in magnitude beyond float64's range (a centred row's sum of squares overflows or underflows even after scaling by 2^%d)", -e)
		}
	}
	for i, v := range sp.a {
		if v == 0 {
			return nil, s.zeroVariance("query", i)
		}
	}
	return sp, nil
}

// centre sets qc, rc, a and b from qn and rn.
func (sp *snrParts) centre(self bool, ar *arena) {
	sp.qc = centred(sp.qn, ar)
	sp.a = sqNorms(sp.qc)
	sp.rc, sp.b = sp.qc, sp.a
	if !self {
		sp.rc = centred(sp.rn, ar)
		sp.b = sqNorms(sp.rc)
	}
}

// safe reports whether every squared norm of the centred rows is gemmSafe,
// or 0 for a row that is exactly zero (a constant row: not one whose
// squares underflow).
func (sp *snrParts) safe() bool {
	return snrSafe(sp.a, sp.qc) && snrSafe(sp.b, sp.rc)
}

func snrSafe(sq []float64, c *mat.Dense) bool {
	_, d := c.Dims()
	for i, v := range sq {
		if !gemmSafe(v) && (v != 0 || !allZero(c.RawRowView(i)[:d])) {
			return false
		}
	}
	return true
}

// maxAbs returns the largest magnitude in m (NaN if m holds one).
func maxAbs(m *mat.Dense) float64 {
	r, c := m.Dims()
	var out float64
	for i := 0; i < r; i++ {
		for _, v := range m.RawRowView(i)[:c] {
			if a := math.Abs(v); a > out || a != a {
				out = a
			}
		}
	}
	return out
}

// ldexpCopy returns a copy of m, from ar, with every entry times 2^e
// (exact but where an entry underflows).
func ldexpCopy(m *mat.Dense, e int, ar *arena) *mat.Dense {
	r, c := m.Dims()
	out := ar.dirty(r, c)
	for i := 0; i < r; i++ {
		dst := out.RawRowView(i)[:c]
		for k, v := range m.RawRowView(i)[:c] {
			dst[k] = math.Ldexp(v, e)
		}
	}
	return out
}

// ldexpInPlace multiplies every entry of m by 2^e.
func ldexpInPlace(m *mat.Dense, e int) {
	r, c := m.Dims()
	for i := 0; i < r; i++ {
		row := m.RawRowView(i)[:c]
		for k, v := range row {
			row[k] = math.Ldexp(v, e)
		}
	}
}

// snrMatrix sets out to the raw SNR matrix ‖qc_i − rc_j‖² / ‖qc_i‖² (the
// (D−1) of both variances cancels).
func (s spec) snrMatrix(in *inputs, out *mat.Dense, ar *arena) error {
	sp, err := s.snrParts(in, ar)
	if err != nil {
		return err
	}
	_, d := in.qn.Dims()
	qn, rn, a := sp.qn, sp.rn, sp.a
	sqDists(out, sp.qc, sp.rc, sp.a, sp.b, in.self, func(i, j int) float64 {
		// As torch does: the variance of the difference itself, which is
		// exact for near-identical rows.
		return centredSqDiff(qn.RawRowView(i)[:d], rn.RawRowView(j)[:d])
	}, false, true)
	m := in.m
	parallelRows(in.n, m, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := out.RawRowView(i)[:m]
			for j := range row {
				row[j] /= a[i]
			}
		}
	})
	return nil
}

// snrVJP adds the VJP of the SNR matrix with respect to the normalised
// rows to dq and dr (nil when self). With raw_ij = ‖qc_i − rc_j‖²/A_i and
// v_ij = 2·g_ij·d(m)/d(raw)/A_i, entry (i, j) contributes
// v_ij(qc_i − rc_j) − v_ij·raw_ij·qc_i to dqc_i and −v_ij(qc_i − rc_j) to
// drc_j; the centring VJP follows.
func (s spec) snrVJP(in *inputs, m, g, dq, dr *mat.Dense, ar *arena) error {
	sp, err := s.snrParts(in, ar)
	if err != nil {
		return err
	}
	qc, rc, a, b := sp.qc, sp.rc, sp.a, sp.b
	m2 := in.m
	v := ar.dirty(in.n, m2)
	extra := make([]float64, in.n)
	es := newEntries(in.n, m2)
	defer putEntries(es)
	parallelRows(in.n, m2, func(blk, lo, hi int) {
		e := &es[blk]
		for i := lo; i < hi; i++ {
			gi, mi, vi := g.RawRowView(i)[:m2], m.RawRowView(i)[:m2], v.RawRowView(i)[:m2]
			for j, gij := range gi {
				vi[j] = 0
				if gij == 0 {
					continue
				}
				raw, dm := mi[j], 1.0
				if s.power != 1 {
					raw = root(raw, s.power)
					dm = powGrad(raw, s.power)
				}
				if raw == 0 {
					// q_i − r_j is constant: no gradient.
					continue
				}
				vij := 2 * gij * dm / a[i]
				extra[i] -= vij * raw
				if raw*a[i] < guardRatio*(a[i]+b[j]) {
					e.near = append(e.near, near{i, j, vij})
					continue
				}
				vi[j] = vij
				e.add(i, j, vij)
			}
		}
	})
	// Near (and sparse) entries use the uncentred rows, whose difference is
	// exact; the centring VJP below removes its mean. dq and dr hold only
	// this VJP: the caller passes them zeroed.
	diffVJP(qc, rc, v, es, in.self, extra, sp.qn, sp.rn, dq, dr, nil, nil)
	centreRows(dq)
	if dr != nil {
		centreRows(dr)
	}
	if sp.exp != 0 {
		// m(x) = m̃(x·2^-exp): the gradient is 2^-exp times m̃'s.
		ldexpInPlace(dq, -sp.exp)
		if dr != nil {
			ldexpInPlace(dr, -sp.exp)
		}
	}
	return nil
}

// centredSqDiff returns Σ(e − mean(e))² for e = a − b, without storing e
// (the corrected two-pass formula).
func centredSqDiff(a, b []float64) float64 {
	var mu float64
	for k, v := range a {
		mu += v - b[k]
	}
	mu /= float64(len(a))
	var s, c float64
	for k, v := range a {
		e := v - b[k] - mu
		s += e * e
		c += e
	}
	return s - c*c/float64(len(a))
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}
