// Fixed blocks of rows for parallel passes, and the scratch arena.

package distances

import (
	"github.com/gometric/gometric/internal/pairdist"
	"github.com/gometric/gometric/internal/workers"
	"gonum.org/v1/gonum/mat"
)

// blockRows is the number of rows per parallel work item. It is fixed, so
// the partition (and hence every result) does not depend on GOMAXPROCS.
const blockRows = 16

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
