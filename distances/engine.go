package distances

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

// guardRatio decides when the GEMM formula ‖a‖² + ‖b‖² − 2a·b is not
// trusted: an entry whose squared distance is below guardRatio·(‖a‖²+‖b‖²)
// is recomputed directly as Σ(a−b)². Above it the relative error of the
// formula is at most about D·ε/guardRatio.
const guardRatio = 1e-6

// pairwiseEps is the constant torch.nn.functional.pairwise_distance adds to
// the difference x − y before taking its norm.
const pairwiseEps = 1e-6

// blockRows is the number of rows per parallel work item. It is fixed, so
// the partition (and hence every result) does not depend on GOMAXPROCS.
const blockRows = 16

type kind int

const (
	kindLp kind = iota
	kindDot
	kindSNR
)

// spec is the common description every distance reduces to; the exported
// types convert themselves to a spec on each call, so their fields can be
// changed between calls.
type spec struct {
	name      string
	kind      kind
	nilRecv   bool
	normalize bool
	p, power  float64
}

func (s spec) validate() error {
	if s.nilRecv {
		return check.Settingf(s.name, "nil receiver")
	}
	if math.IsNaN(s.p) || math.IsInf(s.p, 0) || s.p < 1 {
		return check.Settingf(s.name, "P = %v, want a finite number >= 1", s.p)
	}
	if math.IsNaN(s.power) || math.IsInf(s.power, 0) || s.power == 0 {
		return check.Settingf(s.name, "Power = %v, want a finite non-zero number", s.power)
	}
	return nil
}

// inputs are validated, possibly normalised query and ref matrices.
type inputs struct {
	q, r           *mat.Dense // as given; r == q when self
	qn, rn         *mat.Dense // normalised copies, or q and r
	qNorms, rNorms []float64  // row norms when normalised
	self           bool
	n, m, d        int
}

func (s spec) prepare(query, ref *mat.Dense) (*inputs, error) {
	if err := check.Matrix(s.name, "query", query); err != nil {
		return nil, err
	}
	in := &inputs{q: query, r: ref, self: ref == nil}
	if in.self {
		in.r = query
	} else {
		if err := check.Matrix(s.name, "ref", ref); err != nil {
			return nil, err
		}
		if err := check.SameCols(s.name, "query", "ref", query, ref); err != nil {
			return nil, err
		}
	}
	in.n, in.d = query.Dims()
	in.m, _ = in.r.Dims()
	if s.kind == kindSNR && in.d < 2 {
		return nil, check.Errorf(s.name, gometric.ErrShape, "embeddings have %d column, need at least 2 (the unbiased variance divides by D-1)", in.d)
	}
	in.qn, in.rn = in.q, in.r
	if s.normalize {
		in.qn, in.qNorms = rownorm.Normalize(in.q, s.p)
		in.rn, in.rNorms = in.qn, in.qNorms
		if !in.self {
			in.rn, in.rNorms = rownorm.Normalize(in.r, s.p)
		}
	}
	return in, nil
}

func (s spec) matrix(query, ref *mat.Dense) (*mat.Dense, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	in, err := s.prepare(query, ref)
	if err != nil {
		return nil, err
	}
	return s.compute(in)
}

// compute returns the matrix (power applied) for prepared inputs.
func (s spec) compute(in *inputs) (*mat.Dense, error) {
	var out *mat.Dense
	powered := false
	switch s.kind {
	case kindLp:
		if s.p == 2 {
			out = sqDists(in.qn, in.rn, sqNorms(in.qn), nil, in.self, nil)
			if s.power == 2 {
				powered = true // the squared distances are the answer
			} else {
				mapInPlace(out, math.Sqrt)
			}
		} else {
			out = lpMatrix(in.qn, in.rn, s.p, in.self)
		}
	case kindDot:
		out = gemmNT(in.qn, in.rn)
	case kindSNR:
		var err error
		if out, err = s.snrMatrix(in); err != nil {
			return nil, err
		}
	}
	if !powered && s.power != 1 {
		pw := s.power
		if pw == 2 {
			mapInPlace(out, func(v float64) float64 { return v * v })
		} else {
			mapInPlace(out, func(v float64) float64 { return math.Pow(v, pw) })
		}
	}
	if err := s.finite("matrix", out); err != nil {
		return nil, err
	}
	return out, nil
}

func (s spec) matrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	if err := s.validate(); err != nil {
		return nil, nil, err
	}
	in, err := s.prepare(query, ref)
	if err != nil {
		return nil, nil, err
	}
	if err := check.Dims(s.name, "grad", grad, in.n, in.m); err != nil {
		return nil, nil, err
	}
	if err := check.Matrix(s.name, "grad", grad); err != nil {
		return nil, nil, err
	}
	if m == nil {
		if m, err = s.compute(in); err != nil {
			return nil, nil, err
		}
	} else {
		if err := check.Dims(s.name, "m", m, in.n, in.m); err != nil {
			return nil, nil, err
		}
		if err := check.Matrix(s.name, "m", m); err != nil {
			return nil, nil, err
		}
	}
	var dq, dr *mat.Dense
	switch s.kind {
	case kindLp:
		if s.p == 2 {
			dq, dr = lp2VJP(in, m, grad, s.power)
		} else {
			dq, dr = lpVJP(in, m, grad, s.p, s.power)
		}
	case kindDot:
		dq, dr = s.dotVJP(in, m, grad)
	case kindSNR:
		if dq, dr, err = s.snrVJP(in, m, grad); err != nil {
			return nil, nil, err
		}
	}
	if s.normalize {
		dq = rownorm.NormalizeVJP(in.q, dq, s.p, in.qNorms)
		if !in.self {
			dr = rownorm.NormalizeVJP(in.r, dr, s.p, in.rNorms)
		}
	}
	if err := s.finite("query gradient", dq); err != nil {
		return nil, nil, err
	}
	if in.self {
		return dq, nil, nil
	}
	if err := s.finite("ref gradient", dr); err != nil {
		return nil, nil, err
	}
	return dq, dr, nil
}

// finite checks a result for NaN and ±Inf, which come from overflow or from
// a power that is undefined at the value (a negative power of 0, a
// fractional power of a negative similarity).
func (s spec) finite(what string, m *mat.Dense) error {
	r, c := m.Dims()
	for i := 0; i < r; i++ {
		for j, v := range m.RawRowView(i)[:c] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return check.Errorf(s.name, gometric.ErrNonFinite,
					"%s entry (%d, %d) is %v (overflow, or Power %v undefined at this value)", what, i, j, v, s.power)
			}
		}
	}
	return nil
}

// checkPair validates the inputs of Pairwise and PairwiseVJP.
func (s spec) checkPair(x, y *mat.Dense) error {
	if err := s.validate(); err != nil {
		return err
	}
	if err := check.Matrix(s.name, "x", x); err != nil {
		return err
	}
	if err := check.Matrix(s.name, "y", y); err != nil {
		return err
	}
	if err := check.SameShape(s.name, "x", "y", x, y); err != nil {
		return err
	}
	if _, d := x.Dims(); s.kind == kindSNR && d < 2 {
		return check.Errorf(s.name, gometric.ErrShape, "embeddings have %d column, need at least 2 (the unbiased variance divides by D-1)", d)
	}
	return nil
}

func (s spec) pairwise(x, y *mat.Dense) ([]float64, error) {
	if err := s.checkPair(x, y); err != nil {
		return nil, err
	}
	n, d := x.Dims()
	out := make([]float64, n)
	diff := make([]float64, d)
	xc := make([]float64, d)
	for i := range out {
		xi, yi := x.RawRowView(i)[:d], y.RawRowView(i)[:d]
		switch s.kind {
		case kindLp:
			for k := range diff {
				diff[k] = xi[k] - yi[k] + pairwiseEps
			}
			out[i] = rownorm.Norm(diff, s.p)
		case kindDot:
			out[i] = dot(xi, yi)
		case kindSNR:
			centre(xc, xi)
			xv := dot(xc, xc)
			if xv == 0 {
				return nil, s.zeroVariance("x", i)
			}
			for k := range diff {
				diff[k] = xi[k] - yi[k]
			}
			centre(diff, diff)
			out[i] = dot(diff, diff) / xv
		}
		if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
			return nil, check.Errorf(s.name, gometric.ErrNonFinite, "pairwise value %d is %v (overflow)", i, out[i])
		}
	}
	return out, nil
}

func (s spec) pairwiseVJP(x, y *mat.Dense, grad []float64) (dx, dy *mat.Dense, err error) {
	if err := s.checkPair(x, y); err != nil {
		return nil, nil, err
	}
	n, d := x.Dims()
	if len(grad) != n {
		return nil, nil, check.Errorf(s.name, gometric.ErrShape, "grad has %d values for %d rows", len(grad), n)
	}
	if err := check.Floats(s.name, "grad", grad); err != nil {
		return nil, nil, err
	}
	dx, dy = mat.NewDense(n, d, nil), mat.NewDense(n, d, nil)
	diff := make([]float64, d)
	xc := make([]float64, d)
	for i, g := range grad {
		xi, yi := x.RawRowView(i)[:d], y.RawRowView(i)[:d]
		gx, gy := dx.RawRowView(i), dy.RawRowView(i)
		switch s.kind {
		case kindLp:
			for k := range diff {
				diff[k] = xi[k] - yi[k] + pairwiseEps
			}
			rownorm.NormGrad(gx, diff, s.p, rownorm.Norm(diff, s.p), g)
			for k, v := range gx {
				gy[k] = -v
			}
		case kindDot:
			for k := range gx {
				gx[k] = g * yi[k]
				gy[k] = g * xi[k]
			}
		case kindSNR:
			// value = ‖e‖²/‖xc‖² with xc = x − mean(x), e = (x−y) − mean(x−y).
			centre(xc, xi)
			for k := range diff {
				diff[k] = xi[k] - yi[k]
			}
			centre(diff, diff)
			a, sq := dot(xc, xc), dot(diff, diff)
			if a == 0 {
				return nil, nil, s.zeroVariance("x", i)
			}
			if g == 0 {
				continue
			}
			raw := sq / a
			c := 2 * g / a
			for k := range gx {
				gx[k] = c * (diff[k] - raw*xc[k])
				gy[k] = -c * diff[k]
			}
		}
	}
	if err := s.finite("x gradient", dx); err != nil {
		return nil, nil, err
	}
	if err := s.finite("y gradient", dy); err != nil {
		return nil, nil, err
	}
	return dx, dy, nil
}

func (s spec) zeroVariance(what string, row int) error {
	return check.Errorf(s.name, gometric.ErrNonFinite,
		"%s row %d has zero variance (after normalisation), so the signal-to-noise ratio is infinite or NaN", what, row)
}

// parallelRows calls fn(b, lo, hi) for the fixed blocks [lo, hi) of
// blockRows rows covering [0, n), b being the block's number, on up to
// GOMAXPROCS goroutines. fn must only write data owned by its block.
func parallelRows(n int, fn func(b, lo, hi int)) {
	nb := numBlocks(n)
	workers := min(runtime.GOMAXPROCS(0), nb)
	if workers <= 1 {
		for b := 0; b < nb; b++ {
			fn(b, b*blockRows, min(n, (b+1)*blockRows))
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				b := int(next.Add(1) - 1)
				if b >= nb {
					return
				}
				fn(b, b*blockRows, min(n, (b+1)*blockRows))
			}
		})
	}
	wg.Wait()
}

func numBlocks(n int) int { return (n + blockRows - 1) / blockRows }

// mapInPlace replaces every entry v of m by f(v).
func mapInPlace(m *mat.Dense, f func(float64) float64) {
	r, c := m.Dims()
	parallelRows(r, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := m.RawRowView(i)[:c]
			for j, v := range row {
				row[j] = f(v)
			}
		}
	})
}

// gemmNT returns a·bᵀ.
func gemmNT(a, b *mat.Dense) *mat.Dense {
	return scaledNT(1, a, b)
}

// scaledNT returns alpha·a·bᵀ from one internal/gemm call, whose result
// does not depend on GOMAXPROCS. When b is a (the self case) only half of
// the symmetric product is computed (gemm.Dsyrk) and the result is exactly
// symmetric.
func scaledNT(alpha float64, a, b *mat.Dense) *mat.Dense {
	n, d := a.Dims()
	m, _ := b.Dims()
	out := mat.NewDense(n, m, nil)
	ra, rb, ro := a.RawMatrix(), b.RawMatrix(), out.RawMatrix()
	if a == b {
		gemm.Dsyrk(n, d, alpha, ra.Data, ra.Stride, ro.Data, ro.Stride)
		return out
	}
	gemm.Dgemm(false, true, n, m, d, alpha, ra.Data, ra.Stride, rb.Data, rb.Stride, 0, ro.Data, ro.Stride)
	return out
}

// gemmAcc sets out = alpha·op(w)·b, op(w) being w or wᵀ.
func gemmAcc(out *mat.Dense, trans bool, alpha float64, w, b *mat.Dense) {
	r, c := out.Dims()
	rw, cw := w.Dims()
	k := cw
	if trans {
		k = rw
	}
	raw, rb, ro := w.RawMatrix(), b.RawMatrix(), out.RawMatrix()
	gemm.Dgemm(trans, false, r, c, k, alpha, raw.Data, raw.Stride, rb.Data, rb.Stride, 0, ro.Data, ro.Stride)
}

// sqNorms returns the squared 2-norm of every row of a.
func sqNorms(a *mat.Dense) []float64 {
	r, c := a.Dims()
	out := make([]float64, r)
	for i := range out {
		row := a.RawRowView(i)[:c]
		out[i] = dot(row, row)
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for k, v := range a {
		s += v * b[k]
	}
	return s
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

func sqDiff(a, b []float64) float64 {
	var s float64
	for k, v := range a {
		e := v - b[k]
		s += e * e
	}
	return s
}

func mean(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// sqDists returns the matrix of squared Euclidean distances between the
// rows of a and b (b ignored when self) from one GEMM, na and nb being the
// rows' squared norms (nb nil: na). Entries where the formula cancels are
// recomputed directly by exact(i, j) (nil: Σ(a_i − b_j)²), so identical
// rows give exactly 0.
func sqDists(a, b *mat.Dense, na, nb []float64, self bool, exact func(i, j int) float64) *mat.Dense {
	if self {
		b = a
	}
	if nb == nil {
		nb = na
		if !self {
			nb = sqNorms(b)
		}
	}
	n, d := a.Dims()
	m, _ := b.Dims()
	if exact == nil {
		exact = func(i, j int) float64 { return sqDiff(a.RawRowView(i)[:d], b.RawRowView(j)[:d]) }
	}
	out := scaledNT(-2, a, b)
	parallelRows(n, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := out.RawRowView(i)[:m]
			for j, v := range row {
				scale := na[i] + nb[j]
				s := scale + v
				if s < guardRatio*scale {
					s = exact(i, j)
				}
				row[j] = s
			}
		}
	})
	return out
}

// near is a matrix entry whose VJP contribution w·(a_i − b_j) is added
// directly rather than through the GEMM, because the GEMM form would
// cancel.
type near struct {
	i, j int
	w    float64
}

// diffVJP returns dA and dB with
//
//	dA_i = Σ_j w_ij (a_i − b_j) + extra_i a_i,   dB_j = −Σ_i w_ij (a_i − b_j)
//
// computed by one GEMM each, plus the listed near entries (whose w_ij must
// be 0 in w) added directly as w·(ea_i − eb_j); ea and eb (nil: a and b)
// are rows whose difference is a_i − b_j, or equals it up to a component
// the caller projects out afterwards. With self, b is a and dA holds both
// sums (dB is nil). w is overwritten. extra may be nil.
func diffVJP(a, b, w *mat.Dense, nears [][]near, self bool, extra []float64, ea, eb *mat.Dense) (dA, dB *mat.Dense) {
	if ea == nil {
		ea, eb = a, b
	}
	if self {
		eb = ea
	}
	if self {
		b = a
	}
	n, d := a.Dims()
	m, _ := b.Dims()
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
	dA = mat.NewDense(n, d, nil)
	if self {
		for i := range rs {
			rs[i] += cs[i]
		}
		symmetrize(w)
		gemmAcc(dA, false, -1, w, a)
	} else {
		gemmAcc(dA, false, -1, w, b)
		dB = mat.NewDense(m, d, nil)
		gemmAcc(dB, true, -1, w, a)
		addScaledRows(dB, b, cs)
	}
	addScaledRows(dA, a, rs)
	for _, blk := range nears {
		for _, e := range blk {
			ai, bj := ea.RawRowView(e.i)[:d], eb.RawRowView(e.j)[:d]
			gi := dA.RawRowView(e.i)
			var gj []float64
			if self {
				gj = dA.RawRowView(e.j)
			} else {
				gj = dB.RawRowView(e.j)
			}
			for k, v := range ai {
				t := e.w * (v - bj[k])
				gi[k] += t
				gj[k] -= t
			}
		}
	}
	return dA, dB
}

// symmetrize replaces the square matrix w by w + wᵀ.
func symmetrize(w *mat.Dense) {
	n, _ := w.Dims()
	for i := 0; i < n; i++ {
		ri := w.RawRowView(i)
		ri[i] *= 2
		for j := i + 1; j < n; j++ {
			rj := w.RawRowView(j)
			s := ri[j] + rj[i]
			ri[j], rj[i] = s, s
		}
	}
}

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
