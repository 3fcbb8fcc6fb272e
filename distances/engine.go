package distances

import (
	"math"
	"sync"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/pairdist"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/internal/workers"
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
	qSq, rSq       []float64  // squared 2-norms of qn and rn, once computed
	self           bool
	n, m, d        int
}

// prepare validates query and ref (nil: query) and normalises them, the
// normalised copies coming from ar.
func (s spec) prepare(query, ref *mat.Dense, ar *arena) (*inputs, error) {
	if err := check.Matrix(s.name, "query", query); err != nil {
		return nil, err
	}
	if ref != nil {
		if err := check.Matrix(s.name, "ref", ref); err != nil {
			return nil, err
		}
		if err := check.SameCols(s.name, "query", "ref", query, ref); err != nil {
			return nil, err
		}
	}
	return s.inputs(query, ref, ar)
}

// inputs is prepare without the validation of query and ref, which the
// caller has done.
func (s spec) inputs(query, ref *mat.Dense, ar *arena) (*inputs, error) {
	in := &inputs{q: query, r: ref, self: ref == nil}
	if in.self {
		in.r = query
	}
	in.n, in.d = query.Dims()
	in.m, _ = in.r.Dims()
	if s.kind == kindSNR && in.d < 2 {
		return nil, check.Errorf(s.name, gometric.ErrShape, "embeddings have %d column, need at least 2 (the unbiased variance divides by D-1)", in.d)
	}
	in.qn, in.rn = in.q, in.r
	if s.normalize {
		in.qn, in.qNorms, in.qSq = normalize(in.q, s.p, ar)
		in.rn, in.rNorms, in.rSq = in.qn, in.qNorms, in.qSq
		if !in.self {
			in.rn, in.rNorms, in.rSq = normalize(in.r, s.p, ar)
		}
	}
	return in, nil
}

// normalize returns x with every row divided by max(‖row‖_p, rownorm.Eps),
// in a matrix from ar, the row norms (the values of rownorm.Normalize, for
// p = 2 up to the order of the sum of squares) and the squared 2-norms of
// the normalised rows, taken while they are in cache.
func normalize(x *mat.Dense, p float64, ar *arena) (xn *mat.Dense, norms, sq []float64) {
	r, c := x.Dims()
	out := ar.dirty(r, c)
	norms, sq = make([]float64, r), make([]float64, r)
	for i := range norms {
		src, dst := x.RawRowView(i)[:c], out.RawRowView(i)[:c]
		s := 0.0
		if p == 2 {
			ss := dot(src, src)
			norms[i] = math.Sqrt(ss)
			s = 1 / math.Max(norms[i], rownorm.Eps)
			// ‖x·s‖² without another pass: it differs from the sum of the
			// squares of the normalised row by an ulp or so, less than the
			// rounding of the GEMM it is combined with.
			sq[i] = ss * s * s
		} else {
			norms[i] = rownorm.Norm(src, p)
			s = 1 / math.Max(norms[i], rownorm.Eps)
		}
		for k, v := range src {
			dst[k] = v * s
		}
		if p != 2 {
			sq[i] = dot(dst, dst)
		}
	}
	return out, norms, sq
}

// normalizeVJPAdd adds to dst the VJP of normalize at x given g, the
// gradient with respect to the normalised rows, with the arithmetic of
// rownorm.NormalizeVJP (for p = 2 up to the order of a sum and a product
// by 1/n for a quotient by n), in parallel over blocks of rows. It does
// not check the result: the public path checks dst, a loss its gradient.
func normalizeVJPAdd(dst, x, g *mat.Dense, p float64, norms []float64) {
	r, c := x.Dims()
	rows := func(lo, hi int) {
		var tmp []float64
		for i := lo; i < hi; i++ {
			xi, gi, di := x.RawRowView(i)[:c], g.RawRowView(i)[:c], dst.RawRowView(i)[:c]
			n := norms[i]
			switch {
			case n <= rownorm.Eps:
				// The clamp is active: y = x / Eps, a linear map.
				for k, v := range gi {
					di[k] += v / rownorm.Eps
				}
			case p == 2:
				// g/n − (g·x) x/n³.
				inv, sc := 1/n, 0.0
				if w := -dot(gi, xi) / (n * n); w != 0 {
					sc = w / n
				}
				addCombined(di, gi, xi, inv, sc)
			default:
				if tmp == nil {
					tmp = make([]float64, c)
				}
				dot := 0.0
				for k, v := range xi {
					dot += gi[k] * v
					tmp[k] = gi[k] / n
				}
				rownorm.NormGrad(tmp, xi, p, n, -dot/(n*n))
				for k, v := range tmp {
					di[k] += v
				}
			}
		}
	}
	parallelRows(r, c, func(_, lo, hi int) { rows(lo, hi) })
}

// addCombined adds a·s + b·t to dst elementwise.
func addCombined(dst, a, b []float64, s, t float64) {
	a, b = a[:len(dst)], b[:len(dst)]
	for k := range dst {
		dst[k] += a[k]*s + b[k]*t
	}
}

// addTo adds src to dst.
func addTo(dst, src *mat.Dense) {
	r, c := src.Dims()
	for i := 0; i < r; i++ {
		si, di := src.RawRowView(i)[:c], dst.RawRowView(i)[:c]
		for k, v := range si {
			di[k] += v
		}
	}
}

func (s spec) matrix(query, ref *mat.Dense) (*mat.Dense, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	var ar arena
	defer ar.release()
	in, err := s.prepare(query, ref, &ar)
	if err != nil {
		return nil, err
	}
	out := mat.NewDense(in.n, in.m, nil)
	if _, err := s.compute(in, out, &ar, false); err != nil {
		return nil, err
	}
	return out, nil
}

// compute sets out (N×M, any content) to the matrix (power applied) for
// prepared inputs, checking that it is finite. With upper, a self Lp
// matrix for P = 2 and Power 1 or 2 may be left with only its entries on
// and above the diagonal set (complete false; mirrorUpper completes it).
func (s spec) compute(in *inputs, out *mat.Dense, ar *arena, upper bool) (complete bool, err error) {
	powered, finite := false, false
	complete = true
	switch s.kind {
	case kindLp:
		if s.p == 2 {
			// With Power 2 the squared distances are the answer; otherwise
			// the square roots are taken in the same pass.
			powered = s.power == 2
			complete = !upper || !in.self || (s.power != 1 && !powered)
			na, nb := in.sqNorms()
			finite = sqDists(out, in.qn, in.rn, na, nb, in.self, nil, s.power != 2, complete)
		} else {
			lpMatrix(out, in.qn, in.rn, s.p, in.self)
		}
	case kindDot:
		scaledNT(out, 1, in.qn, in.rn)
		// Normalised rows have entries of magnitude at most 1, so their
		// dot products are bounded by D.
		finite = s.normalize
	case kindSNR:
		if err := s.snrMatrix(in, out, ar); err != nil {
			return true, err
		}
	}
	if !powered && s.power != 1 {
		finite = false
		pw := s.power
		if pw == 2 {
			mapInPlace(out, func(v float64) float64 { return v * v })
		} else {
			mapInPlace(out, func(v float64) float64 { return math.Pow(v, pw) })
		}
	}
	if finite {
		return complete, nil
	}
	if !complete {
		mirrorUpper(out)
	}
	return true, s.finite("matrix", out)
}

func (s spec) matrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	if err := s.validate(); err != nil {
		return nil, nil, err
	}
	var ar arena
	defer ar.release()
	in, err := s.prepare(query, ref, &ar)
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
		m = ar.dirty(in.n, in.m)
		if _, err := s.compute(in, m, &ar, false); err != nil {
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
	dq := mat.NewDense(in.n, in.d, nil)
	var dr *mat.Dense
	if !in.self {
		dr = mat.NewDense(in.m, in.d, nil)
	}
	if s.normalize {
		// The VJP with respect to the normalised rows is scratch.
		dqn := ar.zeroed(in.n, in.d)
		var drn *mat.Dense
		if !in.self {
			drn = ar.zeroed(in.m, in.d)
		}
		if err := s.vjp(in, m, grad, dqn, drn, &ar); err != nil {
			return nil, nil, err
		}
		normalizeVJPAdd(dq, in.q, dqn, s.p, in.qNorms)
		if !in.self {
			normalizeVJPAdd(dr, in.r, drn, s.p, in.rNorms)
		}
	} else if err := s.vjp(in, m, grad, dq, dr, &ar); err != nil {
		return nil, nil, err
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

// vjp adds the VJP of the matrix m with respect to the normalised rows to
// dA and dB (nil when self) given g = d(loss)/d(m); g is not modified.
func (s spec) vjp(in *inputs, m, g, dA, dB *mat.Dense, ar *arena) error {
	switch s.kind {
	case kindLp:
		if s.p == 2 {
			lp2VJP(in, m, g, s.power, dA, dB, ar)
		} else {
			lpVJP(in, m, g, s.p, s.power, dA, dB, ar)
		}
	case kindDot:
		s.dotVJP(in, m, g, dA, dB, ar)
	case kindSNR:
		return s.snrVJP(in, m, g, dA, dB, ar)
	}
	return nil
}

// finite checks a result for NaN and ±Inf, which come from overflow or from
// a power that is undefined at the value (a negative power of 0, a
// fractional power of a negative similarity).
func (s spec) finite(what string, m *mat.Dense) error {
	r, c := m.Dims()
	for i := 0; i < r; i++ {
		row := m.RawRowView(i)[:c]
		if j := check.NonFinite(row); j >= 0 {
			return check.Errorf(s.name, gometric.ErrNonFinite,
				"%s entry (%d, %d) is %v (overflow, or Power %v undefined at this value)", what, i, j, row[j], s.power)
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
// GOMAXPROCS goroutines (the caller's among them) when the pass is large:
// cols is the work per row, in matrix entries. fn must only write data
// owned by its block.
func parallelRows(n, cols int, fn func(b, lo, hi int)) {
	nb := numBlocks(n)
	nw := workers.Count(nb)
	if nw <= 1 || n*cols < parallelWork {
		for b := 0; b < nb; b++ {
			fn(b, b*blockRows, min(n, (b+1)*blockRows))
		}
		return
	}
	workers.Each(nw, nb, func(_, b int) { fn(b, b*blockRows, min(n, (b+1)*blockRows)) })
}

// parallelWork is the number of matrix entries below which a pass runs on
// the calling goroutine only: waking another thread costs more than it
// saves on smaller passes (on a 2-vCPU VM, a pass over a 256×256 matrix
// ran slower on two goroutines than on one). A variable for tests.
var parallelWork = 1 << 18

func numBlocks(n int) int { return (n + blockRows - 1) / blockRows }

// mapInPlace replaces every entry v of m by f(v).
func mapInPlace(m *mat.Dense, f func(float64) float64) {
	r, c := m.Dims()
	parallelRows(r, c, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			row := m.RawRowView(i)[:c]
			for j, v := range row {
				row[j] = f(v)
			}
		}
	})
}

// scaledNT sets out to alpha·a·bᵀ from one internal/gemm call, whose
// result does not depend on GOMAXPROCS. When b is a (the self case) only
// half of the symmetric product is computed (gemm.Dsyrk) and the result is
// exactly symmetric.
func scaledNT(out *mat.Dense, alpha float64, a, b *mat.Dense) {
	n, d := a.Dims()
	m, _ := b.Dims()
	ra, rb, ro := a.RawMatrix(), b.RawMatrix(), out.RawMatrix()
	if a == b {
		gemm.Dsyrk(n, d, alpha, ra.Data, ra.Stride, ro.Data, ro.Stride)
		return
	}
	gemm.Dgemm(false, true, n, m, d, alpha, ra.Data, ra.Stride, rb.Data, rb.Stride, 0, ro.Data, ro.Stride)
}

// gemmAcc adds alpha·op(w)·b to out, op(w) being w or wᵀ.
func gemmAcc(out *mat.Dense, trans bool, alpha float64, w, b *mat.Dense) {
	r, c := out.Dims()
	rw, cw := w.Dims()
	k := cw
	if trans {
		k = rw
	}
	raw, rb, ro := w.RawMatrix(), b.RawMatrix(), out.RawMatrix()
	gemm.Dgemm(trans, false, r, c, k, alpha, raw.Data, raw.Stride, rb.Data, rb.Stride, 1, ro.Data, ro.Stride)
}

// sqNorms returns the squared 2-norms of the rows of qn and rn, computed
// once.
func (in *inputs) sqNorms() (na, nb []float64) {
	if in.qSq == nil {
		in.qSq = sqNorms(in.qn)
		in.rSq = in.qSq
		if !in.self {
			in.rSq = sqNorms(in.rn)
		}
	}
	return in.qSq, in.rSq
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

// dot returns a·b, summed in four interleaved lanes: a single running sum
// is a chain of dependent additions, four times slower.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	k := 0
	for ; k+4 <= len(a); k += 4 {
		x, y := a[k:k+4:k+4], b[k:k+4:k+4]
		s0 += x[0] * y[0]
		s1 += x[1] * y[1]
		s2 += x[2] * y[2]
		s3 += x[3] * y[3]
	}
	for ; k < len(a); k++ {
		s0 += a[k] * b[k]
	}
	return (s0 + s1) + (s2 + s3)
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

// sqDists sets out (any content on entry) to the matrix of squared
// Euclidean distances between the rows of a and b (b ignored when self),
// or with root to the distances themselves, from one GEMM; na and nb are
// the rows' squared norms (nb nil: na). Entries where the formula cancels
// are recomputed directly by exact(i, j) (nil: Σ(a_i − b_j)²), so
// identical rows give exactly 0. It reports whether every entry is finite.
//
// When self, the GEMM result is exactly symmetric and so is every step
// after it (na[i]+na[j] = na[j]+na[i]; exact(i, j) = exact(j, i) for the
// exact functions used here), so only the upper triangle is computed and
// then mirrored (unless mirror is false: see mirrorUpper): the same bits
// for half the square roots. The diagonal, whose formula always cancels,
// is exactly 0 (exact(i, i) = 0).
func sqDists(out, a, b *mat.Dense, na, nb []float64, self bool, exact func(i, j int) float64, root, mirror bool) bool {
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
	raw := out.RawMatrix()
	if self {
		// Only the upper triangle is read below (and mirrored at the end).
		ra := a.RawMatrix()
		gemm.DsyrkUpper(n, d, -2, ra.Data, ra.Stride, raw.Data, raw.Stride)
	} else {
		scaledNT(out, -2, a, b)
	}
	bad := make([]bool, numBlocks(n))
	parallelRows(n, m, func(blk, lo, hi int) {
		ok := true
		for i := lo; i < hi; i++ {
			row := raw.Data[i*raw.Stride : i*raw.Stride+m]
			j0 := 0
			if self {
				row[i] = 0
				j0 = i + 1
			}
			near, fin := guardRow(row[j0:], nb[j0:m], na[i], root)
			ok = ok && fin
			if near == 0 {
				continue
			}
			for j := j0; j < m; j++ {
				if row[j] < 0 {
					s := exact(i, j)
					if root {
						s = math.Sqrt(s)
					}
					ok = ok && s <= math.MaxFloat64
					row[j] = s
				}
			}
		}
		bad[blk] = !ok
	})
	if self && mirror {
		mirrorUpper(out)
	}
	for _, b := range bad {
		if b {
			return false
		}
	}
	return true
}

// guardRow turns a row of −2·a_i·b_j into the squared distances
// na + nb_j − 2·a_i·b_j (their square roots with root), except the entries
// where that formula cancels, which it sets to −1 and counts. It reports
// whether the other entries are finite.
func guardRow(row, nb []float64, na float64, root bool) (near int, finite bool) {
	nb = nb[:len(row)]
	bad := false
	for j, v := range row {
		scale := na + nb[j]
		s := scale + v
		if s < guardRatio*scale {
			row[j] = -1
			near++
			continue
		}
		if root {
			s = math.Sqrt(s)
		}
		bad = bad || !(s <= math.MaxFloat64)
		row[j] = s
	}
	return near, !bad
}

// mirrorBlock is the side of the square tiles mirrorUpper copies.
const mirrorBlock = 32

// mirrorUpper copies the upper triangle of the square matrix m onto the
// lower one, a tile at a time so that the transposed reads stay in cache.
func mirrorUpper(m *mat.Dense) {
	n, _ := m.Dims()
	raw := m.RawMatrix()
	data, ld := raw.Data, raw.Stride
	for i0 := 0; i0 < n; i0 += mirrorBlock {
		i1 := min(n, i0+mirrorBlock)
		for j0 := 0; j0 <= i0; j0 += mirrorBlock {
			for i := i0; i < i1; i++ {
				row := data[i*ld : i*ld+min(i, j0+mirrorBlock)]
				for j := j0; j < len(row); j++ {
					row[j] = data[j*ld+i]
				}
			}
		}
	}
}

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

var entriesPool sync.Pool // *[]entries

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
func diffVJP(a, b, w *mat.Dense, es []entries, self bool, extra []float64, ea, eb, dA, dB *mat.Dense) {
	if ea == nil {
		ea, eb = a, b
	}
	if self {
		b, eb = a, ea
	}
	n, d := a.Dims()
	m, _ := b.Dims()
	direct := func(e near) {
		ai, bj := ea.RawRowView(e.i)[:d], eb.RawRowView(e.j)[:d]
		gi := dA.RawRowView(e.i)[:d]
		var gj []float64
		if self {
			gj = dA.RawRowView(e.j)[:d]
		} else {
			gj = dB.RawRowView(e.j)[:d]
		}
		bj, gi, gj = bj[:len(ai)], gi[:len(ai)], gj[:len(ai)]
		for k, v := range ai {
			t := e.w * (v - bj[k])
			gi[k] += t
			gj[k] -= t
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
				direct(e)
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
		gemmAcc(dA, false, -1, w, a)
	} else {
		gemmAcc(dA, false, -1, w, b)
		gemmAcc(dB, true, -1, w, a)
		addScaledRows(dB, b, cs)
	}
	addScaledRows(dA, a, rs)
	for bi := range es {
		for _, e := range es[bi].near {
			direct(e)
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

// arena hands out the scratch matrices of one call from the shared pool
// (internal/pairdist) and hands them all back in release.
type arena struct {
	mats []*mat.Dense
}

// dirty returns an r×c scratch matrix of arbitrary content.
func (a *arena) dirty(r, c int) *mat.Dense {
	m := pairdist.DirtyDense(r, c)
	a.mats = append(a.mats, m)
	return m
}

// zeroed returns a zeroed r×c scratch matrix.
func (a *arena) zeroed(r, c int) *mat.Dense {
	m := pairdist.Dense(r, c)
	a.mats = append(a.mats, m)
	return m
}

// release recycles every matrix the arena handed out.
func (a *arena) release() {
	for _, m := range a.mats {
		pairdist.Recycle(m)
	}
	a.mats = nil
}
