package distances

import (
	"runtime"
	"sync"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/pairdist"
	"gonum.org/v1/gonum/mat"
)

func init() { pairdist.Register(openSession) }

// session implements pairdist.Session for the distances of this package:
// the normalised rows are kept from the matrix to its VJP, every buffer
// comes from the pool, and the inputs are not validated again.
type session struct {
	s  spec
	in *inputs
	m  *mat.Dense
	// complete is false while a symmetric m has only its upper triangle
	// (see Upper).
	complete bool
	ar       arena // the normalised rows and the matrix
}

// openSession is the pairdist.OpenFunc of this package. A Batched distance
// opens a session of its Distance, whose Matrix and MatrixVJP it
// delegates to.
func openSession(d any, query, ref *mat.Dense) (pairdist.Session, bool, error) {
	var s spec
	switch v := d.(type) {
	case *Lp:
		s = v.spec()
	case *DotProductSimilarity:
		s = v.spec()
	case *CosineSimilarity:
		s = v.spec()
	case *SNR:
		s = v.spec()
	case *Batched:
		if err := v.validate(); err != nil {
			return nil, true, err
		}
		return openSession(v.Distance, query, ref)
	default:
		return nil, false, nil
	}
	if err := s.validate(); err != nil {
		return nil, true, err
	}
	ss := &session{s: s}
	in, err := s.inputs(query, ref, &ss.ar)
	if err != nil {
		ss.Release()
		return nil, true, err
	}
	ss.in = in
	ss.m = ss.ar.dirty(in.n, in.m)
	var scratch arena
	defer scratch.release()
	if ss.complete, err = s.compute(in, ss.m, &scratch, true); err != nil {
		ss.Release()
		return nil, true, err
	}
	return ss, true, nil
}

func (ss *session) Matrix() *mat.Dense {
	if !ss.complete {
		mirrorUpper(ss.m)
		ss.complete = true
	}
	return ss.m
}

func (ss *session) Upper() *mat.Dense { return ss.m }

// Symmetric is true for the self matrices of Lp, DotProductSimilarity and
// CosineSimilarity, which are computed exactly symmetric; SNR is not
// symmetric.
func (ss *session) Symmetric() bool { return ss.in.self && ss.s.kind != kindSNR }

func (ss *session) Backward(gm, dq, dr *mat.Dense) error {
	s, in, m := ss.s, ss.in, ss.Matrix()
	if err := check.Dims(s.name, "grad", gm, in.n, in.m); err != nil {
		return err
	}
	var ar arena
	defer ar.release()
	dqn := ar.zeroed(in.n, in.d)
	var drn *mat.Dense
	if !in.self {
		drn = ar.zeroed(in.m, in.d)
	}
	if err := s.vjp(in, m, gm, dqn, drn, &ar); err != nil {
		return err
	}
	ss.add(dq, in.q, dqn, in.qNorms)
	if !in.self {
		ss.add(dr, in.r, drn, in.rNorms)
	}
	return nil
}

func (ss *session) BackwardEntries(list []pairdist.Entry, dq, dr *mat.Dense) error {
	s, in := ss.s, ss.in
	var ar arena
	defer ar.release()
	direct := (s.kind == kindLp && s.p == 2) || s.kind == kindDot
	if !direct || len(list) > in.n*in.m/sparseDiv {
		// Too many entries, or a distance without an entry-wise VJP: the
		// dense VJP.
		gm := ar.zeroed(in.n, in.m)
		raw := gm.RawMatrix()
		for _, e := range list {
			raw.Data[e.I*raw.Stride+e.J] += e.G
		}
		return ss.Backward(gm, dq, dr)
	}
	dqn := ar.zeroed(in.n, in.d)
	var drn *mat.Dense
	if !in.self {
		drn = ar.zeroed(in.m, in.d)
	}
	a, b := in.qn, in.rn
	dB := drn
	if in.self {
		dB = dqn
	}
	d, mraw, lp := in.d, ss.m.RawMatrix(), s.kind == kindLp
	// Each entry adds to row I of dqn and row J of dB. The rows are split
	// between goroutines, each applying in order the entries that touch
	// its rows: every row receives the same additions in the same order
	// whatever the split.
	apply := func(rowLo, rowHi int, side int) {
		for _, e := range list {
			// side 0: rows of dqn (I, and J when self); side 1: rows of dB
			// (J, not self).
			doI := side == 0 && e.I >= rowLo && e.I < rowHi
			doJ := (side == 1 || in.self) && e.J >= rowLo && e.J < rowHi
			if e.G == 0 || (!doI && !doJ) {
				continue
			}
			qi, rj := a.RawRowView(e.I)[:d], b.RawRowView(e.J)[:d]
			rj = rj[:len(qi)]
			mij := mraw.Data[e.I*mraw.Stride+e.J]
			var w float64
			if lp {
				// Entry by entry, the difference form is exact: no guard.
				var ok bool
				if w, ok = lp2Weight(e.G, mij, s.power); !ok {
					continue
				}
			} else {
				w = e.G
				if s.power != 1 {
					w *= powGrad(dotRaw(qi, rj, mij, s.power), s.power)
				}
			}
			if doI && doJ {
				gi, gj := dqn.RawRowView(e.I)[:len(qi)], dB.RawRowView(e.J)[:len(qi)]
				if lp {
					for k, v := range qi {
						t := w * (v - rj[k])
						gi[k] += t
						gj[k] -= t
					}
				} else {
					for k, v := range rj {
						gi[k] += w * v
						gj[k] += w * qi[k]
					}
				}
				continue
			}
			if doI {
				gi := dqn.RawRowView(e.I)[:len(qi)]
				if lp {
					for k, v := range qi {
						gi[k] += w * (v - rj[k])
					}
				} else {
					for k, v := range rj {
						gi[k] += w * v
					}
				}
			}
			if doJ {
				gj := dB.RawRowView(e.J)[:len(qi)]
				if lp {
					for k, v := range qi {
						gj[k] -= w * (v - rj[k])
					}
				} else {
					for k, v := range qi {
						gj[k] += w * v
					}
				}
			}
		}
	}
	switch {
	case len(list)*d < parallelWork || runtime.GOMAXPROCS(0) < 2:
		apply(0, in.n, 0)
		if !in.self {
			apply(0, in.m, 1)
		}
	case in.self:
		h := in.n / 2
		var wg sync.WaitGroup
		wg.Go(func() { apply(h, in.n, 0) })
		apply(0, h, 0)
		wg.Wait()
	default:
		var wg sync.WaitGroup
		wg.Go(func() { apply(0, in.m, 1) })
		apply(0, in.n, 0)
		wg.Wait()
	}
	ss.add(dq, in.q, dqn, in.qNorms)
	if !in.self {
		ss.add(dr, in.r, drn, in.rNorms)
	}
	return nil
}

// add adds to dst the gradient with respect to x given g, the gradient
// with respect to its normalised rows. The result is not checked for
// overflow: a loss checks its gradient.
func (ss *session) add(dst, x, g *mat.Dense, norms []float64) {
	if ss.s.normalize {
		normalizeVJPAdd(dst, x, g, ss.s.p, norms)
	} else {
		addTo(dst, g)
	}
}

func (ss *session) Release() {
	ss.ar.release()
	ss.in, ss.m = nil, nil
}
