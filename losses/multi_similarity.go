package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// MultiSimilarity mirrors PML's MultiSimilarityLoss (Wang et al., 2019).
// For every query row i, with s_ij the distance-matrix entry and
// margin(x, y) the distance's margin (x - y, or y - x for similarities),
//
//	loss_i = 1/Alpha · log(1 + Σ_pos exp(Alpha·margin(s_ij, Shift)))
//	       + 1/Beta  · log(1 + Σ_neg exp(Beta·margin(Shift, s_ij)))
//
// over the row's positive and negative pairs (all pairs of the labels, or
// the mined tuples); an empty sum contributes 0. One "element" sub-loss
// "loss"; default distance CosineSimilarity, default reducer Mean.
type MultiSimilarity struct {
	Base
	// Alpha weighs the positive pairs (PML's alpha, default 2); it must be
	// finite and non-zero.
	Alpha float64
	// Beta weighs the negative pairs (PML's beta, default 50); it must be
	// finite and non-zero.
	Beta float64
	// Shift is the similarity threshold subtracted in both exponents
	// (PML's base, default 0.5).
	Shift float64
}

// NewMultiSimilarity returns a MultiSimilarity loss with PML's defaults
// (MultiSimilarityLoss(): alpha 2, beta 50, base 0.5, CosineSimilarity,
// MeanReducer).
func NewMultiSimilarity() *MultiSimilarity {
	return &MultiSimilarity{Base: defaultBase(), Alpha: 2, Beta: 50, Shift: 0.5}
}

// Compute implements Loss.
func (l *MultiSimilarity) Compute(b Batch) (Result, error) {
	sp := &spec{
		name:          "losses.MultiSimilarity",
		labelsOrTuple: true,
		subLossNames:  []string{"loss"},
		defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
		defReducer:    func() reducers.Reducer { return reducers.NewMean() },
		compute:       l.compute,
	}
	return run(sp, &l.Base, b)
}

func (l *MultiSimilarity) compute(in *input) (*term, error) {
	const name = "losses.MultiSimilarity"
	for _, v := range []float64{l.Alpha, l.Beta} {
		if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, check.Settingf(name, "Alpha = %v and Beta = %v must be finite and non-zero", l.Alpha, l.Beta)
		}
	}
	if math.IsNaN(l.Shift) || math.IsInf(l.Shift, 0) {
		return nil, check.Settingf(name, "Shift = %v", l.Shift)
	}
	mp, err := newMatPairs(name, in)
	if err != nil {
		return nil, err
	}
	if mp.tooFew() {
		return nil, nil
	}
	dm, err := in.matrix()
	if err != nil {
		return nil, err
	}
	// sp is d margin(s, Shift)/ds: +1 for distances, -1 for similarities;
	// margin(Shift, s) has derivative -sp.
	inv := in.dist.Settings().Inverted
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
				xp[j], xn[j] = l.Alpha*(l.Shift-s), l.Beta*(s-l.Shift)
			}
		} else {
			for j, s := range row {
				xp[j], xn[j] = l.Alpha*(s-l.Shift), l.Beta*(l.Shift-s)
			}
		}
		values[r.i] = (1/l.Alpha)*lse.Row(xp, r.pos, true, wp) + (1/l.Beta)*lse.Row(xn, r.neg, true, wn)
		// d values[i]/d s_ij = (1/Alpha)·wp·Alpha·sp + (1/Beta)·wn·Beta·(-sp).
		jrow := matpairRowOf(jr.Data, jr.Stride, r.i, in.m)
		for j := range jrow {
			jrow[j] = sp * (wp[j] - wn[j])
		}
	})
	return matpairTerm(in, dm, jac, values), nil
}
