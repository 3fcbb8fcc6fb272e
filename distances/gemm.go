// The GEMM-based matrices: dot products, squared distances with the
// cancellation guard, and the mirroring of symmetric results.

package distances

import (
	"math"

	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

// guardRatio decides when the GEMM formula ‖a‖² + ‖b‖² − 2a·b is not
// trusted: an entry whose squared distance is below guardRatio·(‖a‖²+‖b‖²)
// is recomputed directly as Σ(a−b)². Above it the relative error of the
// formula is at most about D·ε/guardRatio.
const guardRatio = 1e-6

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

func sqDiff(a, b []float64) float64 {
	var s float64
	for k, v := range a {
		e := v - b[k]
		s += e * e
	}
	return s
}

// sqDists sets out (any content on entry) to the matrix of squared
// Euclidean distances between the rows of a and b (b ignored when self),
// or with root to the distances themselves, from one GEMM; na and nb are
// the rows' squared norms (nb nil: na). Entries where the formula cancels
// are recomputed directly by exact(i, j) (nil: lpExact, Σ(a_i − b_j)²
// scaled where it overflows or underflows), so identical rows give
// exactly 0. It reports whether every entry is known to be finite (false
// may also mean "not checked").
//
// With exact nil (the Lp distance), a row whose squared norm is not
// gemmSafe (entries beyond about 1e153 or below about 1e-146 in magnitude,
// other than a zero row) would make the GEMM formula wrong: every entry in
// its row or column is recomputed by lpExact, which is right for any
// finite rows (+Inf only when the distance, or with root false its square,
// exceeds math.MaxFloat64).
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
	ex := func(i, j int) float64 {
		if exact == nil {
			return lpExact(a.RawRowView(i)[:d], b.RawRowView(j)[:d], root)
		}
		s := exact(i, j)
		if root {
			s = math.Sqrt(s)
		}
		return s
	}
	var exA, exB []int // rows of a and b with extreme norms (Lp only)
	if exact == nil {
		exA = extremeRows(na, a)
		exB = exA
		if !self {
			exB = extremeRows(nb, b)
		}
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
					s := ex(i, j)
					ok = ok && s <= math.MaxFloat64
					row[j] = s
				}
			}
		}
		bad[blk] = !ok
	})
	if exA != nil || exB != nil {
		// The rows and columns of extreme rows, entry by entry (for self,
		// the upper triangle).
		for _, i := range exA {
			row := raw.Data[i*raw.Stride : i*raw.Stride+m]
			j0 := 0
			if self {
				j0 = i + 1
			}
			for j := j0; j < m; j++ {
				row[j] = ex(i, j)
			}
		}
		for _, j := range exB {
			i1 := n
			if self {
				i1 = j
			}
			for i := 0; i < i1; i++ {
				raw.Data[i*raw.Stride+j] = ex(i, j)
			}
		}
	}
	if self && mirror {
		mirrorUpper(out)
	}
	if exA != nil || exB != nil {
		return false
	}
	for _, b := range bad {
		if b {
			return false
		}
	}
	return true
}

// gemmSafe reports whether a squared norm v may enter the GEMM formula
// ‖a‖² + ‖b‖² − 2a·b: rownorm.Safe (no overflow, no bits lost to
// underflow) and at most a quarter of float64's range, so that no sum in
// the formula overflows.
func gemmSafe(v float64) bool { return rownorm.Safe(v) && v <= math.MaxFloat64/4 }

// extremeRows returns the indices of the rows of x whose squared norms sq
// are not gemmSafe (a zero sum of a non-zero row among them; a zero row is
// not extreme).
func extremeRows(sq []float64, x *mat.Dense) []int {
	var out []int
	_, d := x.Dims()
	for i, v := range sq {
		if !gemmSafe(v) && (v != 0 || !allZero(x.RawRowView(i)[:d])) {
			out = append(out, i)
		}
	}
	return out
}

func allZero(x []float64) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

// lpExact returns Σ(a − b)², or with root its square root, directly: the
// plain sum, or the scaled norm of a − b (rownorm.ScaledDiff) when that sum
// overflows or underflows, so the distance is right for any finite rows.
func lpExact(a, b []float64, root bool) float64 {
	s := sqDiff(a, b)
	if !rownorm.Safe(s) {
		d := rownorm.ScaledDiff(a, b, 2)
		if root {
			return d
		}
		return d * d
	}
	if root {
		return math.Sqrt(s)
	}
	return s
}

// guardRow turns a row of −2·a_i·b_j into the squared distances
// na + nb_j − 2·a_i·b_j (their square roots with root), except the entries
// where that formula cancels, which it sets to −1 and counts. It reports
// whether the other entries are finite.
func guardRow(row, nb []float64, na float64, root bool) (near int, finite bool) {
	nb = nb[:len(row)]
	done, near, finite := guardRowVec(row, nb, na, root)
	n2, f2 := guardRowScalar(row[done:], nb[done:], na, root)
	return near + n2, finite && f2
}

// guardRowScalar is guardRow one entry at a time.
func guardRowScalar(row, nb []float64, na float64, root bool) (near int, finite bool) {
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

// mirrorUpper copies the upper triangle of the square matrix m onto the
// lower one (gemm.MirrorUpper).
func mirrorUpper(m *mat.Dense) {
	n, _ := m.Dims()
	raw := m.RawMatrix()
	gemm.MirrorUpper(raw.Data, raw.Stride, n)
}
