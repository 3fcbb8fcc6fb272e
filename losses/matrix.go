package losses

import (
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/pairdist"
	"gonum.org/v1/gonum/mat"
)

// refArg is the ref to hand to a Distance: nil when ref is query.
func (in *input) refArg() *mat.Dense {
	if in.refIsQuery {
		return nil
	}
	return in.ref
}

// openSession is a distance session with its matrix.
type openSession struct {
	distances.Session
	m *mat.Dense
}

// matrix computes the distance matrix between embeddings and ref in a
// distance session (distances.NewSession): for the distances of package
// distances it keeps what the VJP needs and does not scan the inputs
// again; for others it holds the matrix of Matrix for MatrixVJP.
func (in *input) matrix() (*mat.Dense, error) {
	m, _, err := in.matrixUpper()
	if err != nil || m == nil {
		return m, err
	}
	return in.complete(m), nil
}

// matrixUpper is matrix for a loss that only reads the entries on and
// above the diagonal of a symmetric matrix (sym true; see
// distances.Session.Upper); complete gives the whole matrix.
func (in *input) matrixUpper() (m *mat.Dense, sym bool, err error) {
	s, err := distances.NewSession(in.dist, in.emb, in.refArg())
	if err != nil {
		return nil, false, err
	}
	in.sessions = append(in.sessions, openSession{s, s.Upper()})
	return s.Upper(), s.Symmetric(), nil
}

// session returns the session of the matrix m, or nil.
func (in *input) session(m *mat.Dense) distances.Session {
	for _, s := range in.sessions {
		if s.m == m {
			return s.Session
		}
	}
	return nil
}

// complete returns the matrix m of matrixUpper with all its entries set.
func (in *input) complete(m *mat.Dense) *mat.Dense {
	if s := in.session(m); s != nil {
		return s.Matrix()
	}
	return m
}

// matrixBackward back-propagates gm = d/d(matrix) into g; m is the matrix
// matrix returned. gm is not modified.
func (in *input) matrixBackward(m, gm *mat.Dense, g *grads) error {
	if s := in.session(m); s != nil {
		return s.Backward(gm, g.q, g.r)
	}
	dq, dr, err := in.dist.MatrixVJP(in.emb, in.refArg(), m, gm)
	if err != nil {
		return err
	}
	g.q.Add(g.q, dq)
	if dr != nil {
		g.r.Add(g.r, dr)
	}
	return nil
}

// matrixBackwardEntries is matrixBackward for a gradient given by its
// non-zero entries (see distances.Session.BackwardEntries: for a symmetric
// matrix, an entry may carry its mirror's gradient too).
func (in *input) matrixBackwardEntries(m *mat.Dense, entries []distances.Entry, g *grads) error {
	if s := in.session(m); s != nil {
		return s.BackwardEntries(entries, g.q, g.r)
	}
	gm := in.scratchMatrix(in.n, in.m)
	raw := gm.RawMatrix()
	for _, e := range entries {
		raw.Data[e.I*raw.Stride+e.J] += e.G
	}
	return in.matrixBackward(m, gm, g)
}

// scratchMatrix returns a zeroed r×c matrix for the call, from the pool
// when the loss is pooled (then it must not be used once run returns).
func (in *input) scratchMatrix(r, c int) *mat.Dense {
	if !in.pooled {
		return mat.NewDense(r, c, nil)
	}
	m := pairdist.Dense(r, c)
	in.scratch = append(in.scratch, m)
	return m
}

// release ends the call: for a pooled loss the buffers of its sessions
// and scratch matrices go back to the pool.
func (in *input) release() {
	if in.pooled {
		for _, s := range in.sessions {
			s.Release()
		}
		for _, m := range in.scratch {
			pairdist.Recycle(m)
		}
	}
	in.sessions, in.scratch = nil, nil
}
