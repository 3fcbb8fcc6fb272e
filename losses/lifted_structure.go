package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// LiftedStructure mirrors PML's LiftedStructureLoss (the first class of
// lifted_structure_loss.py, not the generalized one). For every positive
// pair (a, p) it takes the log-sum-exp of NegMargin - d over the negative
// pairs whose anchor is a or p (reversed for similarities), adds
// d(a, p) - PosMargin, and returns relu(·)²/2. Sub-loss "loss" (one value
// per positive pair); default distance Lp (normalised L2), default reducer
// Mean.
//
// PML builds a positive-pairs × negative-pairs mask for this; here the
// negative pairs are grouped by anchor, so a call costs O(P + Nneg) beyond
// the distance matrix, with the same values (PML's masked log-sum-exp: a
// row with no negative pair gives 0, no "add one").
//
// Make it with NewLiftedStructure(): its zero value (or a literal) is
// refused, see Base. It is safe for concurrent use as long as its settings
// are not changed meanwhile.
type LiftedStructure struct {
	Base
	// NegMargin and PosMargin are PML's neg_margin (default 1) and
	// pos_margin (default 0).
	NegMargin, PosMargin float64
}

// NewLiftedStructure returns a LiftedStructure loss with PML's defaults
// (LiftedStructureLoss(): neg_margin 1, pos_margin 0, LpDistance,
// MeanReducer).
func NewLiftedStructure() *LiftedStructure {
	return &LiftedStructure{Base: defaultBase(), NegMargin: 1, PosMargin: 0}
}

var liftedStructureDecl = decl{
	name:          "losses.LiftedStructure",
	ctor:          "NewLiftedStructure()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewLp() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *LiftedStructure) Compute(b Batch) (Result, error) { return run(&liftedStructureDecl, l, b) }

func (l *LiftedStructure) validate(name string) error {
	for _, v := range []float64{l.NegMargin, l.PosMargin} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "margins NegMargin = %v, PosMargin = %v must be finite", l.NegMargin, l.PosMargin)
		}
	}
	return nil
}

func (l *LiftedStructure) compute(in *input) (*term, error) {
	pairs, m, err := in.pairMatrix()
	if err != nil {
		return nil, err
	}
	if len(pairs.A1) == 0 || len(pairs.A2) == 0 {
		return nil, nil
	}
	d := in.dist
	// s is d margin(x, c)/dx: +1 for distances, -1 for similarities.
	s := 1.0
	if d.Settings().Inverted {
		s = -1
	}
	// x[j] = margin(NegMargin, neg[j]) for every negative pair.
	x := gather(m, pairs.A2, pairs.N)
	for j, v := range x {
		x[j] = distances.Margin(d, l.NegMargin, v)
	}
	groups := pairGroupNegatives(pairs.A2, in.n)
	gmax, gsum, ex := groups.stats(x)
	nNeg := len(x)
	nPos := len(pairs.A1)
	vals := make([]float64, nPos)
	// Per positive pair: the row's log-sum-exp shift and sum (for the
	// backward pass) and the relu argument.
	shift, sum, z := make([]float64, nPos), make([]float64, nPos), make([]float64, nPos)
	kept := make([]bool, nPos)
	pos := gather(m, pairs.A1, pairs.P)
	for i, a := range pairs.A1 {
		ga, gb := a, pairs.P[i]
		if gb == ga {
			gb = -1
		}
		k := groups.count(ga) + groups.count(gb)
		var rowLSE float64
		if k > 0 {
			kept[i] = true
			rowLSE, shift[i], sum[i] = pairUnionLSE(gmax, gsum, ga, gb, nNeg-k)
		}
		z[i] = rowLSE + distances.Margin(d, pos[i], l.PosMargin)
		r, _ := relu(z[i])
		vals[i] = r * r / 2
		if math.IsNaN(z[i]) {
			vals[i] = z[i] // torch.relu propagates NaN
		}
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: vals, Indices: [][]int{pairs.A1, pairs.P}, Kind: reducers.PosPair}},
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(in.n, in.m, nil)
			raw := gm.RawMatrix()
			// coef[a] collects d(total)/d(exp(x[j] - gmax[a])) for the
			// negative pairs j of anchor a.
			coef := make([]float64, in.n)
			for i, a := range pairs.A1 {
				r, _ := relu(z[i])
				dz := dv[0][i] * r
				if dz == 0 {
					continue
				}
				raw.Data[a*raw.Stride+pairs.P[i]] += dz * s
				if !kept[i] || math.IsInf(shift[i], 0) {
					continue
				}
				ga, gb := a, pairs.P[i]
				if gb == ga {
					gb = -1
				}
				for _, grp := range [2]int{ga, gb} {
					if grp >= 0 && grp < in.n && gmax[grp] > math.Inf(-1) {
						coef[grp] += dz * math.Exp(gmax[grp]-shift[i]) / sum[i]
					}
				}
			}
			for a, c := range coef {
				if c == 0 {
					continue
				}
				for _, j := range groups.of(a) {
					raw.Data[a*raw.Stride+pairs.N[j]] -= s * c * ex[j]
				}
			}
			return in.matrixBackward(m, gm, g)
		},
	}, nil
}

// pairUnionLSE is torch.logsumexp over one row of PML's masked matrix whose
// kept entries are the negative pairs of anchor groups ga and gb (gb < 0:
// none) and whose masked entries (masked of them) hold lse.NegInf. It
// returns the value, the shift M and the sum S with value = M + log(S), so
// that d value/d x[j] = exp(x[j] - M) / S. As torch, an infinite maximum
// is not subtracted.
func pairUnionLSE(gmax, gsum []float64, ga, gb, masked int) (v, shift, sum float64) {
	mx := math.Inf(-1)
	for _, grp := range [2]int{ga, gb} {
		if grp < 0 || grp >= len(gmax) {
			continue
		}
		if math.IsNaN(gmax[grp]) {
			return gmax[grp], gmax[grp], gmax[grp]
		}
		if gmax[grp] > mx {
			mx = gmax[grp]
		}
	}
	if masked > 0 && mx < lse.NegInf {
		mx = lse.NegInf
	}
	if math.IsInf(mx, 0) {
		// torch.logsumexp: log(sum(exp(x))) without a shift.
		return mx, mx, 0
	}
	for _, grp := range [2]int{ga, gb} {
		if grp >= 0 && grp < len(gmax) && gmax[grp] > math.Inf(-1) {
			sum += gsum[grp] * math.Exp(gmax[grp]-mx)
		}
	}
	if masked > 0 {
		sum += float64(masked) * math.Exp(lse.NegInf-mx)
	}
	return mx + math.Log(sum), mx, sum
}

// pairNegGroups lists negative pairs by anchor: the pairs j with A2[j] == a
// are idx[start[a]:start[a+1]], in their original order.
type pairNegGroups struct {
	start, idx []int
}

// pairGroupNegatives groups the negative pairs a2 (anchors in [0, n)) by
// anchor with a counting sort.
func pairGroupNegatives(a2 []int, n int) pairNegGroups {
	start := make([]int, n+1)
	for _, a := range a2 {
		start[a+1]++
	}
	for i := 0; i < n; i++ {
		start[i+1] += start[i]
	}
	next := make([]int, n)
	copy(next, start[:n])
	idx := make([]int, len(a2))
	for j, a := range a2 {
		idx[next[a]] = j
		next[a]++
	}
	return pairNegGroups{start: start, idx: idx}
}

// of returns the negative pairs of anchor a (none when a is not a query
// index).
func (g pairNegGroups) of(a int) []int {
	if a < 0 || a >= len(g.start)-1 {
		return nil
	}
	return g.idx[g.start[a]:g.start[a+1]]
}

// count returns the number of negative pairs of anchor a.
func (g pairNegGroups) count(a int) int {
	if a < 0 || a >= len(g.start)-1 {
		return 0
	}
	return g.start[a+1] - g.start[a]
}

// stats returns, per anchor, the maximum of x over its negative pairs
// (-Inf when it has none) and the sum of exp(x[j] - max) (0 when the
// maximum is -Inf, NaN when it is +Inf), and, per negative pair j,
// e[j] = exp(x[j] - max) of its anchor (0 when that maximum is -Inf). A NaN
// in a group makes its maximum NaN.
func (g pairNegGroups) stats(x []float64) (gmax, gsum, e []float64) {
	n := len(g.start) - 1
	gmax, gsum, e = make([]float64, n), make([]float64, n), make([]float64, len(x))
	for a := 0; a < n; a++ {
		mx := math.Inf(-1)
		js := g.idx[g.start[a]:g.start[a+1]]
		for _, j := range js {
			if x[j] > mx || math.IsNaN(x[j]) {
				mx = x[j]
				if math.IsNaN(mx) {
					break
				}
			}
		}
		gmax[a] = mx
		if mx == math.Inf(-1) {
			continue
		}
		var s float64
		for _, j := range js {
			e[j] = math.Exp(x[j] - mx)
			s += e[j]
		}
		gsum[a] = s
	}
	return gmax, gsum, e
}
