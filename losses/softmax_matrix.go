package losses

import (
	"math"
	"sync"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// classMatrix is the N×K similarity matrix between the embeddings and K
// class vectors, with its VJP. The class vectors are the rows of a K×D
// matrix, or the columns of a D×K one (W of the softmax losses, used as it
// is rather than through a transposed copy).
//
// For PML's default CosineSimilarity (P 2, Power 1) and
// DotProductSimilarity (normalised, P 2, Power 1) it is computed here, in
// pooled buffers and without the distance's revalidation of inputs the
// loss has already checked; otherwise through the distance. The fast path
// computes what the distance does (rows divided by max(‖row‖, 1e-12), then
// one GEMM) up to rounding, in a different order: the class vectors are
// normalised first, but the embeddings enter the GEMMs as they are and
// their norms are applied to the N×K matrices instead (x̂_i·r̂_j =
// (x_i·r̂_j)/‖x_i‖), which saves writing and reading a normalised N×D
// copy. Embeddings with extreme norms (where x_i·r̂_j could overflow or
// lose precision) are normalised first, as by the distance.
type classMatrix struct {
	dist distances.Distance
	x    *mat.Dense // N×D
	ref  *mat.Dense // K×D, or D×K when cols
	cols bool
	n, k int
	d    int
	m    *mat.Dense // N×K
	fast bool
	ws   *cmWork // fast path: scratch, nil once released
	// The fast path's GEMMs see the embeddings as a (stride lda), row i
	// scaled by xs[i]: x itself and 1/max(‖x_i‖, Eps), or the normalised
	// copy in ws.xn and 1.
	a   []float64
	lda int
	xs  []float64
}

// cmWork is the scratch of a fast classMatrix, reused across calls through
// cmPool: per call it would be several N×D and N×K floats of garbage.
type cmWork struct {
	xn     []float64    // N×D normalised embeddings, for extreme norms only
	rn     []float64    // normalised class vectors, laid out as ref (K×D or D×K)
	m      []float64    // N×K similarities
	gx, gr []float64    // N×K: the gradient scaled for the two GEMMs
	xnorm  []float64    // N: ‖x_i‖
	xinv   []float64    // N: 1/max(‖x_i‖, Eps)
	xs     []float64    // N: all ones, for the normalised copy
	rnorm  []float64    // K: ‖r_j‖
	rinv   []float64    // K: 1/max(‖r_j‖, Eps)
	t      []float64    // K: Σ_i g_ij m_ij
	corr   []float64    // N: the projection's coefficient of each row of a
	tx     []float64    // N×D: the product for dx
	tmp    [2][]float64 // N×K scratch a loss may borrow (see scratch)
}

var cmPool = sync.Pool{New: func() any { return new(cmWork) }}

// grow returns s resliced to n entries, reallocated when too short. The
// contents are not cleared.
func grow(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// unitDot reports whether d is a normalising dot product with P 2 and
// Power 1.
func unitDot(d distances.Distance) bool {
	switch v := d.(type) {
	case *distances.CosineSimilarity:
		return v != nil && v.P == 2 && v.Power == 1
	case *distances.DotProductSimilarity:
		return v != nil && v.NormalizeEmbeddings && v.P == 2 && v.Power == 1
	}
	return false
}

// Norms outside [minDirect, maxDirect] (other than 0) make the fast path
// normalise the embeddings before the GEMM: beyond them x_i·r̂_j could
// overflow, or its products underflow.
const (
	minDirect = 1e-250
	maxDirect = 1e250
)

// newClassMatrix computes the matrix between the rows of x and the class
// vectors of ref: its rows, or its columns when cols is set.
func newClassMatrix(name string, dist distances.Distance, x, ref *mat.Dense, cols bool) (*classMatrix, error) {
	n, d := x.Dims()
	k, _ := ref.Dims()
	if cols {
		_, k = ref.Dims()
	}
	cm := &classMatrix{dist: dist, x: x, ref: ref, cols: cols, n: n, k: k, d: d, fast: unitDot(dist)}
	if !cm.fast {
		m, err := dist.Matrix(x, cm.refRows())
		if err != nil {
			return nil, wrap(name, err)
		}
		cm.m = m
		return cm, nil
	}
	ws := cmPool.Get().(*cmWork)
	cm.ws = ws
	ws.xnorm, ws.xinv = grow(ws.xnorm, n), grow(ws.xinv, n)
	ws.rn, ws.rnorm, ws.rinv = grow(ws.rn, k*d), grow(ws.rnorm, k), grow(ws.rinv, k)
	ws.m = grow(ws.m, n*k)
	raw := x.RawMatrix()
	direct := true
	for i := range n {
		v := rownorm.Norm2(raw.Data[i*raw.Stride : i*raw.Stride+d])
		ws.xnorm[i], ws.xinv[i] = v, 1/math.Max(v, rownorm.Eps)
		if v != 0 && !(v >= minDirect && v <= maxDirect) {
			direct = false
		}
	}
	if direct {
		cm.a, cm.lda, cm.xs = raw.Data, raw.Stride, ws.xinv
	} else {
		ws.xn, ws.xs = grow(ws.xn, n*d), grow(ws.xs, n)
		for i := range n {
			s, src := ws.xinv[i], raw.Data[i*raw.Stride:i*raw.Stride+d]
			for q, v := range src {
				ws.xn[i*d+q] = v * s
			}
			ws.xs[i] = 1
		}
		cm.a, cm.lda, cm.xs = ws.xn, d, ws.xs
	}
	if cols {
		normalizeCols(ws.rn, ws.rnorm, ws.rinv, ref)
		gemm.Dgemm(false, false, n, k, d, 1, cm.a, cm.lda, ws.rn, k, 0, ws.m, k)
	} else {
		rownorm.NormalizeInto(ws.rn, ws.rnorm, ref)
		for j, v := range ws.rnorm {
			ws.rinv[j] = 1 / math.Max(v, rownorm.Eps)
		}
		gemm.Dgemm(false, true, n, k, d, 1, cm.a, cm.lda, ws.rn, d, 0, ws.m, k)
	}
	if direct {
		for i, s := range ws.xinv {
			row := ws.m[i*k : (i+1)*k]
			for j := range row {
				row[j] *= s
			}
		}
	}
	cm.m = mat.NewDense(n, k, ws.m)
	return cm, nil
}

// refRows returns the class vectors as the rows of a K×D matrix.
func (cm *classMatrix) refRows() *mat.Dense {
	if cm.cols {
		return mat.DenseCopyOf(cm.ref.T())
	}
	return cm.ref
}

// scratch returns N×K buffer i (0 or 1) that lives until release (its
// contents are undefined), or a new zeroed one on the general path.
func (cm *classMatrix) scratch(i int) []float64 {
	if cm.ws == nil {
		return make([]float64, cm.n*cm.k)
	}
	cm.ws.tmp[i] = grow(cm.ws.tmp[i], cm.n*cm.k)
	return cm.ws.tmp[i]
}

// release returns the pooled buffers; cm.m and scratch() must not be used
// afterwards. Without a call they are simply garbage collected.
func (cm *classMatrix) release() {
	if cm.ws != nil {
		cmPool.Put(cm.ws)
		cm.ws, cm.m, cm.a, cm.xs = nil, nil, nil, nil
	}
}

// normalizeCols writes w (D×K) with column j divided by max(‖column‖₂,
// Eps) to dst (D×K, stride K), the column norms to norms and the scales
// 1/max(‖column‖₂, Eps) to inv. The squares are summed in row
// order, as rownorm.Norm of the transposed column would.
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
	for j := range norms {
		norms[j] = math.Sqrt(norms[j])
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
}

// addVJP adds the gradients with respect to x (to dx, N×D) and to the class
// vectors (to dref, shaped as ref) given g = d(loss)/d(m), N×K. g is not
// modified.
func (cm *classMatrix) addVJP(name string, g *mat.Dense, dx, dref *mat.Dense) error {
	if !cm.fast {
		dq, dr, err := cm.dist.MatrixVJP(cm.x, cm.refRows(), cm.m, g)
		if err != nil {
			return wrap(name, err)
		}
		dx.Add(dx, dq)
		if cm.cols {
			dref.Add(dref, dr.T())
		} else {
			dref.Add(dref, dr)
		}
		return nil
	}
	// With x̂ = x/‖x‖ and r̂ = r/‖r‖, m_ij = x̂_i·r̂_j, and
	//   d/dx_i = (G_i − (G_i·x̂_i) x̂_i) / ‖x_i‖,  G_i = Σ_j g_ij r̂_j,
	// where G_i·x̂_i = Σ_j g_ij m_ij: the projection needs no pass over
	// G. Likewise d/dr_j = (H_j − (H_j·r̂_j) r̂_j) / ‖r_j‖ with H_j =
	// Σ_i g_ij x̂_i and H_j·r̂_j = Σ_i g_ij m_ij. x̂_i = xs_i·a_i, so the
	// GEMMs take a with g scaled accordingly. A norm at or below Eps is
	// clamped: the map is then x/Eps, without the projection.
	ws := cm.ws
	n, k, d := cm.n, cm.k, cm.d
	ws.gx, ws.gr = grow(ws.gx, n*k), grow(ws.gr, n*k)
	ws.t, ws.corr, ws.tx = grow(ws.t, k), grow(ws.corr, n), grow(ws.tx, n*d)
	gx, gr, t, rinv, corr := ws.gx, ws.gr, ws.t, ws.rinv, ws.corr
	clear(t)
	graw := g.RawMatrix()
	for i := range n {
		gi := graw.Data[i*graw.Stride : i*graw.Stride+k]
		mi := ws.m[i*k : (i+1)*k]
		gxi, gri := gx[i*k:(i+1)*k], gr[i*k:(i+1)*k]
		mi, gxi, gri, t, rinv := mi[:len(gi)], gxi[:len(gi)], gri[:len(gi)], t[:len(gi)], rinv[:len(gi)]
		ix, xs := ws.xinv[i], cm.xs[i]
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
	if cm.cols {
		gemm.Dgemm(false, true, n, d, k, 1, gx, k, ws.rn, k, 0, ws.tx, d)
	} else {
		gemm.Dgemm(false, false, n, d, k, 1, gx, k, ws.rn, d, 0, ws.tx, d)
	}
	xd := dx.RawMatrix()
	for i := range n {
		dst := xd.Data[i*xd.Stride : i*xd.Stride+d]
		floats.Add(dst, ws.tx[i*d:(i+1)*d])
		if c := corr[i]; c != 0 {
			floats.AddScaled(dst, c, cm.a[i*cm.lda:i*cm.lda+d])
		}
	}
	rd := dref.RawMatrix()
	if cm.cols {
		gemm.Dgemm(true, false, d, k, n, 1, cm.a, cm.lda, gr, k, 1, rd.Data, rd.Stride)
	} else {
		gemm.Dgemm(true, false, k, d, n, 1, gr, k, cm.a, cm.lda, 1, rd.Data, rd.Stride)
	}
	// The projections of the class vectors: c_j = −t_j/‖r_j‖ times r̂_j.
	for j := range k {
		if ws.rnorm[j] <= rownorm.Eps {
			t[j] = 0
		} else {
			t[j] *= -rinv[j]
		}
	}
	if cm.cols {
		for q := range d {
			dst, rn := rd.Data[q*rd.Stride:q*rd.Stride+k], ws.rn[q*k:(q+1)*k]
			for j, c := range t[:len(dst)] {
				dst[j] += c * rn[j]
			}
		}
		return nil
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
	return nil
}
