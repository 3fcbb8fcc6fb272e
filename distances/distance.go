package distances

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"gonum.org/v1/gonum/mat"
)

// Distance mirrors PML's BaseDistance: a pairwise measure between query rows
// and reference rows, with the vector-Jacobian products needed to
// back-propagate a loss through it.
//
// A nil ref means "ref is query" (PML's ref_emb=None): the matrix is N×N and
// the gradient of both roles lands in dQuery (dRef is nil). Inputs are
// validated: an empty or non-finite matrix, or query and ref with different
// column counts, give an error wrapping gometric.ErrShape or
// gometric.ErrNonFinite.
//
// A Distance of your own implements these five methods; the losses then
// compute its matrix with Matrix and back-propagate with MatrixVJP (see
// NewSession), and may implement SessionOpener for a faster path. The
// distances of this package are safe for concurrent use while their
// fields are not being changed; a loss calls its distance from the
// goroutine that calls the loss.
type Distance interface {
	// Matrix returns the N×M matrix of distances (or similarities, when
	// Settings().Inverted) between the rows of query and ref, after the
	// optional normalisation and raised to Settings().Power. It mirrors
	// BaseDistance.forward.
	Matrix(query, ref *mat.Dense) (*mat.Dense, error)
	// MatrixVJP returns d(loss)/d(query) and d(loss)/d(ref) given
	// grad = d(loss)/d(Matrix(query, ref)). m may be the matrix Matrix
	// returned for the same inputs, to save recomputing it, or nil. With a
	// nil ref, dRef is nil and dQuery holds the gradient of both roles.
	MatrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error)
	// Pairwise returns the distance between row i of x and row i of y for
	// every i, mirroring BaseDistance.pairwise_distance exactly: as in PML,
	// neither the normalisation nor Settings().Power is applied (callers
	// such as AngularLoss normalise first themselves), and Lp adds PML's
	// 1e-6 to the difference (torch's pairwise_distance), so Pairwise is
	// not a diagonal of Matrix.
	Pairwise(x, y *mat.Dense) ([]float64, error)
	// PairwiseVJP returns d(loss)/dx and d(loss)/dy given
	// grad[i] = d(loss)/d(Pairwise(x, y)[i]).
	PairwiseVJP(x, y *mat.Dense, grad []float64) (dx, dy *mat.Dense, err error)
	// Settings returns the distance's settings.
	Settings() Settings
}

// Settings are the attributes every PML distance has. The zero Settings (no
// normalisation, P and Power 0, not inverted) is what a nil distance
// reports; it is not a valid distance's. A Settings is a plain value, safe
// for concurrent use.
type Settings struct {
	// NormalizeEmbeddings: rows are divided by their P-norm first
	// (PML's normalize_embeddings).
	NormalizeEmbeddings bool
	// P is the norm used for normalisation (and by Lp for the distance).
	P float64
	// Power raises every distance to this power.
	Power float64
	// Inverted is true for similarities: larger means closer
	// (PML's is_inverted).
	Inverted bool
}

// Margin mirrors BaseDistance.margin: how much farther y is than x, i.e.
// x - y for a distance and y - x for a similarity. A nil d (a nil
// interface, a nil pointer, or a Batched without a distance) has no
// order: Margin returns NaN, as it does when x or y is NaN.
func Margin(d Distance, x, y float64) float64 {
	inv, ok := inverted(d)
	switch {
	case !ok:
		return math.NaN()
	case inv:
		return y - x
	}
	return x - y
}

// Closer reports whether value a means "closer" than value b under d (false
// for a nil d, which has no order, and when a or b is NaN).
func Closer(d Distance, a, b float64) bool {
	inv, ok := inverted(d)
	switch {
	case !ok:
		return false
	case inv:
		return a > b
	}
	return a < b
}

// Smallest mirrors BaseDistance.smallest_dist over one row: the value and
// index of the closest entry (the maximum for a similarity, the minimum
// otherwise). The first index wins ties; ±Inf are ordinary values. It
// returns an error, with index -1, for a nil d (a nil interface, a nil
// pointer, or a Batched without a distance: gometric.ErrSetting), an
// empty row (gometric.ErrShape; torch.min of an empty tensor raises too)
// and a NaN anywhere in the row (gometric.ErrNonFinite, naming the first
// NaN's index), which has no order.
func Smallest(d Distance, row []float64) (value float64, index int, err error) {
	return extremeOf("distances.Smallest", d, row, false)
}

// Largest mirrors BaseDistance.largest_dist over one row: the farthest
// entry's value and index (the minimum for a similarity, the maximum
// otherwise), with the rules and errors of Smallest.
func Largest(d Distance, row []float64) (value float64, index int, err error) {
	return extremeOf("distances.Largest", d, row, true)
}

func extremeOf(name string, d Distance, row []float64, largest bool) (float64, int, error) {
	inv, ok := inverted(d)
	if !ok {
		return math.NaN(), -1, check.Settingf(name, "nil Distance %T has no order", d)
	}
	if len(row) == 0 {
		return math.NaN(), -1, check.Errorf(name, gometric.ErrShape, "empty row")
	}
	v, i := extreme(row, inv != largest)
	if v != v {
		return v, -1, check.Errorf(name, gometric.ErrNonFinite, "row[%d] is NaN, which has no order", i)
	}
	return v, i, nil
}

// inverted returns d's Settings().Inverted, and false for a nil d (a nil
// interface, a nil pointer, or a Batched without a distance), which has
// no order.
func inverted(d Distance) (inv, ok bool) {
	switch v := d.(type) {
	case nil:
		return false, false
	case *Lp:
		return false, v != nil
	case *SNR:
		return false, v != nil
	case *CosineSimilarity:
		return true, v != nil
	case *DotProductSimilarity:
		return true, v != nil
	case *Batched:
		if v == nil {
			return false, false
		}
		return inverted(v.Distance)
	}
	if check.Nil(d) {
		// A nil pointer of a Distance of the caller's: its Settings may
		// not be callable.
		return false, false
	}
	return d.Settings().Inverted, true
}

// extreme returns the maximum (wantMax) or minimum of a non-empty row and
// its first index, or NaN and the index of the first NaN.
func extreme(row []float64, wantMax bool) (float64, int) {
	best, bi := row[0], 0
	if best != best {
		return best, 0
	}
	for i, v := range row[1:] {
		if v != v {
			return v, i + 1
		}
		if (wantMax && v > best) || (!wantMax && v < best) {
			best, bi = v, i+1
		}
	}
	return best, bi
}
