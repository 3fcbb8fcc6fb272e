// Package pairdist lets the losses package compute a distance matrix and
// back-propagate through it without the costs the public distances API
// must pay on every call: re-validating inputs the loss has already
// checked, normalising the embeddings twice (once for the matrix, once for
// its VJP) and allocating every N×M and N×D buffer afresh.
//
// Package distances implements Session for its own distance types and
// registers the constructor with Register from an init function; package
// losses calls Open and falls back to the public Distance methods when Open
// reports that the distance is not one it knows (a user-defined Distance).
//
// The package also holds the pool of float64 buffers that sessions and
// losses share (Dense, Floats, Recycle).
package pairdist

import (
	"math/bits"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// Session is the distance matrix between query rows and ref rows (ref nil:
// query, "ref is query") with what its VJP needs. A Session is used by one
// goroutine.
type Session interface {
	// Matrix returns the N×M matrix, as the distance's Matrix method would.
	// It belongs to the session: it must not be modified, and not be used
	// after Release.
	Matrix() *mat.Dense
	// Upper returns the matrix Matrix returns, but when Symmetric only its
	// entries on and above the diagonal are certain to be set until Matrix
	// is called (which then mirrors them): a loss that only reads those
	// saves the copy.
	Upper() *mat.Dense
	// Backward adds d(loss)/d(query) to dq (N×D) and d(loss)/d(ref) to dr
	// (M×D; nil when ref is query, and then dq receives both roles), given
	// gm = d(loss)/d(Matrix()). gm is not modified. It may be called more
	// than once. The gradients are not checked for overflow: the caller
	// checks dq and dr.
	Backward(gm, dq, dr *mat.Dense) error
	// BackwardEntries is Backward for a gm given by its non-zero entries
	// (an entry listed twice counts twice), for gradients that are mostly
	// zero. When Symmetric, an entry (i, j) may carry the gradient of
	// (j, i) too: listing such pairs once, with the sum, halves the work.
	BackwardEntries(entries []Entry, dq, dr *mat.Dense) error
	// Symmetric reports whether the matrix is exactly symmetric as a
	// function of the rows (ref is query and the distance is symmetric),
	// so that the gradients of entries (i, j) and (j, i) may be merged.
	Symmetric() bool
	// Release hands the session's buffers back to the pool. Neither the
	// session nor its matrix may be used afterwards. Not calling it is
	// safe: the buffers are then left to the garbage collector.
	Release()
}

// Entry is an entry (I, J) of a gradient with respect to a distance
// matrix, of value G.
type Entry struct {
	I, J int
	G    float64
}

// OpenFunc is the signature of the constructor package distances
// registers: it returns a session for d when d is one of its own distance
// types (ok true; err for invalid settings), and ok false otherwise. query
// and ref (nil: query) must already be validated: non-empty, finite and
// with the same number of columns.
type OpenFunc func(d any, query, ref *mat.Dense) (s Session, ok bool, err error)

var open OpenFunc

// Register installs the constructor Open uses. Package distances calls it
// once, from an init function.
func Register(f OpenFunc) { open = f }

// Open returns a session for the distance d between query and ref (nil:
// query), or ok false when no session is available for d's type. query and
// ref must already be validated (see OpenFunc).
func Open(d any, query, ref *mat.Dense) (s Session, ok bool, err error) {
	if open == nil || d == nil {
		return nil, false, nil
	}
	return open(d, query, ref)
}

// pools holds recycled float64 slices by size class: class c holds slices
// of capacity exactly 1<<c, so any slice taken from it fits a request of
// up to that many elements.
var pools [64]sync.Pool // *[]float64

func class(n int) int { return bits.Len(uint(n - 1)) }

// Floats returns a slice of n zeroed float64 values (n ≥ 1) from the pool.
func Floats(n int) []float64 {
	s := DirtyFloats(n)
	clear(s)
	return s
}

// DirtyFloats is Floats without the zeroing: the values are arbitrary.
func DirtyFloats(n int) []float64 {
	c := class(n)
	if p, ok := pools[c].Get().(*[]float64); ok {
		return (*p)[:n]
	}
	return make([]float64, n, 1<<c)
}

// RecycleFloats hands a slice obtained from Floats or DirtyFloats back to
// the pool. Slices of other capacities are ignored.
func RecycleFloats(s []float64) {
	c := cap(s)
	if c == 0 || c&(c-1) != 0 {
		return
	}
	s = s[:c]
	pools[bits.Len(uint(c-1))].Put(&s)
}

// Dense returns a zeroed r×c matrix (r, c ≥ 1) backed by a pooled slice.
func Dense(r, c int) *mat.Dense { return mat.NewDense(r, c, Floats(r*c)) }

// DirtyDense is Dense without the zeroing: the entries are arbitrary.
func DirtyDense(r, c int) *mat.Dense { return mat.NewDense(r, c, DirtyFloats(r*c)) }

// Recycle hands the storage of a matrix obtained from Dense or DirtyDense
// back to the pool. The matrix must not be used afterwards.
func Recycle(m *mat.Dense) {
	if m != nil {
		RecycleFloats(m.RawMatrix().Data)
	}
}
