// Pairwise values (PML's pairwise_distance) and their VJP.

package distances

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

// pairwiseEps is the constant torch.nn.functional.pairwise_distance adds to
// the difference x − y before taking its norm.
const pairwiseEps = 1e-6

func (s spec) pairwise(x, y *mat.Dense) ([]float64, error) {
	if err := s.checkPair(x, y); err != nil {
		return nil, err
	}
	n, d := x.Dims()
	out := make([]float64, n)
	diff := make([]float64, d)
	xc := make([]float64, d)
	for i := range out {
		xi, yi := x.RawRowView(i)[:d], y.RawRowView(i)[:d]
		switch s.kind {
		case kindLp:
			for k := range diff {
				diff[k] = xi[k] - yi[k] + pairwiseEps
			}
			out[i] = rownorm.Norm(diff, s.p)
		case kindDot:
			out[i] = dot(xi, yi)
		case kindSNR:
			centredPair(xc, diff, xi, yi)
			xv, sq := dot(xc, xc), dot(diff, diff)
			if !pairSafe(xv, xc) || !pairSafe(sq, diff) {
				// The squared ratio of two norms, each scaled
				// (rownorm.Scaled): right at any magnitude.
				xv = rownorm.Scaled(xc, 2)
				sq = rownorm.Scaled(diff, 2) / xv
				sq *= sq
			} else {
				sq /= xv
			}
			if xv == 0 {
				return nil, s.zeroVariance("x", i)
			}
			out[i] = sq
		}
		if math.IsNaN(out[i]) || math.IsInf(out[i], 0) {
			return nil, check.Errorf(s.name, gometric.ErrNonFinite, "pairwise value %d is %v (overflow)", i, out[i])
		}
	}
	return out, nil
}

func (s spec) pairwiseVJP(x, y *mat.Dense, grad []float64) (dx, dy *mat.Dense, err error) {
	if err := s.checkPair(x, y); err != nil {
		return nil, nil, err
	}
	n, d := x.Dims()
	if len(grad) != n {
		return nil, nil, check.Errorf(s.name, gometric.ErrShape, "grad has %d values for %d rows", len(grad), n)
	}
	if err := check.Floats(s.name, "grad", grad); err != nil {
		return nil, nil, err
	}
	dx, dy = mat.NewDense(n, d, nil), mat.NewDense(n, d, nil)
	diff := make([]float64, d)
	xc := make([]float64, d)
	for i, g := range grad {
		xi, yi := x.RawRowView(i)[:d], y.RawRowView(i)[:d]
		gx, gy := dx.RawRowView(i), dy.RawRowView(i)
		switch s.kind {
		case kindLp:
			for k := range diff {
				diff[k] = xi[k] - yi[k] + pairwiseEps
			}
			rownorm.NormGrad(gx, diff, s.p, rownorm.Norm(diff, s.p), g)
			for k, v := range gx {
				gy[k] = -v
			}
		case kindDot:
			for k := range gx {
				gx[k] = g * yi[k]
				gy[k] = g * xi[k]
			}
		case kindSNR:
			// value = ‖e‖²/‖xc‖² with xc = x − mean(x), e = (x−y) − mean(x−y).
			centredPair(xc, diff, xi, yi)
			a, sq := dot(xc, xc), dot(diff, diff)
			e := 0
			if !pairSafe(a, xc) || !pairSafe(sq, diff) {
				// The value is the same for x·2^-e and y·2^-e, and its
				// gradient 2^e times larger: scale by the power of two
				// that brings the largest entry to [0.5, 1).
				_, e = math.Frexp(math.Max(maxAbsSlice(xc), maxAbsSlice(diff)))
				for k := range xc {
					xc[k] = math.Ldexp(xc[k], -e)
					diff[k] = math.Ldexp(diff[k], -e)
				}
				a, sq = dot(xc, xc), dot(diff, diff)
				if !pairSafe(a, xc) || !pairSafe(sq, diff) {
					return nil, nil, check.Errorf(s.name, gometric.ErrNonFinite,
						"row %d: x − mean(x) and (x − y) − mean(x − y) differ in magnitude beyond float64's range", i)
				}
			}
			if a == 0 {
				return nil, nil, s.zeroVariance("x", i)
			}
			if g == 0 {
				continue
			}
			raw := sq / a
			c := 2 * g / a
			if e != 0 {
				c = math.Ldexp(c, -e)
			}
			for k := range gx {
				gx[k] = c * (diff[k] - raw*xc[k])
				gy[k] = -c * diff[k]
			}
		}
	}
	if err := s.finite("x gradient", dx); err != nil {
		return nil, nil, err
	}
	if err := s.finite("y gradient", dy); err != nil {
		return nil, nil, err
	}
	return dx, dy, nil
}

// pairSafe reports whether sq, the sum of the squares of x, is
// rownorm.Safe, or 0 for an x that is exactly zero.
func pairSafe(sq float64, x []float64) bool {
	return rownorm.Safe(sq) || (sq == 0 && allZero(x))
}

// maxAbsSlice returns the largest magnitude in x.
func maxAbsSlice(x []float64) float64 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

// centredPair sets xc to x − mean(x) and diff to (x − y) − mean(x − y), the
// vectors whose squared norms make the SNR distance ‖diff‖²/‖xc‖².
func centredPair(xc, diff, x, y []float64) {
	centre(xc, x)
	for k := range diff {
		diff[k] = x[k] - y[k]
	}
	centre(diff, diff)
}
