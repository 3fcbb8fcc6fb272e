package distances

import (
	"math"
	"reflect"
	"runtime"
	"sync"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/pairdist"
	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

// Entry is one entry of the gradient of a loss with respect to a distance
// matrix: G = d(loss)/d(entry (I, J)), I indexing a query row and J a ref
// row (see Session.BackwardEntries). It is a plain value, safe for
// concurrent use (copy and read it freely); the zero Entry adds nothing.
type Entry struct {
	I, J int
	G    float64
}

// Session is the distance matrix between query rows and ref rows (ref nil:
// query, "ref is query"), kept with what its vector-Jacobian product needs,
// for a loss that computes the matrix once and back-propagates through it
// once or more. It is what package losses uses for every loss built on a
// distance matrix; NewSession opens one for any Distance.
//
// A session is not safe for concurrent use. Its matrix belongs to it: it
// must not be modified, and not be used after Release. After Release,
// Matrix and Upper return nil and the other methods an error.
type Session interface {
	// Distance returns the distance the session was opened for: the
	// receiver of OpenSession. NewSession uses a session only when it is
	// the very distance it was given (see SessionOpener).
	Distance() Distance
	// Matrix returns the N×M matrix, as the distance's Matrix method would
	// (the same values, up to rounding for the sessions of this package
	// only where a method says so).
	Matrix() *mat.Dense
	// Upper returns the matrix Matrix returns, but when Symmetric only its
	// entries on and above the diagonal are certain to be set until Matrix
	// is called (which then mirrors them): a loss that only reads those
	// saves the copy.
	Upper() *mat.Dense
	// Symmetric reports whether the matrix is exactly symmetric as a
	// function of the rows (ref is query and the distance is symmetric),
	// so that the gradients of entries (i, j) and (j, i) may be merged in
	// BackwardEntries.
	Symmetric() bool
	// Backward adds d(loss)/d(query) to dq (N×D) and d(loss)/d(ref) to dr
	// (shaped as ref; not read when ref is query, and then dq receives both
	// roles: pass nil), given gm = d(loss)/d(Matrix()), N×M, as MatrixVJP
	// computes them. gm is not modified; Backward may be called more than
	// once. Shapes are checked (gometric.ErrShape), values are not: a NaN or
	// ±Inf in gm reaches dq and dr, which the caller checks.
	Backward(gm, dq, dr *mat.Dense) error
	// BackwardEntries is Backward for a gm given by its non-zero entries
	// (an entry listed twice counts twice), for gradients that are mostly
	// zero. When Symmetric, an entry (i, j) may carry the gradient of
	// (j, i) too: listing such pairs once, with the sum, halves the work.
	// An index outside the matrix is an error wrapping gometric.ErrIndex.
	BackwardEntries(entries []Entry, dq, dr *mat.Dense) error
	// Release hands the session's buffers back to the pool the sessions
	// of this package share. Neither the session nor its matrix may be
	// used afterwards. Not calling it is safe: the buffers are then left
	// to the garbage collector.
	Release()
}

// SessionOpener is the optional interface of a Distance that can open a
// Session faster than one built on its Matrix and MatrixVJP methods.
// NewSession uses it; a Distance of your own need not implement it.
//
// Every distance of this package implements it. Lp, DotProductSimilarity,
// CosineSimilarity and SNR open sessions that keep the normalised rows
// from the matrix to its VJP, take their buffers from a shared pool, do
// not re-scan inputs whose row norms show them finite, and back-propagate
// sparse gradients entry by entry; a normalising DotProductSimilarity or
// a CosineSimilarity with P 2 and Power 1 and a separate ref computes the
// class-head product of NewColumnSession, which Matrix and MatrixVJP use
// too. Their matrices and gradients are the same as Matrix's and
// MatrixVJP's, bit for bit with Backward, to rounding with
// BackwardEntries. Batched opens a session of its Distance.
//
// A Distance that does not implement SessionOpener takes the generic path:
// NewSession computes Matrix once and Backward calls MatrixVJP with it,
// which gives the distance's own numbers. To implement it, return a
// session whose matrix and gradients are those of Matrix and MatrixVJP
// (to rounding), and whose Distance method returns the receiver itself.
//
// A type that embeds one of this package's distances (say *Lp) and
// overrides Matrix or MatrixVJP inherits its OpenSession, which opens a
// session for the embedded *Lp. NewSession sees that this session is not
// for the value it was given, releases it and takes the generic path
// through the type's own methods: the numbers are the type's own, at the
// cost of one matrix computed for nothing. Define OpenSession on such a
// type (or do not embed) to avoid that cost.
//
// OpenSession of this package's distances is safe for concurrent use;
// each session it returns is not: it is for one goroutine.
type SessionOpener interface {
	Distance
	// OpenSession returns a session for the matrix between query and ref
	// (nil: query), validating the inputs and settings as Matrix does.
	OpenSession(query, ref *mat.Dense) (Session, error)
}

// NewSession returns a session for the matrix of d between query and ref
// (nil: query). When d is a SessionOpener whose OpenSession succeeds and
// returns a session for d itself, that session is used; otherwise the
// session is built on d.Matrix, whose error NewSession returns, and
// Backward calls d.MatrixVJP (the generic path). A nil d is an error
// wrapping gometric.ErrSetting.
func NewSession(d Distance, query, ref *mat.Dense) (Session, error) {
	const name = "distances.NewSession"
	if d == nil {
		return nil, check.Settingf(name, "nil Distance")
	}
	if o, ok := d.(SessionOpener); ok {
		if s, err := o.OpenSession(query, ref); err == nil && s != nil {
			if same(s.Distance(), d) {
				return s, nil
			}
			s.Release()
		}
	}
	m, err := d.Matrix(query, ref)
	if err != nil {
		return nil, err
	}
	n, _ := query.Dims()
	nr := n
	if ref != nil {
		nr, _ = ref.Dims()
	}
	if !dimsOK(m, n, nr) {
		return nil, check.Dims(name, "the matrix of "+reflect.TypeOf(d).String(), m, n, nr)
	}
	return &genericSession{d: d, q: query, r: ref, m: m}, nil
}

// NewColumnSession is NewSession with the ref vectors given as the columns
// of w (D×M), as PML's LargeMarginSoftmaxLoss holds its class vectors W:
// the matrix is between the rows of query and the columns of w, and the
// ref gradient Backward adds to dr is shaped as w. For the unit dot
// product (a CosineSimilarity, or a normalising DotProductSimilarity, with
// P 2 and Power 1) w is read in place; otherwise a transposed copy goes
// through NewSession.
func NewColumnSession(d Distance, query, w *mat.Dense) (Session, error) {
	const name = "distances.NewColumnSession"
	if d == nil {
		return nil, check.Settingf(name, "nil Distance")
	}
	if query == nil || query.IsEmpty() || w == nil || w.IsEmpty() {
		return nil, check.Errorf(name, gometric.ErrShape, "query or w is empty")
	}
	_, dim := query.Dims()
	wr, wc := w.Dims()
	if wr != dim {
		return nil, check.Errorf(name, gometric.ErrShape, "query has %d columns, w has %d rows (embedding size × vectors)", dim, wr)
	}
	if o, ok := d.(columnOpener); ok {
		if s, err := o.openColumns(query, w); err == nil && s != nil {
			if same(s.Distance(), d) {
				return s, nil
			}
			s.Release()
		}
	}
	wt := pairdist.DirtyDense(wc, wr)
	wt.Copy(w.T())
	inner, err := NewSession(d, query, wt)
	if err != nil {
		pairdist.Recycle(wt)
		return nil, err
	}
	return &columnSession{Session: inner, wt: wt, wr: wr, wc: wc}, nil
}

// columnOpener is implemented by the distances whose sessions read a
// column-major ref in place (see NewColumnSession): s is nil when the
// settings are not those of the unit product.
type columnOpener interface {
	openColumns(query, w *mat.Dense) (Session, error)
}

// same reports whether a and b are the very same value: of one comparable
// dynamic type, and equal (for pointers: the same pointer). It never
// panics on uncomparable values.
func same(a, b Distance) bool {
	ta := reflect.TypeOf(a)
	return ta != nil && ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// dimsOK reports whether m is a non-empty r×c matrix.
func dimsOK(m *mat.Dense, r, c int) bool {
	if m == nil || m.IsEmpty() {
		return false
	}
	mr, mc := m.Dims()
	return mr == r && mc == c
}

// errReleased is the error of a session used after Release.
func errReleased(component string) error {
	return check.Settingf(component, "session used after Release")
}

// checkBackward checks the shapes given to Backward: gm N×M, dq N×D and dr
// nr×nc (the shape of ref as given), or nil when self.
func checkBackward(component string, gm, dq, dr *mat.Dense, n, m, d, nr, nc int, self bool) error {
	if err := check.Dims(component, "grad", gm, n, m); err != nil {
		return err
	}
	return checkGrads(component, dq, dr, n, d, nr, nc, self)
}

// checkGrads checks the shapes of dq (N×D) and dr (nr×nc; not read when
// self).
func checkGrads(component string, dq, dr *mat.Dense, n, d, nr, nc int, self bool) error {
	if err := check.Dims(component, "dq", dq, n, d); err != nil {
		return err
	}
	if self {
		return nil
	}
	return check.Dims(component, "dr", dr, nr, nc)
}

// checkEntries checks that every entry lies in an n×m matrix.
func checkEntries(component string, entries []Entry, n, m int) error {
	for k, e := range entries {
		if uint(e.I) >= uint(n) || uint(e.J) >= uint(m) {
			return check.Errorf(component, gometric.ErrIndex, "entry %d is (%d, %d), outside the %d×%d matrix", k, e.I, e.J, n, m)
		}
	}
	return nil
}

// denseEntries is BackwardEntries through Backward: the entries are added
// to a pooled n×m gradient.
func denseEntries(component string, s Session, n, m int, entries []Entry, dq, dr *mat.Dense) error {
	if err := checkEntries(component, entries, n, m); err != nil {
		return err
	}
	gm := pairdist.Dense(n, m)
	defer pairdist.Recycle(gm)
	raw := gm.RawMatrix()
	for _, e := range entries {
		raw.Data[e.I*raw.Stride+e.J] += e.G
	}
	return s.Backward(gm, dq, dr)
}

// genericSession is the session NewSession builds on a distance's Matrix
// and MatrixVJP.
type genericSession struct {
	d       Distance
	q, r, m *mat.Dense
}

func (g *genericSession) Distance() Distance { return g.d }
func (g *genericSession) Matrix() *mat.Dense { return g.m }
func (g *genericSession) Upper() *mat.Dense  { return g.m }
func (g *genericSession) Symmetric() bool    { return false }

func (g *genericSession) Backward(gm, dq, dr *mat.Dense) error {
	const name = "distances.NewSession"
	if g.m == nil {
		return errReleased(name)
	}
	n, d := g.q.Dims()
	m, nc := n, d
	if g.r != nil {
		m, nc = g.r.Dims()
	}
	if err := checkBackward(name, gm, dq, dr, n, m, d, m, nc, g.r == nil); err != nil {
		return err
	}
	dQ, dR, err := g.d.MatrixVJP(g.q, g.r, g.m, gm)
	if err != nil {
		return err
	}
	if !dimsOK(dQ, n, d) {
		return check.Dims(name, "the query gradient of "+reflect.TypeOf(g.d).String(), dQ, n, d)
	}
	dq.Add(dq, dQ)
	if g.r != nil {
		if !dimsOK(dR, m, nc) {
			return check.Dims(name, "the ref gradient of "+reflect.TypeOf(g.d).String(), dR, m, nc)
		}
		dr.Add(dr, dR)
	}
	return nil
}

func (g *genericSession) BackwardEntries(entries []Entry, dq, dr *mat.Dense) error {
	if g.m == nil {
		return errReleased("distances.NewSession")
	}
	n, m := g.m.Dims()
	return denseEntries("distances.NewSession", g, n, m, entries, dq, dr)
}

func (g *genericSession) Release() { g.q, g.r, g.m = nil, nil, nil }

// columnSession is a session on a transposed copy of a column-major ref
// (see NewColumnSession).
type columnSession struct {
	Session
	wt     *mat.Dense // the copy: M×D
	wr, wc int        // the shape of w: D×M
}

func (c *columnSession) Backward(gm, dq, dw *mat.Dense) error {
	const name = "distances.NewColumnSession"
	if c.wt == nil {
		return errReleased(name)
	}
	if err := check.Dims(name, "dr", dw, c.wr, c.wc); err != nil {
		return err
	}
	tmp := pairdist.Dense(c.wc, c.wr)
	defer pairdist.Recycle(tmp)
	if err := c.Session.Backward(gm, dq, tmp); err != nil {
		return err
	}
	dw.Add(dw, tmp.T())
	return nil
}

func (c *columnSession) BackwardEntries(entries []Entry, dq, dw *mat.Dense) error {
	const name = "distances.NewColumnSession"
	if c.wt == nil {
		return errReleased(name)
	}
	n, _ := dq.Dims()
	return denseEntries(name, c, n, c.wc, entries, dq, dw)
}

func (c *columnSession) Release() {
	c.Session.Release()
	pairdist.Recycle(c.wt)
	c.wt = nil
}

// relabeled is a session reporting another distance: Batched's session of
// its Distance.
type relabeled struct {
	Session
	d Distance
}

func (r relabeled) Distance() Distance { return r.d }

// session is the Session of this package's distances (but for the unit
// product with a separate ref, unitSession): the normalised rows are kept
// from the matrix to its VJP and every buffer comes from the pool.
type session struct {
	d  Distance
	s  spec
	in *inputs
	m  *mat.Dense
	// complete is false while a symmetric m has only its upper triangle
	// (see Upper).
	complete bool
	ar       arena // the normalised rows and the matrix
}

// open is OpenSession for the distance d, whose spec is s. The inputs are
// validated as by Matrix, but the scan for NaN and ±Inf is skipped where
// the computation shows them anyway: in the row norms of normalised
// inputs or of the p = 2 Lp distance, and in the SNR matrix (whose
// centring turns ±Inf into NaN). An error is always the one Matrix would
// return first.
func (s spec) open(d Distance, query, ref *mat.Dense) (Session, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if !shapeOK(query, ref) || s.scanFirst() {
		if err := s.checkInputs(query, ref); err != nil {
			return nil, err
		}
	}
	if s.unit() && ref != nil {
		return s.openUnit(d, query, ref, false)
	}
	ss := &session{d: d, s: s}
	fail := func(err error) (Session, error) {
		ss.Release()
		if e := s.checkInputs(query, ref); e != nil {
			return nil, e
		}
		return nil, err
	}
	in, err := s.inputs(query, ref, &ss.ar)
	if err != nil {
		return fail(err)
	}
	if in.suspect(s) {
		// A non-finite entry, or a row whose squares overflow: the
		// latter is computed on.
		if err := s.checkInputs(query, ref); err != nil {
			ss.Release()
			return nil, err
		}
	}
	ss.in = in
	ss.m = ss.ar.dirty(in.n, in.m)
	var scratch arena
	defer scratch.release()
	if ss.complete, err = s.compute(in, ss.m, &scratch, true); err != nil {
		return fail(err)
	}
	return ss, nil
}

// openColumns is the column-major unit session of NewColumnSession, or
// nil for other settings.
func (s spec) openColumns(d Distance, query, w *mat.Dense) (Session, error) {
	if s.validate() != nil || !s.unit() {
		return nil, nil
	}
	return s.openUnit(d, query, w, true)
}

// shapeOK reports whether query and ref (nil: query) are non-empty with
// the same number of columns, without reading their values.
func shapeOK(query, ref *mat.Dense) bool {
	if query == nil || query.IsEmpty() {
		return false
	}
	if ref == nil {
		return true
	}
	_, a := query.Dims()
	_, b := ref.Dims()
	return !ref.IsEmpty() && a == b
}

// scanFirst reports whether a session must scan its inputs for NaN and
// ±Inf before computing: when it computes no row norm that would show
// them (unnormalised dot products, and Lp for P != 2).
func (s spec) scanFirst() bool {
	return !s.normalize && (s.kind == kindDot || (s.kind == kindLp && s.p != 2))
}

// suspect reports whether a row norm the session computes is not finite:
// a non-finite entry, or a row whose squares overflow.
func (in *inputs) suspect(s spec) bool {
	var a, b []float64
	switch {
	case s.normalize:
		a, b = in.qNorms, in.rNorms
	case s.kind == kindLp && s.p == 2:
		a, b = in.sqNorms()
	default:
		return false
	}
	for _, v := range a {
		if !(v <= math.MaxFloat64) {
			return true
		}
	}
	for _, v := range b {
		if !(v <= math.MaxFloat64) {
			return true
		}
	}
	return false
}

func (ss *session) Distance() Distance { return ss.d }

func (ss *session) Matrix() *mat.Dense {
	if ss.m == nil {
		return nil
	}
	if !ss.complete {
		mirrorUpper(ss.m)
		ss.complete = true
	}
	return ss.m
}

func (ss *session) Upper() *mat.Dense { return ss.m }

// Symmetric is true for the self matrices of Lp, DotProductSimilarity and
// CosineSimilarity, which are computed exactly symmetric; SNR is not
// symmetric.
func (ss *session) Symmetric() bool { return ss.in != nil && ss.in.self && ss.s.kind != kindSNR }

func (ss *session) Backward(gm, dq, dr *mat.Dense) error {
	if ss.in == nil {
		return errReleased(ss.s.name)
	}
	s, in, m := ss.s, ss.in, ss.Matrix()
	if err := checkBackward(s.name, gm, dq, dr, in.n, in.m, in.d, in.m, in.d, in.self); err != nil {
		return err
	}
	var ar arena
	defer ar.release()
	dqn := ar.zeroed(in.n, in.d)
	var drn *mat.Dense
	if !in.self {
		drn = ar.zeroed(in.m, in.d)
	}
	if err := s.vjp(in, m, gm, dqn, drn, &ar); err != nil {
		return err
	}
	ss.add(dq, in.q, dqn, in.qNorms)
	if !in.self {
		ss.add(dr, in.r, drn, in.rNorms)
	}
	return nil
}

func (ss *session) BackwardEntries(list []Entry, dq, dr *mat.Dense) error {
	if ss.in == nil {
		return errReleased(ss.s.name)
	}
	s, in := ss.s, ss.in
	direct := (s.kind == kindLp && s.p == 2) || s.kind == kindDot
	if !direct || len(list) > in.n*in.m/sparseDiv {
		// Too many entries, or a distance without an entry-wise VJP: the
		// dense VJP.
		return denseEntries(s.name, ss, in.n, in.m, list, dq, dr)
	}
	if err := checkGrads(s.name, dq, dr, in.n, in.d, in.m, in.d, in.self); err != nil {
		return err
	}
	if err := checkEntries(s.name, list, in.n, in.m); err != nil {
		return err
	}
	var ar arena
	defer ar.release()
	dqn := ar.zeroed(in.n, in.d)
	var drn *mat.Dense
	if !in.self {
		drn = ar.zeroed(in.m, in.d)
	}
	a, b := in.qn, in.rn
	dB := drn
	if in.self {
		dB = dqn
	}
	d, mraw, lp := in.d, ss.m.RawMatrix(), s.kind == kindLp
	// Each entry adds to row I of dqn and row J of dB. The rows are split
	// between goroutines, each applying in order the entries that touch
	// its rows: every row receives the same additions in the same order
	// whatever the split.
	apply := func(rowLo, rowHi int, side int) {
		for _, e := range list {
			// side 0: rows of dqn (I, and J when self); side 1: rows of dB
			// (J, not self).
			doI := side == 0 && e.I >= rowLo && e.I < rowHi
			doJ := (side == 1 || in.self) && e.J >= rowLo && e.J < rowHi
			if e.G == 0 || (!doI && !doJ) {
				continue
			}
			qi, rj := a.RawRowView(e.I)[:d], b.RawRowView(e.J)[:d]
			rj = rj[:len(qi)]
			mij := mraw.Data[e.I*mraw.Stride+e.J]
			var w float64
			if lp {
				// Entry by entry, the difference form is exact: no guard.
				var ok bool
				if s.power != 1 && !(mij >= rownorm.Tiny) {
					// As in lp2VJP: the distance from the rows.
					var c, dist float64
					if c, dist, ok = in.exactDist(e.I, e.J, e.G, s.power, 2); !ok {
						continue
					}
					w = c / dist
				} else if w, ok = lp2Weight(e.G, mij, s.power); !ok {
					continue
				}
			} else {
				w = e.G
				if s.power != 1 {
					w *= powGrad(dotRaw(qi, rj, mij, s.power), s.power)
				}
			}
			if doI && doJ {
				gi, gj := dqn.RawRowView(e.I)[:len(qi)], dB.RawRowView(e.J)[:len(qi)]
				if lp {
					k0 := diffAdd2Vec(gi, gj, qi, rj, w)
					for k := k0; k < len(qi); k++ {
						t := float64(w * (qi[k] - rj[k])) // no FMA: the vector loop's bits
						gi[k] += t
						gj[k] -= t
					}
				} else {
					for k, v := range rj {
						gi[k] += w * v
						gj[k] += w * qi[k]
					}
				}
				continue
			}
			if doI {
				gi := dqn.RawRowView(e.I)[:len(qi)]
				if lp {
					for k := diffAddVec(gi, qi, rj, w); k < len(qi); k++ {
						gi[k] += float64(w * (qi[k] - rj[k]))
					}
				} else {
					for k, v := range rj {
						gi[k] += w * v
					}
				}
			}
			if doJ {
				gj := dB.RawRowView(e.J)[:len(qi)]
				if lp {
					for k := diffSubVec(gj, qi, rj, w); k < len(qi); k++ {
						gj[k] -= float64(w * (qi[k] - rj[k]))
					}
				} else {
					for k, v := range qi {
						gj[k] += w * v
					}
				}
			}
		}
	}
	switch {
	case len(list)*d < parallelWork || runtime.GOMAXPROCS(0) < 2:
		apply(0, in.n, 0)
		if !in.self {
			apply(0, in.m, 1)
		}
	case in.self:
		h := in.n / 2
		var wg sync.WaitGroup
		wg.Go(func() { apply(h, in.n, 0) })
		apply(0, h, 0)
		wg.Wait()
	default:
		var wg sync.WaitGroup
		wg.Go(func() { apply(0, in.m, 1) })
		apply(0, in.n, 0)
		wg.Wait()
	}
	ss.add(dq, in.q, dqn, in.qNorms)
	if !in.self {
		ss.add(dr, in.r, drn, in.rNorms)
	}
	return nil
}

// add adds to dst the gradient with respect to x given g, the gradient
// with respect to its normalised rows. The result is not checked for
// overflow: a loss checks its gradient.
func (ss *session) add(dst, x, g *mat.Dense, norms []float64) {
	if ss.s.normalize {
		normalizeVJPAdd(dst, x, g, ss.s.p, norms)
	} else {
		addTo(dst, g)
	}
}

func (ss *session) Release() {
	ss.ar.release()
	ss.in, ss.m = nil, nil
}
