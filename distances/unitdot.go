// The unit dot product between query rows and a separate set of vectors:
// the matrix of CosineSimilarity, or of a DotProductSimilarity that
// normalises, with P 2 and Power 1, when ref is not query. It is the path
// of the class-head losses (ArcFace and its family, NormalizedSoftmax,
// ProxyAnchor: query embeddings against class vectors), which may hold
// the vectors as the columns of a D×M matrix (NewColumnSession).

package distances

import (
	"math"
	"sync"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// unit reports whether s is a unit dot product: normalised rows, P 2 and
// Power 1.
func (s spec) unit() bool {
	return s.kind == kindDot && s.normalize && s.p == 2 && s.power == 1
}

// Query norms outside [minDirect, maxDirect] (other than 0), or ref norms
// above maxDirect, make a unit product normalise the query rows before the
// GEMM: beyond them x_i·r̂_j could overflow or its products underflow, and
// the factors 1/‖x_i‖² and 1/(‖x_i‖‖r_j‖) of the VJP would lose bits to
// underflow.
const (
	minDirect = 1e-250
	maxDirect = 1e150
)

// unitWork is the scratch of a unit product, reused through unitPool:
// per call it would be several N×D and N×M floats of garbage.
type unitWork struct {
	xn     []float64 // N×D normalised query rows, for extreme norms only
	rn     []float64 // normalised ref vectors, laid out as ref (M×D, or D×M)
	m      []float64 // N×M matrix of a session
	gx, gr []float64 // N×M: the gradient scaled for the two GEMMs
	xnorm  []float64 // N: ‖x_i‖
	xinv   []float64 // N: 1/max(‖x_i‖, Eps)
	xs     []float64 // N: all ones, for the normalised copy
	rnorm  []float64 // M: ‖r_j‖
	rinv   []float64 // M: 1/max(‖r_j‖, Eps)
	t      []float64 // M: Σ_i g_ij m_ij
	corr   []float64 // N: the projection's coefficient of each row of a
	tx     []float64 // N×D: the product for dx
}

var unitPool = sync.Pool{New: func() any { return new(unitWork) }}

// grow returns s resliced to n entries, reallocated when too short. The
// contents are not cleared.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// unitProduct is the unit product between the rows of x (N×D) and the
// vectors of ref: its rows (M×D), or its columns (D×M) when cols is set.
//
// It computes what the general path does (rows divided by max(‖row‖,
// 1e-12), then one GEMM) up to rounding, in a different order: the ref
// vectors are normalised first, but the query rows enter the GEMMs as they
// are and their norms are applied to the N×M matrices instead
// (x̂_i·r̂_j = (x_i·r̂_j)/‖x_i‖), which saves writing and reading a
// normalised N×D copy. Rows with extreme norms (where x_i·r̂_j could
// overflow or lose precision) are normalised first, as on the general
// path.
type unitProduct struct {
	x, ref  *mat.Dense
	cols    bool
	n, k, d int
	ws      *unitWork // nil once released
	direct  bool      // a is x itself, xs the inverse norms
	// The GEMMs see the query rows as a (stride lda), row i scaled by
	// xs[i]: x itself and 1/max(‖x_i‖, Eps), or the normalised copy in
	// ws.xn and 1.
	a   []float64
	lda int
	xs  []float64
}

// init sets u up between the rows of x and the vectors of ref: it takes
// its scratch from the pool and computes the norms and the normalised ref
// vectors. It reports false when a norm is not finite: an input holds NaN
// or ±Inf, or the squares of a finite row overflow (the caller tells the
// two apart).
func (u *unitProduct) init(x, ref *mat.Dense, cols bool) bool {
	n, d := x.Dims()
	k, _ := ref.Dims()
	if cols {
		_, k = ref.Dims()
	}
	*u = unitProduct{x: x, ref: ref, cols: cols, n: n, k: k, d: d}
	ws := unitPool.Get().(*unitWork)
	u.ws = ws
	ws.xnorm, ws.xinv = grow(ws.xnorm, n), grow(ws.xinv, n)
	ws.rn, ws.rnorm, ws.rinv = grow(ws.rn, k*d), grow(ws.rnorm, k), grow(ws.rinv, k)
	raw := x.RawMatrix()
	direct, finite := true, true
	for i := range n {
		v := rownorm.Norm2(raw.Data[i*raw.Stride : i*raw.Stride+d])
		ws.xnorm[i], ws.xinv[i] = v, 1/math.Max(v, rownorm.Eps)
		if v != 0 && !(v >= minDirect && v <= maxDirect) {
			direct = false
			finite = finite && v <= math.MaxFloat64
		}
	}
	if cols {
		normalizeCols(ws.rn, ws.rnorm, ws.rinv, ref)
	} else {
		rownorm.NormalizeInto(ws.rn, ws.rnorm, ref)
		for j, v := range ws.rnorm {
			ws.rinv[j] = 1 / math.Max(v, rownorm.Eps)
		}
	}
	for _, v := range ws.rnorm {
		finite = finite && v <= math.MaxFloat64
		direct = direct && v <= maxDirect
	}
	u.direct = direct
	if direct {
		u.a, u.lda, u.xs = raw.Data, raw.Stride, ws.xinv
	} else {
		ws.xn, ws.xs = grow(ws.xn, n*d), grow(ws.xs, n)
		for i := range n {
			rownorm.ScaleRow(ws.xn[i*d:(i+1)*d], raw.Data[i*raw.Stride:i*raw.Stride+d], 2, ws.xnorm[i])
			ws.xs[i] = 1
		}
		u.a, u.lda, u.xs = ws.xn, d, ws.xs
	}
	return finite
}

// forward sets out (N×M, stride ldo, any content) to the matrix.
func (u *unitProduct) forward(out []float64, ldo int) {
	ws, n, k, d := u.ws, u.n, u.k, u.d
	if u.cols {
		gemm.Dgemm(false, false, n, k, d, 1, u.a, u.lda, ws.rn, k, 0, out, ldo)
	} else {
		gemm.Dgemm(false, true, n, k, d, 1, u.a, u.lda, ws.rn, d, 0, out, ldo)
	}
	if u.direct {
		for i, s := range ws.xinv {
			row := out[i*ldo : i*ldo+k]
			for j := range row {
				row[j] *= s
			}
		}
	}
}

// release hands the scratch back to the pool.
func (u *unitProduct) release() {
	if u.ws != nil {
		unitPool.Put(u.ws)
		u.ws, u.a, u.xs = nil, nil, nil
	}
}

// normalizeCols writes w (D×K) with column j divided by max(‖column‖₂,
// Eps) to dst (D×K, stride K), the column norms to norms and the scales
// 1/max(‖column‖₂, Eps) to inv. The squares are summed in row
// order, as rownorm.Norm of the transposed column would; a column whose
// sum of squares overflows or underflows (rownorm.Safe) is normalised
// through a scaled copy, as rownorm.Normalize would.
func normalizeCols(dst, norms, inv []float64, w *mat.Dense) {
	d, k := w.Dims()
	raw := w.RawMatrix()
	norms = norms[:k]
	clear(norms)
	for r := range d {
		for j, v := range raw.Data[r*raw.Stride : r*raw.Stride+k] {
			norms[j] += v * v
		}
	}
	var extreme []int
	for j, v := range norms {
		if !rownorm.Safe(v) {
			extreme = append(extreme, j)
		}
		norms[j] = math.Sqrt(v)
	}
	for j, v := range norms {
		inv[j] = 1 / math.Max(v, rownorm.Eps)
	}
	inv = inv[:k]
	for r := range d {
		out := dst[r*k : (r+1)*k]
		for j, v := range raw.Data[r*raw.Stride : r*raw.Stride+k] {
			out[j] = v * inv[j]
		}
	}
	if extreme == nil {
		return
	}
	col, unit := make([]float64, d), make([]float64, d)
	for _, j := range extreme {
		for r := range d {
			col[r] = raw.Data[r*raw.Stride+j]
		}
		n := rownorm.Scaled(col, 2)
		rownorm.ScaleRow(unit, col, 2, n)
		norms[j], inv[j] = n, 1/math.Max(n, rownorm.Eps)
		for r, v := range unit {
			dst[r*k+j] = v
		}
	}
}

// backward adds the gradients with respect to x (to dx, N×D) and to the
// ref vectors (to dref, shaped as ref) given g = d(loss)/d(m), N×M, m
// being the matrix forward computed (stride ldm). g is not modified.
func (u *unitProduct) backward(m []float64, ldm int, g, dx, dref *mat.Dense) {
	// With x̂ = x/‖x‖ and r̂ = r/‖r‖, m_ij = x̂_i·r̂_j, and
	//   d/dx_i = (G_i − (G_i·x̂_i) x̂_i) / ‖x_i‖,  G_i = Σ_j g_ij r̂_j,
	// where G_i·x̂_i = Σ_j g_ij m_ij: the projection needs no pass over
	// G. Likewise d/dr_j = (H_j − (H_j·r̂_j) r̂_j) / ‖r_j‖ with H_j =
	// Σ_i g_ij x̂_i and H_j·r̂_j = Σ_i g_ij m_ij. x̂_i = xs_i·a_i, so the
	// GEMMs take a with g scaled accordingly. A norm at or below Eps is
	// clamped: the map is then x/Eps, without the projection.
	ws := u.ws
	n, k, d := u.n, u.k, u.d
	ws.gx, ws.gr = grow(ws.gx, n*k), grow(ws.gr, n*k)
	ws.t, ws.corr, ws.tx = grow(ws.t, k), grow(ws.corr, n), grow(ws.tx, n*d)
	gx, gr, t, rinv, corr := ws.gx, ws.gr, ws.t, ws.rinv, ws.corr
	clear(t)
	graw := g.RawMatrix()
	for i := range n {
		gi := graw.Data[i*graw.Stride : i*graw.Stride+k]
		mi := m[i*ldm : i*ldm+k]
		gxi, gri := gx[i*k:(i+1)*k], gr[i*k:(i+1)*k]
		mi, gxi, gri, t, rinv := mi[:len(gi)], gxi[:len(gi)], gri[:len(gi)], t[:len(gi)], rinv[:len(gi)]
		ix, xs := ws.xinv[i], u.xs[i]
		var s float64
		for j, v := range gi {
			p := v * mi[j]
			s += p
			t[j] += p
			gxi[j] = v * ix
			gri[j] = v * xs * rinv[j]
		}
		if ws.xnorm[i] > rownorm.Eps {
			corr[i] = -s * ix * xs
		} else {
			corr[i] = 0
		}
	}
	// The product for dx goes to a scratch matrix (with beta 0 the GEMM
	// stores its tiles directly), then it and the projection are added to
	// dx by gonum's vector kernels, faster than one pass in Go.
	if u.cols {
		gemm.Dgemm(false, true, n, d, k, 1, gx, k, ws.rn, k, 0, ws.tx, d)
	} else {
		gemm.Dgemm(false, false, n, d, k, 1, gx, k, ws.rn, d, 0, ws.tx, d)
	}
	xd := dx.RawMatrix()
	for i := range n {
		dst := xd.Data[i*xd.Stride : i*xd.Stride+d]
		floats.Add(dst, ws.tx[i*d:(i+1)*d])
		if c := corr[i]; c != 0 {
			floats.AddScaled(dst, c, u.a[i*u.lda:i*u.lda+d])
		}
	}
	rd := dref.RawMatrix()
	if u.cols {
		gemm.Dgemm(true, false, d, k, n, 1, u.a, u.lda, gr, k, 1, rd.Data, rd.Stride)
	} else {
		gemm.Dgemm(true, false, k, d, n, 1, gr, k, u.a, u.lda, 1, rd.Data, rd.Stride)
	}
	// The projections of the ref vectors: c_j = −t_j/‖r_j‖ times r̂_j.
	for j := range k {
		if ws.rnorm[j] <= rownorm.Eps {
			t[j] = 0
		} else {
			t[j] *= -rinv[j]
		}
	}
	if u.cols {
		for q := range d {
			dst, rn := rd.Data[q*rd.Stride:q*rd.Stride+k], ws.rn[q*k:(q+1)*k]
			for j, c := range t[:len(dst)] {
				dst[j] += c * rn[j]
			}
		}
		return
	}
	for j, c := range t {
		if c == 0 {
			continue
		}
		dst, rn := rd.Data[j*rd.Stride:j*rd.Stride+d], ws.rn[j*d:(j+1)*d]
		for q, v := range rn {
			dst[q] += c * v
		}
	}
}

// unitMatrix is Matrix for a unit product with a separate ref (already
// validated).
func (s spec) unitMatrix(query, ref *mat.Dense) (*mat.Dense, error) {
	var u unitProduct
	u.init(query, ref, false)
	defer u.release()
	out := mat.NewDense(u.n, u.k, nil)
	u.forward(out.RawMatrix().Data, u.k)
	return out, nil
}

// unitMatrixVJP is MatrixVJP for a unit product with a separate ref; the
// inputs, grad and m (nil: computed) are already validated.
func (s spec) unitMatrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	var u unitProduct
	u.init(query, ref, false)
	defer u.release()
	var data []float64
	ld := u.k
	if m == nil {
		u.ws.m = grow(u.ws.m, u.n*u.k)
		data = u.ws.m
		u.forward(data, ld)
	} else {
		raw := m.RawMatrix()
		data, ld = raw.Data, raw.Stride
	}
	dq, dr := mat.NewDense(u.n, u.d, nil), mat.NewDense(u.k, u.d, nil)
	u.backward(data, ld, grad, dq, dr)
	if err := s.finite("query gradient", dq); err != nil {
		return nil, nil, err
	}
	if err := s.finite("ref gradient", dr); err != nil {
		return nil, nil, err
	}
	return dq, dr, nil
}

// unitSession is the Session of a unit product with a separate ref.
type unitSession struct {
	d  Distance
	s  spec
	u  unitProduct
	m  *mat.Dense
	nr int // rows of ref as given (M, or D for columns)
	nc int // columns of ref as given
}

// openUnit opens a unit session between query and the vectors of ref (its
// rows, or its columns with cols); query is checked for shape, ref too
// when cols.
func (s spec) openUnit(d Distance, query, ref *mat.Dense, cols bool) (Session, error) {
	us := &unitSession{d: d, s: s}
	u := &us.u
	if !u.init(query, ref, cols) {
		// A non-finite entry, or a row whose squares overflow: the
		// latter is computed on.
		what := "ref"
		if cols {
			what = "ref columns"
		}
		err := check.Matrix(s.name, "query", query)
		if err == nil {
			err = check.Matrix(s.name, what, ref)
		}
		if err != nil {
			u.release()
			return nil, err
		}
	}
	u.ws.m = grow(u.ws.m, u.n*u.k)
	u.forward(u.ws.m, u.k)
	us.nr, us.nc = ref.Dims()
	us.m = mat.NewDense(u.n, u.k, u.ws.m)
	return us, nil
}

func (us *unitSession) Distance() Distance { return us.d }
func (us *unitSession) Matrix() *mat.Dense { return us.m }
func (us *unitSession) Upper() *mat.Dense  { return us.m }
func (us *unitSession) Symmetric() bool    { return false }

func (us *unitSession) Backward(gm, dq, dr *mat.Dense) error {
	if us.u.ws == nil {
		return errReleased(us.s.name)
	}
	u := &us.u
	if err := checkBackward(us.s.name, gm, dq, dr, u.n, u.k, u.d, us.nr, us.nc, false); err != nil {
		return err
	}
	u.backward(u.ws.m, u.k, gm, dq, dr)
	return nil
}

func (us *unitSession) BackwardEntries(entries []Entry, dq, dr *mat.Dense) error {
	if us.u.ws == nil {
		return errReleased(us.s.name)
	}
	return denseEntries(us.s.name, us, us.u.n, us.u.k, entries, dq, dr)
}

func (us *unitSession) Release() {
	us.u.release()
	us.m = nil
}
