package losses

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// VICReg mirrors PML's VICRegLoss (Bardes et al., "VICReg:
// Variance-Invariance-Covariance Regularization for Self-Supervised
// Learning", 2022). The embeddings Z and the ref embeddings Z' are two
// views of the same N samples (row i of each), and the loss has four
// sub-losses:
//
//   - "invariance_loss" (element, per sample): InvarianceLambda·mean_d (Z_id − Z'_id)²
//   - "variance_loss1" and "variance_loss2" (element, per dimension):
//     VarianceMu·relu(1 − sqrt(var_d + Eps))/2 for Z and Z', with the
//     unbiased variance of each column (torch.var)
//   - "covariance_loss" (already reduced): CovarianceV·(Σ_{i≠j} C_ij² + Σ_{i≠j} C'_ij²)/D,
//     with C and C' the D×D covariance matrices (divisor N − 1)
//
// Default reducer Mean (each sub-loss reduced on its own, then summed).
// Labels and mined tuples are not supported, nor are a Distance or an
// EmbeddingRegularizer (PML's constructor rejects both). Without ref
// embeddings the embeddings are used as both views, as PML's forward does
// (the invariance term is then 0). N must be at least 2 (PML's unbiased
// variance of one sample is NaN) and Z' must have Z's shape.
//
// Make it with NewVICReg(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type VICReg struct {
	Base
	// InvarianceLambda, VarianceMu and CovarianceV weight the three terms
	// (PML's invariance_lambda 25, variance_mu 25, covariance_v 1).
	InvarianceLambda, VarianceMu, CovarianceV float64
	// Eps is added to each variance before the square root (PML's eps,
	// default 1e-4).
	Eps float64
}

// NewVICReg returns a VICReg loss with PML's defaults (VICRegLoss():
// invariance_lambda 25, variance_mu 25, covariance_v 1, eps 1e-4).
func NewVICReg() *VICReg {
	return &VICReg{Base: defaultBase(), InvarianceLambda: 25, VarianceMu: 25, CovarianceV: 1, Eps: 1e-4}
}

var vicRegDecl = decl{
	name:         "losses.VICReg",
	ctor:         "NewVICReg()",
	noLabels:     true,
	noTuples:     true,
	subLossNames: []string{"invariance_loss", "variance_loss1", "variance_loss2", "covariance_loss"},
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *VICReg) Compute(b Batch) (Result, error) { return run(&vicRegDecl, l, b) }

func (l *VICReg) validate(name string) error {
	for _, v := range []float64{l.InvarianceLambda, l.VarianceMu, l.CovarianceV, l.Eps} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "InvarianceLambda %v, VarianceMu %v, CovarianceV %v and Eps %v must be finite",
				l.InvarianceLambda, l.VarianceMu, l.CovarianceV, l.Eps)
		}
	}
	if l.Distance != nil {
		return check.Settingf(name, "a Distance cannot be used (as in PML)")
	}
	if l.EmbeddingRegularizer != nil {
		return check.Settingf(name, "an EmbeddingRegularizer cannot be used (as in PML)")
	}
	return nil
}

func (l *VICReg) compute(in *input) (*term, error) {
	const name = "losses.VICReg"
	if in.m != in.n {
		return nil, check.Errorf(name, gometric.ErrShape, "%d ref embeddings for %d embeddings: the two views must have the same rows", in.m, in.n)
	}
	if in.n < 2 {
		return nil, check.Errorf(name, gometric.ErrShape, "%d embedding: the unbiased variance needs at least 2", in.n)
	}
	n, d := in.n, in.d
	lambda, mu, cv, eps := l.InvarianceLambda, l.VarianceMu, l.CovarianceV, l.Eps

	inv := make([]float64, n)
	invIdx := make([]int, n)
	for i := range n {
		e, r := in.emb.RawRowView(i), in.ref.RawRowView(i)
		var s float64
		for k := range e {
			diff := e[k] - r[k]
			s += diff * diff
		}
		inv[i] = lambda * (s / float64(d))
		invIdx[i] = i
	}
	v1 := vicregView(in.emb, eps)
	v2 := v1
	if !in.refIsQuery {
		v2 = vicregView(in.ref, eps)
	}
	var1, var2 := make([]float64, d), make([]float64, d)
	varIdx := make([]int, d)
	for k := range d {
		var1[k] = mu * v1.varLoss[k]
		var2[k] = mu * v2.varLoss[k]
		varIdx[k] = k
	}
	cov := cv * (v1.offDiag/float64(d) + v2.offDiag/float64(d))
	return &term{
		subLosses: []reducers.SubLoss{
			{Name: "invariance_loss", Values: inv, Indices: [][]int{invIdx}, Kind: reducers.Element},
			{Name: "variance_loss1", Values: var1, Indices: [][]int{varIdx}, Kind: reducers.Element},
			{Name: "variance_loss2", Values: var2, Indices: [][]int{varIdx}, Kind: reducers.Element},
			{Name: "covariance_loss", Values: []float64{cov}, Kind: reducers.AlreadyReduced},
		},
		backward: func(dv [][]float64, g *grads) error {
			gr := g.r
			if in.refIsQuery {
				gr = g.q
			}
			// Invariance: d/dZ_ik = 2·λ·(Z_ik − Z'_ik)/D·dv_i, the opposite for Z'.
			for i := range n {
				e, r := in.emb.RawRowView(i), in.ref.RawRowView(i)
				gq, grr := g.q.RawRowView(i), gr.RawRowView(i)
				c := 2 * lambda * dv[0][i] / float64(d)
				for k := range e {
					t := c * (e[k] - r[k])
					gq[k] += t
					grr[k] -= t
				}
			}
			dCov := cv * dv[3][0] / float64(d)
			v1.backward(in.emb, mu, dv[1], dCov, g.q)
			v2.backward(in.ref, mu, dv[2], dCov, gr)
			return nil
		},
	}, nil
}

// vicregStats holds one view's variance and covariance terms and what
// their backward pass needs.
type vicregStats struct {
	centred *mat.Dense // Z − mean(Z), N×D
	cov     *mat.Dense // centredᵀ·centred/(N−1), D×D
	std     []float64  // sqrt(var + eps) per column
	varLoss []float64  // relu(1 − std)/2 per column
	offDiag float64    // Σ_{i≠j} cov_ij²
}

func vicregView(z *mat.Dense, eps float64) *vicregStats {
	n, d := z.Dims()
	s := &vicregStats{centred: mat.NewDense(n, d, nil), std: make([]float64, d), varLoss: make([]float64, d)}
	mean := make([]float64, d)
	for i := range n {
		for k, v := range z.RawRowView(i) {
			mean[k] += v
		}
	}
	for k := range mean {
		mean[k] /= float64(n)
	}
	variance := make([]float64, d)
	for i := range n {
		row, c := z.RawRowView(i), s.centred.RawRowView(i)
		for k, v := range row {
			c[k] = v - mean[k]
			variance[k] += c[k] * c[k]
		}
	}
	for k := range variance {
		s.std[k] = math.Sqrt(variance[k]/float64(n-1) + eps)
		s.varLoss[k], _ = relu(1 - s.std[k])
		s.varLoss[k] /= 2
	}
	s.cov = mat.NewDense(d, d, nil)
	s.cov.Mul(s.centred.T(), s.centred)
	s.cov.Scale(1/float64(n-1), s.cov)
	for i := range d {
		for j, c := range s.cov.RawRowView(i) {
			if i != j {
				s.offDiag += c * c
			}
		}
	}
	return s
}

// backward adds to dst the gradient of mu·Σ_k dv[k]·varLoss_k + w·offDiag
// with respect to the view z.
func (s *vicregStats) backward(z *mat.Dense, mu float64, dv []float64, w float64, dst *mat.Dense) {
	n, d := z.Dims()
	// Variance: d/dvar_k = −mu·dv_k/2·[1 − std_k > 0]/(2·std_k), and
	// dvar_k/dZ_ik = 2·centred_ik/(N−1) (the centring's own term sums to 0).
	dVar := make([]float64, d)
	for k := range d {
		if 1-s.std[k] > 0 {
			dVar[k] = -mu * dv[k] / 2 / (2 * s.std[k]) * 2 / float64(n-1)
		}
	}
	// Covariance: dC_ij = 2·w·C_ij off the diagonal; dcentred = centred·(dC + dCᵀ)/(N−1).
	var dCentred *mat.Dense
	if w != 0 {
		dC := mat.NewDense(d, d, nil)
		for i := range d {
			src, dr := s.cov.RawRowView(i), dC.RawRowView(i)
			for j, c := range src {
				if i != j {
					dr[j] = 4 * w * c / float64(n-1)
				}
			}
		}
		dCentred = mat.NewDense(n, d, nil)
		dCentred.Mul(s.centred, dC)
		// Back through the centring: subtract each column's mean.
		colMean := make([]float64, d)
		for i := range n {
			for k, v := range dCentred.RawRowView(i) {
				colMean[k] += v
			}
		}
		for k := range colMean {
			colMean[k] /= float64(n)
		}
		for i := range n {
			row := dCentred.RawRowView(i)
			for k := range row {
				row[k] -= colMean[k]
			}
		}
	}
	for i := range n {
		c, out := s.centred.RawRowView(i), dst.RawRowView(i)
		for k := range out {
			out[k] += dVar[k] * c[k]
		}
		if dCentred != nil {
			for k, v := range dCentred.RawRowView(i) {
				out[k] += v
			}
		}
	}
}
