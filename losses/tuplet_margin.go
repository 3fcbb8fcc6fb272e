package losses

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// TupletMargin mirrors PML's TupletMarginLoss: for every positive pair
// (a, p) with cosine c_ap = cos θ, and the negative pairs (a, n) of the same
// anchor,
//
//	log(1 + Σ_n exp(Scale·(c_an - cos(θ - Margin))))
//
// (PML's masked log-sum-exp with "add one"; 0 for an anchor without
// negatives). The distance must be a *distances.CosineSimilarity, as PML
// asserts. Sub-loss "loss" (one value per positive pair); default reducer
// Mean.
//
// PML builds a positive-pairs × negative-pairs matrix for this; here the
// negative pairs are grouped by anchor, so a call costs O(P·k + Nneg)
// beyond the distance matrix, k being the negatives per anchor.
//
// As in PML, a positive cosine of exactly ±1 has an infinite gradient
// through acos (and rounding above 1 a NaN loss); Compute then returns an
// error wrapping gometric.ErrNonFinite.
//
// Make it with NewTupletMargin(): its zero value (or a literal) is refused,
// see Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type TupletMargin struct {
	Base
	// Margin is PML's margin in DEGREES, as PML's constructor takes it
	// (default 5.73); it is converted to radians (np.radians) when used.
	Margin float64
	// Scale is PML's scale (default 64).
	Scale float64
}

// NewTupletMargin returns a TupletMargin loss with PML's defaults
// (TupletMarginLoss(): margin 5.73 degrees, scale 64, CosineSimilarity,
// MeanReducer).
func NewTupletMargin() *TupletMargin {
	return &TupletMargin{Base: defaultBase(), Margin: 5.73, Scale: 64}
}

var tupletMarginDecl = decl{
	name:          "losses.TupletMargin",
	ctor:          "NewTupletMargin()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
	checkDistance: requireCosine,
}

// Compute implements Loss.
func (l *TupletMargin) Compute(b Batch) (Result, error) { return run(&tupletMarginDecl, l, b) }

func (l *TupletMargin) validate(name string) error {
	for _, v := range []float64{l.Margin, l.Scale} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "Margin = %v, Scale = %v must be finite", l.Margin, l.Scale)
		}
	}
	return nil
}

func (l *TupletMargin) compute(in *input) (*term, error) {
	const name = "losses.TupletMargin"
	pairs, m, err := in.pairMatrix()
	if err != nil {
		return nil, err
	}
	if len(pairs.A1) == 0 || len(pairs.A2) == 0 {
		return nil, nil
	}
	margin := l.Margin * (math.Pi / 180) // np.radians
	scale := l.Scale
	pos := gather(m, pairs.A1, pairs.P)
	neg := gather(m, pairs.A2, pairs.N)
	groups := pairGroupNegatives(pairs.A2, in.n)
	// shifted[i] = cos(acos(pos[i]) - margin).
	shifted := make([]float64, len(pos))
	for i, c := range pos {
		shifted[i] = math.Cos(math.Acos(c) - margin)
	}
	maxK := 0
	for a := 0; a < in.n; a++ {
		maxK = max(maxK, groups.count(a))
	}
	buf, w := make([]float64, maxK), make([]float64, maxK)
	// row fills buf with positive pair i's kept exponents and returns the
	// row's log-sum-exp, with its softmax weights in w when w is non-nil.
	row := func(i int, w []float64) (float64, []int) {
		js := groups.of(pairs.A1[i])
		if len(js) == 0 {
			return 0, nil
		}
		x := buf[:len(js)]
		for k, j := range js {
			x[k] = scale * (neg[j] - shifted[i])
		}
		if w != nil {
			w = w[:len(js)]
		}
		return lse.Row(x, nil, true, w), js
	}
	vals := make([]float64, len(pos))
	for i := range vals {
		vals[i], _ = row(i, nil)
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: vals, Indices: [][]int{pairs.A1, pairs.P}, Kind: reducers.PosPair}},
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(in.n, in.m, nil)
			raw := gm.RawMatrix()
			for i, a := range pairs.A1 {
				if dv[0][i] == 0 {
					continue
				}
				_, js := row(i, w)
				var wsum float64
				for k, j := range js {
					gk := dv[0][i] * w[k] * scale
					raw.Data[a*raw.Stride+pairs.N[j]] += gk
					wsum += gk
				}
				if len(js) == 0 {
					continue
				}
				// d shifted/d pos = -sin(acos(pos) - margin) · (-1/sqrt(1 - pos²)).
				c := pos[i]
				dshift := -wsum
				dtheta := -dshift * math.Sin(math.Acos(c)-margin)
				gp := -dtheta / math.Sqrt(1-c*c)
				if math.IsNaN(gp) || math.IsInf(gp, 0) {
					return check.Errorf(name, gometric.ErrNonFinite,
						"positive pair (%d, %d) has cosine %v, where acos has no finite gradient (PML's gradient is %v too)", a, pairs.P[i], c, gp)
				}
				raw.Data[a*raw.Stride+pairs.P[i]] += gp
			}
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}
