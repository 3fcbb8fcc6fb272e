package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// Contrastive mirrors PML's ContrastiveLoss: positive pairs are pulled
// within PosMargin, relu(d - PosMargin), and negative pairs pushed beyond
// NegMargin, relu(NegMargin - d) (reversed for similarities). Sub-losses
// "pos_loss" and "neg_loss"; default distance Lp, default reducer
// AvgNonZero (applied to each sub-loss, then summed).
type Contrastive struct {
	Base
	// PosMargin and NegMargin are PML's pos_margin (default 0) and
	// neg_margin (default 1).
	PosMargin, NegMargin float64
}

// NewContrastive returns a Contrastive loss with PML's defaults
// (ContrastiveLoss()).
func NewContrastive() *Contrastive {
	return &Contrastive{Base: defaultBase(), PosMargin: 0, NegMargin: 1}
}

// Compute implements Loss.
func (l *Contrastive) Compute(b Batch) (Result, error) {
	return run(l.spec("losses.Contrastive", func() distances.Distance { return distances.NewLp() }, nil), &l.Base, b)
}

func (l *Contrastive) spec(name string, def func() distances.Distance, checkDist func(distances.Distance) error) *spec {
	return &spec{
		name:          name,
		labelsOrTuple: true,
		subLossNames:  []string{"pos_loss", "neg_loss"},
		defDistance:   def,
		checkDistance: checkDist,
		defReducer:    func() reducers.Reducer { return reducers.NewAvgNonZero() },
		compute:       func(in *input) (*term, error) { return l.compute(name, in) },
	}
}

func (l *Contrastive) compute(name string, in *input) (*term, error) {
	for _, v := range []float64{l.PosMargin, l.NegMargin} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, check.Settingf(name, "margins %v, %v must be finite", l.PosMargin, l.NegMargin)
		}
	}
	pairs, err := in.pairs(name)
	if err != nil {
		return nil, err
	}
	if tooFewPairs(pairs) {
		return nil, nil
	}
	m, err := in.matrix()
	if err != nil {
		return nil, err
	}
	d := in.dist
	pos, neg := gather(m, pairs.A1, pairs.P), gather(m, pairs.A2, pairs.N)
	posLoss, posGrad := make([]float64, len(pos)), make([]float64, len(pos))
	for i, x := range pos {
		posLoss[i], posGrad[i] = relu(distances.Margin(d, x, l.PosMargin))
	}
	negLoss, negGrad := make([]float64, len(neg)), make([]float64, len(neg))
	for i, x := range neg {
		negLoss[i], negGrad[i] = relu(distances.Margin(d, l.NegMargin, x))
	}
	// d margin(x, c)/dx is +1 for distances, -1 for similarities.
	s := 1.0
	if d.Settings().Inverted {
		s = -1
	}
	return &term{
		subLosses: []reducers.SubLoss{
			{Name: "pos_loss", Values: posLoss, Indices: [][]int{pairs.A1, pairs.P}, Kind: reducers.PosPair},
			{Name: "neg_loss", Values: negLoss, Indices: [][]int{pairs.A2, pairs.N}, Kind: reducers.NegPair},
		},
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(in.n, in.m, nil)
			for i := range posGrad {
				posGrad[i] *= s * dv[0][i]
			}
			for i := range negGrad {
				negGrad[i] *= -s * dv[1][i]
			}
			scatter(gm, pairs.A1, pairs.P, posGrad)
			scatter(gm, pairs.A2, pairs.N, negGrad)
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}

// SignalToNoiseRatioContrastive mirrors PML's
// SignalToNoiseRatioContrastiveLoss: Contrastive with distances.SNR as its
// default distance.
type SignalToNoiseRatioContrastive struct {
	Contrastive
}

// NewSignalToNoiseRatioContrastive returns the loss with PML's defaults
// (pos_margin 0, neg_margin 1, SNRDistance).
func NewSignalToNoiseRatioContrastive() *SignalToNoiseRatioContrastive {
	return &SignalToNoiseRatioContrastive{Contrastive: *NewContrastive()}
}

// Compute implements Loss.
func (l *SignalToNoiseRatioContrastive) Compute(b Batch) (Result, error) {
	const name = "losses.SignalToNoiseRatioContrastive"
	return run(l.spec(name, func() distances.Distance { return distances.NewSNR() }, func(d distances.Distance) error {
		if _, ok := d.(*distances.SNR); !ok {
			return check.Settingf(name, "distance %T, want *distances.SNR (as PML asserts)", d)
		}
		return nil
	}), &l.Base, b)
}
