package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// RankedList mirrors PML's RankedListLoss (Wang et al., 2019, "Ranked List
// Loss for Deep Metric Learning"). For every query i, with d_ij the
// distance-matrix entry, the positives j ≠ i with d_ij > Alpha - Margin
// and the negatives with d_ij < Alpha are the violating pairs; each is
// weighted by w⁺_ij = exp(Tp·(d_ij - (Alpha - Margin))) or
// w⁻_ij = exp(Tn·(Alpha - d_ij)) when d_ij > 0 (a pair with d_ij <= 0
// gets weight 0), and
//
//	L⁺_i = Σ_j w⁺_ij·(d_ij - (Alpha - Margin)) / Σ_j (w⁺_ij + 1e-5)
//	L⁻_i = Σ_j w⁻_ij·(Alpha - d_ij) / Σ_j (w⁻_ij + 1e-5)
//
// (both denominators run over all N entries of the row, PML's 1e-5 added
// to each), loss_i = (1 - Imbalance)·L⁺_i + Imbalance·L⁻_i: one "element"
// sub-loss "loss" for every element. As in PML 2.8.1 the weights are not
// detached: the gradient flows through them too.
//
// Labels are required; ref embeddings and mined tuples are not supported
// (as in PML). Default distance Lp, default reducer Mean. The formulas are
// PML's whatever the distance: with a similarity such as
// CosineSimilarity they are applied to the similarities as they are.
//
// Make it with NewRankedList(margin, tn): its zero value (or a literal) is
// refused, see Base. It is safe for concurrent use as long as its settings
// are not changed meanwhile.
type RankedList struct {
	Base
	// Margin is PML's margin (required): the gap between the positive and
	// the negative boundaries.
	Margin float64
	// Tn and Tp are PML's Tn (required) and Tp (default 0): the
	// temperatures of the negative and positive weights.
	Tn, Tp float64
	// Imbalance is PML's imbalance (default 0.5), in [0, 1] (PML asserts
	// it): the weight of the negative part.
	Imbalance float64
	// Alpha is PML's alpha: the negative boundary. PML's alpha=None means
	// 1 + Margin/2, computed once at construction as NewRankedList does.
	Alpha float64
}

// NewRankedList returns a RankedList loss with PML's defaults for the
// given margin and Tn (RankedListLoss(margin, Tn): imbalance 0.5,
// alpha 1 + margin/2, Tp 0, LpDistance, MeanReducer).
func NewRankedList(margin, tn float64) *RankedList {
	return &RankedList{Base: defaultBase(), Margin: margin, Tn: tn, Imbalance: 0.5, Alpha: 1 + margin/2}
}

const rankedListName = "losses.RankedList"

var rankedListDecl = decl{
	name:         rankedListName,
	ctor:         "NewRankedList(margin, tn)",
	needLabels:   true,
	noRef:        true,
	noTuples:     true,
	subLossNames: []string{"loss"},
	defDistance:  func() distances.Distance { return distances.NewLp() },
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *RankedList) Compute(b Batch) (Result, error) { return run(&rankedListDecl, l, b) }

func (l *RankedList) validate(name string) error {
	for _, v := range []float64{l.Margin, l.Tn, l.Tp, l.Alpha} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "Margin = %v, Tn = %v, Tp = %v and Alpha = %v must be finite", l.Margin, l.Tn, l.Tp, l.Alpha)
		}
	}
	if !(l.Imbalance >= 0 && l.Imbalance <= 1) {
		return check.Settingf(name, "Imbalance = %v, want a value in [0, 1] (as PML asserts)", l.Imbalance)
	}
	return nil
}

// rankedListEps is the constant PML adds to every weight of a row's
// denominator.
const rankedListEps = 1e-5

func (l *RankedList) compute(in *input) (*term, error) {
	m, err := in.matrix()
	if err != nil {
		return nil, err
	}
	n, labels := in.n, in.labels
	raw := m.RawMatrix()
	posBound := l.Alpha - l.Margin
	// Per row: numerators and denominators of L⁺ and L⁻.
	aP, bP := make([]float64, n), make([]float64, n)
	aN, bN := make([]float64, n), make([]float64, n)
	vals := make([]float64, n)
	idx := make([]int, n)
	for i := range n {
		row := raw.Data[i*raw.Stride : i*raw.Stride+n]
		var ap, bp, an, bn float64
		for j, d := range row {
			var wp, wn float64
			if j != i {
				if labels[j] == labels[i] {
					if d > posBound && d > 0 {
						wp = math.Exp(l.Tp * (d - posBound))
						ap += wp * (d - posBound)
					}
				} else if d < l.Alpha && d > 0 {
					wn = math.Exp(l.Tn * (l.Alpha - d))
					an += wn * (l.Alpha - d)
				}
			}
			bp += wp + rankedListEps
			bn += wn + rankedListEps
		}
		aP[i], bP[i], aN[i], bN[i] = ap, bp, an, bn
		vals[i] = (1-l.Imbalance)*(ap/bp) + l.Imbalance*(an/bn)
		idx[i] = i
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: vals, Indices: [][]int{idx}, Kind: reducers.Element}},
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(n, n, nil)
			graw := gm.RawMatrix()
			for i := range n {
				gp, gn := (1-l.Imbalance)*dv[0][i], l.Imbalance*dv[0][i]
				if gp == 0 && gn == 0 {
					continue
				}
				row := raw.Data[i*raw.Stride : i*raw.Stride+n]
				grow := graw.Data[i*graw.Stride : i*graw.Stride+n]
				// L = A/B: dL/dd = (dA/dd)/B - A·(dB/dd)/B².
				qp, qn := aP[i]/(bP[i]*bP[i]), aN[i]/(bN[i]*bN[i])
				for j, d := range row {
					if j == i {
						continue
					}
					if labels[j] == labels[i] {
						if d > posBound && d > 0 {
							u := d - posBound
							w := math.Exp(l.Tp * u)
							grow[j] += gp * (w*(1+l.Tp*u)/bP[i] - qp*l.Tp*w)
						}
					} else if d < l.Alpha && d > 0 {
						v := l.Alpha - d
						w := math.Exp(l.Tn * v)
						grow[j] += gn * (-w*(1+l.Tn*v)/bN[i] + qn*l.Tn*w)
					}
				}
			}
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}
