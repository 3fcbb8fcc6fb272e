// Package pairdist holds the pool of float64 buffers that the distance
// sessions of package distances and the losses of package losses share
// (Dense, Floats, Recycle): a loss call takes its N×M and N×D scratch
// matrices from it and hands them back, so that a training loop does not
// allocate them at every step.
package pairdist

import (
	"math/bits"
	"sync"

	"gonum.org/v1/gonum/mat"
)

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
