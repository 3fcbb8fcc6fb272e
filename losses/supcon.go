package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// supconSmallVal is PML's c_f.small_val(float64), torch.finfo(float64).tiny.
const supconSmallVal = 2.2250738585072014e-308

// SupCon mirrors PML's SupConLoss, the supervised contrastive loss of
// Khosla et al. (2020). For every query row i, with x_ij = s_ij/Temperature
// (s_ij negated first for a distance, so larger is closer),
//
//	loss_i = -1/|pos_i| · Σ_{j∈pos_i} (x_ij - log Σ_{k∈pos_i∪neg_i} exp(x_ik))
//
// where pos_i and neg_i are the row's positive and negative pairs; a row
// without positives contributes 0. As in PML the loss is 0 (with no
// gradient) when the batch has no positive or no negative pair at all.
// One "element" sub-loss "loss"; default distance CosineSimilarity, default
// reducer AvgNonZero.
//
// Make it with NewSupCon(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type SupCon struct {
	Base
	// Temperature divides the similarities (PML's temperature, default
	// 0.1); it must be finite and non-zero.
	Temperature float64
}

// NewSupCon returns a SupCon loss with PML's defaults (SupConLoss():
// temperature 0.1, CosineSimilarity, AvgNonZeroReducer).
func NewSupCon() *SupCon {
	return &SupCon{Base: defaultBase(), Temperature: 0.1}
}

var supConDecl = decl{
	name:          "losses.SupCon",
	ctor:          "NewSupCon()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewAvgNonZero() },
}

// Compute implements Loss.
func (l *SupCon) Compute(b Batch) (Result, error) { return run(&supConDecl, l, b) }

func (l *SupCon) validate(name string) error {
	if t := l.Temperature; t == 0 || math.IsNaN(t) || math.IsInf(t, 0) {
		return check.Settingf(name, "Temperature = %v must be finite and non-zero", t)
	}
	return nil
}

func (l *SupCon) compute(in *input) (*term, error) {
	t := l.Temperature
	mp, err := newMatPairs(in)
	if err != nil {
		return nil, err
	}
	if mp.nPos == 0 || mp.nNeg == 0 {
		return nil, nil
	}
	dm, err := in.matrix()
	if err != nil {
		return nil, err
	}
	// x = sign·s/T; dx/ds = sign/T.
	sign := -1.0
	if in.dist.Settings().Inverted {
		sign = 1
	}
	raw := dm.RawMatrix()
	jac := mat.NewDense(in.n, in.m, nil)
	jr := jac.RawMatrix()
	values := make([]float64, in.n)
	mp.eachRow(func(r *matRow) {
		x, w, keep := r.f[:in.m], r.f[in.m:2*in.m], r.keep
		row := matpairRowOf(raw.Data, raw.Stride, r.i, in.m)
		mx := math.Inf(-1)
		for j, s := range row {
			x[j] = (sign * s) / t
			if x[j] > mx {
				mx = x[j]
			}
		}
		for j := range x {
			x[j] -= mx
			keep[j] = r.pos[j] || r.neg[j]
		}
		den := lse.Row(x, keep, false, w)
		var sum float64
		for j, p := range r.pos {
			if p {
				sum += x[j] - den
			}
		}
		c := float64(r.nPos)
		inv := 1 / (c + supconSmallVal)
		values[r.i] = -sum * inv
		if r.nPos == 0 {
			return
		}
		// d loss_i/d x_ij = (c·w_ij - pos_ij)/(c + tiny).
		jrow := matpairRowOf(jr.Data, jr.Stride, r.i, in.m)
		f := sign / t * inv
		for j, p := range r.pos {
			g := c * w[j]
			if p {
				g--
			}
			jrow[j] = g * f
		}
	})
	return matpairTerm(in, dm, jac, values), nil
}
