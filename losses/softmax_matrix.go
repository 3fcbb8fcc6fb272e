package losses

import (
	"sync"

	"github.com/gometric/gometric/distances"
	"gonum.org/v1/gonum/mat"
)

// classMatrix is the N×K similarity matrix between the embeddings and K
// class vectors, with its VJP, in a distance session: the class vectors
// are the rows of a K×D matrix (distances.NewSession), or the columns of a
// D×K one (W of the softmax losses, read in place by
// distances.NewColumnSession). For PML's default CosineSimilarity and
// DotProductSimilarity the session computes the class-head product of
// package distances; for other distances it holds their matrix for their
// VJP.
type classMatrix struct {
	s    distances.Session
	m    *mat.Dense // N×K, the session's
	n, k int
	ws   *cmWork // scratch, nil once released
}

// cmWork is the N×K scratch a loss may borrow from a classMatrix (see
// scratch), reused across calls through cmPool.
type cmWork struct {
	tmp [2][]float64
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

// newClassMatrix computes the matrix between the rows of x and the class
// vectors of ref: its rows, or its columns when cols is set.
func newClassMatrix(name string, dist distances.Distance, x, ref *mat.Dense, cols bool) (*classMatrix, error) {
	var s distances.Session
	var err error
	if cols {
		s, err = distances.NewColumnSession(dist, x, ref)
	} else {
		s, err = distances.NewSession(dist, x, ref)
	}
	if err != nil {
		return nil, wrap(name, err)
	}
	m := s.Matrix()
	n, k := m.Dims()
	return &classMatrix{s: s, m: m, n: n, k: k, ws: cmPool.Get().(*cmWork)}, nil
}

// scratch returns N×K buffer i (0 or 1) that lives until release (its
// contents are undefined).
func (cm *classMatrix) scratch(i int) []float64 {
	cm.ws.tmp[i] = grow(cm.ws.tmp[i], cm.n*cm.k)
	return cm.ws.tmp[i]
}

// release returns the pooled buffers; cm.m and scratch() must not be used
// afterwards. Without a call they are simply garbage collected.
func (cm *classMatrix) release() {
	if cm.ws != nil {
		cm.s.Release()
		cmPool.Put(cm.ws)
		cm.ws, cm.m = nil, nil
	}
}

// addVJP adds the gradients with respect to x (to dx, N×D) and to the class
// vectors (to dref, shaped as ref) given g = d(loss)/d(m), N×K. g is not
// modified.
func (cm *classMatrix) addVJP(name string, g *mat.Dense, dx, dref *mat.Dense) error {
	return wrap(name, cm.s.Backward(g, dx, dref))
}
