// Settings and inputs: the spec every distance reduces to, the validation of
// settings and inputs, and the normalisation of rows with its VJP.

package distances

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

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
	name    string
	kind    kind
	nilRecv bool
	// notMade is the constructor of a value it did not make whose P or
	// Power is 0: the zero value, or an incomplete struct literal.
	notMade   string
	normalize bool
	p, power  float64
}

func (s spec) validate() error {
	if s.nilRecv {
		return check.Settingf(s.name, "nil receiver")
	}
	if s.notMade != "" {
		return check.Settingf(s.name, "not made by %s: the zero value is not PML's defaults (normalize_embeddings true, p 2, power 1); use %s() and set fields", s.notMade, s.notMade)
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
	if err := s.checkInputs(query, ref); err != nil {
		return nil, err
	}
	return s.inputs(query, ref, ar)
}

// checkInputs validates query and ref (nil: query): non-empty, finite, with
// the same number of columns.
func (s spec) checkInputs(query, ref *mat.Dense) error {
	if err := check.Matrix(s.name, "query", query); err != nil {
		return err
	}
	if ref != nil {
		if err := check.Matrix(s.name, "ref", ref); err != nil {
			return err
		}
		if err := check.SameCols(s.name, "query", "ref", query, ref); err != nil {
			return err
		}
	}
	return nil
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

func (s spec) zeroVariance(what string, row int) error {
	return check.Errorf(s.name, gometric.ErrNonFinite,
		"%s row %d has zero variance (after normalisation), so the signal-to-noise ratio is infinite or NaN", what, row)
}

// normalize returns x with every row divided by max(‖row‖_p, rownorm.Eps),
// in a matrix from ar, the row norms (the values of rownorm.Normalize, for
// p = 2 up to the order of the sum of squares) and the squared 2-norms of
// the normalised rows, taken while they are in cache. Any finite row
// normalises correctly: a sum of squares that overflows or underflows
// (rownorm.Safe) is recomputed scaled, at the cost of one comparison per
// row.
func normalize(x *mat.Dense, p float64, ar *arena) (xn *mat.Dense, norms, sq []float64) {
	r, c := x.Dims()
	out := ar.dirty(r, c)
	norms, sq = make([]float64, r), make([]float64, r)
	for i := range norms {
		src, dst := x.RawRowView(i)[:c], out.RawRowView(i)[:c]
		if p == 2 {
			if ss := dot(src, src); rownorm.Safe(ss) {
				norms[i] = math.Sqrt(ss)
				s := 1 / math.Max(norms[i], rownorm.Eps)
				for k, v := range src {
					dst[k] = v * s
				}
				// ‖x·s‖² without another pass: it differs from the sum of
				// the squares of the normalised row by an ulp or so, less
				// than the rounding of the GEMM it is combined with.
				sq[i] = ss * s * s
				continue
			}
			norms[i] = rownorm.Scaled(src, 2)
		} else {
			norms[i] = rownorm.Norm(src, p)
		}
		rownorm.ScaleRow(dst, src, p, norms[i])
		sq[i] = dot(dst, dst)
	}
	return out, norms, sq
}

// normalizeVJPAdd adds to dst the VJP of normalize at x given g, the
// gradient with respect to the normalised rows, with the arithmetic of
// rownorm.NormalizeVJP (for p = 2 up to the order of a sum and a product
// by 1/n for a quotient by n), in parallel over blocks of rows. Rows whose
// norm exceeds 2^500, or whose g·x overflows, take rownorm.AddRowVJP,
// which projects on x/n. It does not check the result: the public path
// checks dst, a loss its gradient.
func normalizeVJPAdd(dst, x, g *mat.Dense, p float64, norms []float64) {
	r, c := x.Dims()
	rows := func(lo, hi int) {
		var tmp []float64
		for i := lo; i < hi; i++ {
			xi, gi, di := x.RawRowView(i)[:c], g.RawRowView(i)[:c], dst.RawRowView(i)[:c]
			n := norms[i]
			if n <= rownorm.Eps {
				// The clamp is active: y = x / Eps, a linear map.
				for k, v := range gi {
					di[k] += v / rownorm.Eps
				}
				continue
			}
			var gx float64
			if p == 2 {
				gx = dot(gi, xi)
			} else {
				for k, v := range xi {
					gx += gi[k] * v
				}
			}
			if n > projectAbove || !(math.Abs(gx) <= math.MaxFloat64) {
				rownorm.AddRowVJP(di, xi, gi, p, n)
				continue
			}
			if p == 2 {
				// g/n − (g·x) x/n³.
				inv, sc := 1/n, 0.0
				if w := -gx / (n * n); w != 0 {
					sc = w / n
				}
				addCombined(di, gi, xi, inv, sc)
				continue
			}
			if tmp == nil {
				tmp = make([]float64, c)
			}
			for k := range xi {
				tmp[k] = gi[k] / n
			}
			rownorm.NormGrad(tmp, xi, p, n, -gx/(n*n))
			for k, v := range tmp {
				di[k] += v
			}
		}
	}
	parallelRows(r, c, func(_, lo, hi int) { rows(lo, hi) })
}

// projectAbove is the norm above which normalizeVJPAdd projects on x/n
// (rownorm.AddRowVJP): below it n³ is finite.
const projectAbove = 0x1p500

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
