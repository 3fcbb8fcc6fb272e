// The matrix of a spec and its VJP, the public methods' common path.

package distances

import (
	"math"

	"github.com/gometric/gometric/internal/check"
	"gonum.org/v1/gonum/mat"
)

func (s spec) matrix(query, ref *mat.Dense) (*mat.Dense, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	if s.unit() && ref != nil {
		if err := s.checkInputs(query, ref); err != nil {
			return nil, err
		}
		return s.unitMatrix(query, ref)
	}
	var ar arena
	defer ar.release()
	in, err := s.prepare(query, ref, &ar)
	if err != nil {
		return nil, err
	}
	out := mat.NewDense(in.n, in.m, nil)
	if _, err := s.compute(in, out, &ar, false); err != nil {
		return nil, err
	}
	return out, nil
}

// compute sets out (N×M, any content) to the matrix (power applied) for
// prepared inputs, checking that it is finite. With upper, a self Lp
// matrix for P = 2 and Power 1 or 2 may be left with only its entries on
// and above the diagonal set (complete false; mirrorUpper completes it).
func (s spec) compute(in *inputs, out *mat.Dense, ar *arena, upper bool) (complete bool, err error) {
	powered, finite := false, false
	complete = true
	switch s.kind {
	case kindLp:
		if s.p == 2 {
			// With Power 2 the squared distances are the answer; otherwise
			// the square roots are taken in the same pass.
			powered = s.power == 2
			complete = !upper || !in.self || (s.power != 1 && !powered)
			na, nb := in.sqNorms()
			finite = sqDists(out, in.qn, in.rn, na, nb, in.self, nil, s.power != 2, complete)
		} else {
			lpMatrix(out, in.qn, in.rn, s.p, in.self)
		}
	case kindDot:
		scaledNT(out, 1, in.qn, in.rn)
		// Normalised rows have entries of magnitude at most 1, so their
		// dot products are bounded by D.
		finite = s.normalize
	case kindSNR:
		if err := s.snrMatrix(in, out, ar); err != nil {
			return true, err
		}
	}
	if !powered && s.power != 1 {
		finite = false
		pw := s.power
		if pw == 2 {
			mapInPlace(out, func(v float64) float64 { return v * v })
		} else {
			mapInPlace(out, func(v float64) float64 { return math.Pow(v, pw) })
		}
	}
	if finite {
		return complete, nil
	}
	if !complete {
		mirrorUpper(out)
	}
	return true, s.finite("matrix", out)
}

func (s spec) matrixVJP(query, ref, m, grad *mat.Dense) (dQuery, dRef *mat.Dense, err error) {
	if err := s.validate(); err != nil {
		return nil, nil, err
	}
	if s.unit() && ref != nil {
		if err := s.checkInputs(query, ref); err != nil {
			return nil, nil, err
		}
		n, _ := query.Dims()
		k, _ := ref.Dims()
		if err := s.checkVJPArgs(m, grad, n, k); err != nil {
			return nil, nil, err
		}
		return s.unitMatrixVJP(query, ref, m, grad)
	}
	var ar arena
	defer ar.release()
	in, err := s.prepare(query, ref, &ar)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkVJPArgs(m, grad, in.n, in.m); err != nil {
		return nil, nil, err
	}
	if m == nil {
		m = ar.dirty(in.n, in.m)
		if _, err := s.compute(in, m, &ar, false); err != nil {
			return nil, nil, err
		}
	}
	dq := mat.NewDense(in.n, in.d, nil)
	var dr *mat.Dense
	if !in.self {
		dr = mat.NewDense(in.m, in.d, nil)
	}
	if s.normalize {
		// The VJP with respect to the normalised rows is scratch.
		dqn := ar.zeroed(in.n, in.d)
		var drn *mat.Dense
		if !in.self {
			drn = ar.zeroed(in.m, in.d)
		}
		if err := s.vjp(in, m, grad, dqn, drn, &ar); err != nil {
			return nil, nil, err
		}
		normalizeVJPAdd(dq, in.q, dqn, s.p, in.qNorms)
		if !in.self {
			normalizeVJPAdd(dr, in.r, drn, s.p, in.rNorms)
		}
	} else if err := s.vjp(in, m, grad, dq, dr, &ar); err != nil {
		return nil, nil, err
	}
	if err := s.finite("query gradient", dq); err != nil {
		return nil, nil, err
	}
	if in.self {
		return dq, nil, nil
	}
	if err := s.finite("ref gradient", dr); err != nil {
		return nil, nil, err
	}
	return dq, dr, nil
}

// vjp adds the VJP of the matrix m with respect to the normalised rows to
// dA and dB (nil when self) given g = d(loss)/d(m); g is not modified.
func (s spec) vjp(in *inputs, m, g, dA, dB *mat.Dense, ar *arena) error {
	switch s.kind {
	case kindLp:
		if s.p == 2 {
			lp2VJP(in, m, g, s.power, dA, dB, ar)
		} else {
			lpVJP(in, m, g, s.p, s.power, dA, dB, ar)
		}
	case kindDot:
		s.dotVJP(in, m, g, dA, dB, ar)
	case kindSNR:
		return s.snrVJP(in, m, g, dA, dB, ar)
	}
	return nil
}

// checkVJPArgs validates the arguments of MatrixVJP besides the inputs:
// grad N×M and finite, m nil or N×M and finite.
func (s spec) checkVJPArgs(m, grad *mat.Dense, n, k int) error {
	if err := check.Dims(s.name, "grad", grad, n, k); err != nil {
		return err
	}
	if err := check.Matrix(s.name, "grad", grad); err != nil {
		return err
	}
	if m == nil {
		return nil
	}
	if err := check.Dims(s.name, "m", m, n, k); err != nil {
		return err
	}
	return check.Matrix(s.name, "m", m)
}
