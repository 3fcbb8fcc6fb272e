package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// IntraPairVariance mirrors PML's IntraPairVarianceLoss: it penalises
// positive pairs that are farther than (1 - PosEps) times the mean positive
// similarity, relu((1-PosEps)·mean - s)², and negative pairs closer than
// (1 + NegEps) times the mean negative similarity, relu(s - (1+NegEps)·mean)²
// (the roles swap for a distance, as in PML). Sub-losses "pos_loss" (per
// positive pair) and "neg_loss" (per negative pair); default distance
// CosineSimilarity, default reducer Mean.
//
// Make it with NewIntraPairVariance(): its zero value (or a literal) is
// refused, see Base. It is safe for concurrent use as long as its settings
// are not changed meanwhile.
type IntraPairVariance struct {
	Base
	// PosEps and NegEps are PML's pos_eps and neg_eps (default 0.01 each).
	PosEps, NegEps float64
}

// NewIntraPairVariance returns an IntraPairVariance loss with PML's
// defaults (IntraPairVarianceLoss(): pos_eps 0.01, neg_eps 0.01,
// CosineSimilarity, MeanReducer).
func NewIntraPairVariance() *IntraPairVariance {
	return &IntraPairVariance{Base: defaultBase(), PosEps: 0.01, NegEps: 0.01}
}

var intraPairVarianceDecl = decl{
	name:          "losses.IntraPairVariance",
	ctor:          "NewIntraPairVariance()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"pos_loss", "neg_loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *IntraPairVariance) Compute(b Batch) (Result, error) {
	return run(&intraPairVarianceDecl, l, b)
}

func (l *IntraPairVariance) validate(name string) error {
	for _, v := range []float64{l.PosEps, l.NegEps} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "PosEps = %v, NegEps = %v must be finite", l.PosEps, l.NegEps)
		}
	}
	return nil
}

func (l *IntraPairVariance) compute(in *input) (*term, error) {
	pairs, m, err := in.pairMatrix()
	if err != nil {
		return nil, err
	}
	inv := in.dist.Settings().Inverted
	pos := gather(m, pairs.A1, pairs.P)
	neg := gather(m, pairs.A2, pairs.N)
	posVals, posVar := pairVariance(pos, l.PosEps, inv)
	negVals, negVar := pairVariance(neg, l.NegEps, !inv)
	return &term{
		subLosses: []reducers.SubLoss{
			{Name: "pos_loss", Values: posVals, Indices: [][]int{pairs.A1, pairs.P}, Kind: reducers.PosPair},
			{Name: "neg_loss", Values: negVals, Indices: [][]int{pairs.A2, pairs.N}, Kind: reducers.NegPair},
		},
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(in.n, in.m, nil)
			scatter(gm, pairs.A1, pairs.P, pairVarianceBackward(posVar, dv[0], l.PosEps, inv))
			scatter(gm, pairs.A2, pairs.N, pairVarianceBackward(negVar, dv[1], l.NegEps, !inv))
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}

// pairVariance is IntraPairVarianceLoss.variance_with_eps followed by
// relu(·)²: with mean μ of x, (1-eps)·μ - x[i] when increase, else
// x[i] - (1+eps)·μ. It returns the losses and the variances (nil, nil
// for no pairs: PML's literal zero loss).
func pairVariance(x []float64, eps float64, increase bool) (vals, v []float64) {
	if len(x) == 0 {
		return nil, nil
	}
	var sum float64
	for _, s := range x {
		sum += s
	}
	mean := sum / float64(len(x))
	vals, v = make([]float64, len(x)), make([]float64, len(x))
	for i, s := range x {
		if increase {
			v[i] = (1-eps)*mean - s
		} else {
			v[i] = s - (1+eps)*mean
		}
		r, _ := relu(v[i])
		vals[i] = r * r
		if math.IsNaN(v[i]) {
			vals[i] = v[i] // torch.relu propagates NaN
		}
	}
	return vals, v
}

// pairVarianceBackward returns d(total)/dx given the variances v of
// pairVariance and dv = d(total)/d(losses).
func pairVarianceBackward(v, dv []float64, eps float64, increase bool) []float64 {
	gx := make([]float64, len(v))
	if len(v) == 0 {
		return gx
	}
	// gvar[i] = d(total)/d(v[i]) = dv[i]·2·relu(v[i]); gmean = Σ gvar·dv/dμ.
	var gmean float64
	for i, vi := range v {
		r, _ := relu(vi)
		gv := dv[i] * 2 * r
		if increase {
			gx[i] = -gv
			gmean += gv * (1 - eps)
		} else {
			gx[i] = gv
			gmean -= gv * (1 + eps)
		}
	}
	gmean /= float64(len(v))
	for i := range gx {
		gx[i] += gmean
	}
	return gx
}
