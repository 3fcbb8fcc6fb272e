package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// Circle mirrors PML's CircleLoss (Sun et al., 2020), for pair labels. With
// s_ij the cosine similarity, every positive pair gets the logit
// -Gamma·relu(1+M - s_ij)·(s_ij - (1-M)) and every negative pair
// Gamma·relu(s_ij + M)·(s_ij - M), the relu factors being constants for the
// gradient (PML detaches them); for every query row i
//
//	loss_i = softplus(logsumexp_pos(logits_i) + logsumexp_neg(logits_i)),
//
// and 0 for a row without a positive or without a negative pair. A pair
// that is both positive and negative (possible only with mined tuples)
// takes the negative logit, as in PML. One "element" sub-loss "loss";
// the distance must be distances.CosineSimilarity (the default, as PML
// asserts); default reducer AvgNonZero.
//
// Make it with NewCircle(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type Circle struct {
	Base
	// M is the relaxation margin (PML's m, default 0.4).
	M float64
	// Gamma is the scale (PML's gamma, default 80).
	Gamma float64
}

// NewCircle returns a Circle loss with PML's defaults (CircleLoss(): m 0.4,
// gamma 80, CosineSimilarity, AvgNonZeroReducer).
func NewCircle() *Circle {
	return &Circle{Base: defaultBase(), M: 0.4, Gamma: 80}
}

var circleDecl = decl{
	name:          "losses.Circle",
	ctor:          "NewCircle()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewAvgNonZero() },
	checkDistance: requireCosine,
}

// Compute implements Loss.
func (l *Circle) Compute(b Batch) (Result, error) { return run(&circleDecl, l, b) }

func (l *Circle) validate(name string) error {
	for _, v := range []float64{l.M, l.Gamma} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "M = %v and Gamma = %v must be finite", l.M, l.Gamma)
		}
	}
	return nil
}

func (l *Circle) compute(in *input) (*term, error) {
	mp, err := newMatPairs(in)
	if err != nil {
		return nil, err
	}
	dm, err := in.matrix()
	if err != nil {
		return nil, err
	}
	// PML's op, on, delta_p and delta_n.
	op, on, dp, dn := 1+l.M, -l.M, 1-l.M, l.M
	raw := dm.RawMatrix()
	jac := mat.NewDense(in.n, in.m, nil)
	jr := jac.RawMatrix()
	values := make([]float64, in.n)
	mp.eachRow(func(r *matRow) {
		if r.nPos == 0 || r.nNeg == 0 {
			return // PML's final_mask zeroes the row and its gradient
		}
		x, dx, wp, wn := r.f[:in.m], r.f[in.m:2*in.m], r.f[2*in.m:3*in.m], r.f[3*in.m:]
		row := matpairRowOf(raw.Data, raw.Stride, r.i, in.m)
		for j, s := range row {
			switch {
			case r.neg[j]:
				v, _ := relu(s - on)
				dx[j] = l.Gamma * v
				x[j] = dx[j] * (s - dn)
			case r.pos[j]:
				v, _ := relu(op - s)
				dx[j] = -l.Gamma * v
				x[j] = dx[j] * (s - dp)
			default:
				x[j], dx[j] = 0, 0
			}
		}
		v, dv := softplus(lse.Row(x, r.pos, false, wp) + lse.Row(x, r.neg, false, wn))
		values[r.i] = v
		jrow := matpairRowOf(jr.Data, jr.Stride, r.i, in.m)
		for j := range jrow {
			jrow[j] = dv * (wp[j] + wn[j]) * dx[j]
		}
	})
	return matpairTerm(in, dm, jac, values), nil
}
