package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// GeneralizedLiftedStructure mirrors PML's GeneralizedLiftedStructureLoss,
// the generalised lifted structure loss of Hermans et al. (2017, "In
// defense of the triplet loss"). For every query row i, with s_ij the
// distance-matrix entry and margin(x, y) the distance's margin (x - y, or
// y - x for similarities),
//
//	loss_i = relu(log Σ_pos exp(margin(s_ij, PosMargin))
//	            + log Σ_neg exp(margin(NegMargin, s_ij)))
//
// over the row's positive and negative pairs; an empty sum contributes 0.
// One "element" sub-loss "loss"; default distance Lp (normalised L2),
// default reducer Mean.
//
// Make it with NewGeneralizedLiftedStructure(): its zero value (or a
// literal) is refused, see Base. It is safe for concurrent use as long as
// its settings are not changed meanwhile.
type GeneralizedLiftedStructure struct {
	Base
	// NegMargin and PosMargin are PML's neg_margin (default 1) and
	// pos_margin (default 0).
	NegMargin, PosMargin float64
}

// NewGeneralizedLiftedStructure returns the loss with PML's defaults
// (GeneralizedLiftedStructureLoss(): neg_margin 1, pos_margin 0,
// LpDistance, MeanReducer).
func NewGeneralizedLiftedStructure() *GeneralizedLiftedStructure {
	return &GeneralizedLiftedStructure{Base: defaultBase(), NegMargin: 1, PosMargin: 0}
}

var generalizedLiftedStructureDecl = decl{
	name:          "losses.GeneralizedLiftedStructure",
	ctor:          "NewGeneralizedLiftedStructure()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewLp() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *GeneralizedLiftedStructure) Compute(b Batch) (Result, error) {
	return run(&generalizedLiftedStructureDecl, l, b)
}

func (l *GeneralizedLiftedStructure) validate(name string) error {
	for _, v := range []float64{l.PosMargin, l.NegMargin} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "margins %v, %v must be finite", l.PosMargin, l.NegMargin)
		}
	}
	return nil
}

func (l *GeneralizedLiftedStructure) compute(in *input) (*term, error) {
	mp, err := newMatPairs(in)
	if err != nil {
		return nil, err
	}
	dm, err := in.matrix()
	if err != nil {
		return nil, err
	}
	inv := in.dist.Settings().Inverted
	// sp is d margin(s, PosMargin)/ds; margin(NegMargin, s) has -sp.
	sp := 1.0
	if inv {
		sp = -1
	}
	raw := dm.RawMatrix()
	jac := mat.NewDense(in.n, in.m, nil)
	jr := jac.RawMatrix()
	values := make([]float64, in.n)
	mp.eachRow(func(r *matRow) {
		xp, xn, wp, wn := r.f[:in.m], r.f[in.m:2*in.m], r.f[2*in.m:3*in.m], r.f[3*in.m:]
		row := matpairRowOf(raw.Data, raw.Stride, r.i, in.m)
		if inv {
			for j, s := range row {
				xp[j], xn[j] = l.PosMargin-s, s-l.NegMargin
			}
		} else {
			for j, s := range row {
				xp[j], xn[j] = s-l.PosMargin, l.NegMargin-s
			}
		}
		v, dr := relu(lse.Row(xp, r.pos, false, wp) + lse.Row(xn, r.neg, false, wn))
		values[r.i] = v
		if dr == 0 {
			return
		}
		jrow := matpairRowOf(jr.Data, jr.Stride, r.i, in.m)
		for j := range jrow {
			jrow[j] = sp * (wp[j] - wn[j])
		}
	})
	return matpairTerm(in, dm, jac, values), nil
}
