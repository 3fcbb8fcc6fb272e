package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// ntxentSmallVal is PML's c_f.small_val for float64 (torch.finfo.tiny),
// added inside NTXent's log.
const ntxentSmallVal = 0x1p-1022

// NTXent mirrors PML's NTXentLoss (InfoNCE / NT-Xent): for every positive
// pair (a, p) with similarity s_ap, and the negative pairs (a, n) of the
// same anchor,
//
//	-log(exp(s_ap/T) / (exp(s_ap/T) + Σ_n exp(s_an/T)) + tiny)
//
// computed, as PML does, after subtracting the detached maximum of the
// row, with tiny = finfo(float64).tiny inside the log. For a distance
// (not a similarity) the negated distances are used. Sub-loss "loss" (one
// value per positive pair); default distance CosineSimilarity, default
// reducer Mean.
//
// PML builds a positive-pairs × negative-pairs matrix for this; here the
// negative pairs are grouped by anchor and their exponentials shared by
// all positive pairs of the anchor, so a call costs O(P + Nneg) beyond the
// distance matrix.
//
// Make it with NewNTXent(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type NTXent struct {
	Base
	// Temperature is PML's temperature (default 0.07). It must be finite
	// and non-zero.
	Temperature float64
}

// NewNTXent returns an NTXent loss with PML's defaults (NTXentLoss():
// temperature 0.07, CosineSimilarity, MeanReducer).
func NewNTXent() *NTXent {
	return &NTXent{Base: defaultBase(), Temperature: 0.07}
}

var ntxentDecl = decl{
	name:          "losses.NTXent",
	ctor:          "NewNTXent()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *NTXent) Compute(b Batch) (Result, error) { return run(&ntxentDecl, l, b) }

func (l *NTXent) validate(name string) error {
	if t := l.Temperature; math.IsNaN(t) || math.IsInf(t, 0) || t == 0 {
		return check.Settingf(name, "Temperature = %v, want a finite non-zero value", t)
	}
	return nil
}

func (l *NTXent) compute(in *input) (*term, error) {
	t := l.Temperature
	pairs, m, err := in.pairMatrix()
	if err != nil {
		return nil, err
	}
	if len(pairs.A1) == 0 || len(pairs.A2) == 0 {
		return nil, nil
	}
	// sgn: similarities are used as they are, distances negated.
	sgn := -1.0
	if in.dist.Settings().Inverted {
		sgn = 1
	}
	pos := gather(m, pairs.A1, pairs.P)
	for i, v := range pos {
		pos[i] = (sgn * v) / t
	}
	neg := gather(m, pairs.A2, pairs.N)
	for j, v := range neg {
		neg[j] = (sgn * v) / t
	}
	groups := pairGroupNegatives(pairs.A2, in.n)
	gmax, gsum, ex := groups.stats(neg)
	nNeg := len(neg)
	nPos := len(pos)
	vals := make([]float64, nPos)
	// Per positive pair: the detached max_val, the numerator and the
	// denominator.
	mv, num, den := make([]float64, nPos), make([]float64, nPos), make([]float64, nPos)
	for i, a := range pairs.A1 {
		k := groups.count(a)
		masked := nNeg - k
		// The row maximum over kept entries and PML's neg_inf fill.
		rowMax := gmax[a]
		if masked > 0 && rowMax < lse.NegInf {
			rowMax = lse.NegInf
		}
		mv[i] = math.Max(pos[i], rowMax)
		num[i] = math.Exp(pos[i] - mv[i])
		var s float64
		if gmax[a] > math.Inf(-1) || math.IsNaN(gmax[a]) {
			s = gsum[a] * math.Exp(gmax[a]-mv[i])
		}
		if masked > 0 {
			s += float64(masked) * math.Exp(lse.NegInf-mv[i])
		}
		den[i] = s + num[i]
		vals[i] = -math.Log(num[i]/den[i] + ntxentSmallVal)
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: vals, Indices: [][]int{pairs.A1, pairs.P}, Kind: reducers.PosPair}},
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(in.n, in.m, nil)
			raw := gm.RawMatrix()
			scale := sgn / t
			// coef[a] collects d(total)/d(exp(neg[j] - gmax[a])) for the
			// negative pairs j of anchor a.
			coef := make([]float64, in.n)
			for i, a := range pairs.A1 {
				if dv[0][i] == 0 {
					continue
				}
				r := num[i] / den[i]
				gr := -dv[0][i] / (r + ntxentSmallVal)
				gden := -gr * num[i] / (den[i] * den[i])
				gnum := gr/den[i] + gden
				raw.Data[a*raw.Stride+pairs.P[i]] += gnum * num[i] * scale
				if gmax[a] > math.Inf(-1) || math.IsNaN(gmax[a]) {
					coef[a] += gden * math.Exp(gmax[a]-mv[i])
				}
			}
			for a, c := range coef {
				if c == 0 {
					continue
				}
				for _, j := range groups.of(a) {
					raw.Data[a*raw.Stride+pairs.N[j]] += c * ex[j] * scale
				}
			}
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}
