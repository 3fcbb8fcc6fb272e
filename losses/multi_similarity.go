package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/internal/pairdist"
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
//
// Make it with NewMultiSimilarity(): its zero value (or a literal) is
// refused, see Base. It is safe for concurrent use as long as its settings
// are not changed meanwhile.
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

var multiSimilarityDecl = decl{
	name:          "losses.MultiSimilarity",
	ctor:          "NewMultiSimilarity()",
	labelsOrTuple: true,
	pairRule:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
	pooled:        true,
}

// Compute implements Loss.
func (l *MultiSimilarity) Compute(b Batch) (Result, error) { return run(&multiSimilarityDecl, l, b) }

func (l *MultiSimilarity) validate(name string) error {
	for _, v := range []float64{l.Alpha, l.Beta} {
		if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "Alpha = %v and Beta = %v must be finite and non-zero", l.Alpha, l.Beta)
		}
	}
	if math.IsNaN(l.Shift) || math.IsInf(l.Shift, 0) {
		return check.Settingf(name, "Shift = %v", l.Shift)
	}
	return nil
}

func (l *MultiSimilarity) compute(in *input) (*term, error) {
	mp, err := newMatPairs(in)
	if err != nil {
		return nil, err
	}
	dm, err := in.matrix()
	if err != nil {
		return nil, err
	}
	// sp is d margin(s, Shift)/ds: +1 for distances, -1 for similarities;
	// margin(Shift, s) has derivative -sp.
	sp := 1.0
	if in.dist.Settings().Inverted {
		sp = -1
	}
	raw := dm.RawMatrix()
	// The jacobian is written in full: no need to clear it.
	jac := pairdist.DirtyDense(in.n, in.m)
	in.scratch = append(in.scratch, jac)
	jr := jac.RawMatrix()
	values, scale := make([]float64, in.n), make([]float64, in.n)
	mp.eachRowOf(false, func(r *matRow) {
		row := matpairRowOf(raw.Data, raw.Stride, r.i, in.m)
		jrow := matpairRowOf(jr.Data, jr.Stride, r.i, in.m)
		values[r.i], scale[r.i] = l.row(mp, r, row, jrow, sp)
	})
	return l.term(in, dm, jac, values, scale), nil
}

// term is matpairTerm with the rows of jac to be scaled by scale as well
// as by the upstream gradient.
func (l *MultiSimilarity) term(in *input, dm, jac *mat.Dense, values, scale []float64) *term {
	idx := make([]int, len(values))
	for i := range idx {
		idx[i] = i
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: values, Indices: [][]int{idx}, Kind: reducers.Element}},
		backward: func(dv [][]float64, g *grads) error {
			raw := jac.RawMatrix()
			for i, w := range dv[0] {
				r := matpairRowOf(raw.Data, raw.Stride, i, in.m)
				if w *= scale[i]; w == 0 {
					clear(r)
					continue
				}
				for j := range r {
					r[j] *= w
				}
			}
			return in.matrixBackward(dm, jac, g)
		},
	}
}

// row computes the loss of one query row (its matrix row s) and writes
// d loss/d s, divided by the returned scale, to jrow. It is lse.Row over
// the positives and over the negatives, fused: the negatives'
// exponentials (most of the row) are taken in one vector pass in jrow
// itself, and left unnormalised (the scale is the normaliser); the
// positives' (few with labels) are taken in a gathered buffer. With all
// pairs, the labels are compared in place of masks. Exponents are rounded
// as α·(s − Shift) and β·(Shift − s) (reversed for similarities), as
// before: β·(Shift − s) = (−β)·(s − Shift) exactly.
func (l *MultiSimilarity) row(mp *matPairs, r *matRow, s, jrow []float64, sp float64) (value, scale float64) {
	ap, bn, shift := sp*l.Alpha, -sp*l.Beta, l.Shift
	jrow = jrow[:len(s)]
	// One pass writes the negatives' exponents to jrow (−Inf elsewhere)
	// with their maximum, and gathers the positives (their s − Shift).
	pIdx, pe := r.idx[:0], r.f[:0]
	mx, nNeg := math.Inf(-1), 0
	if mp.pos == nil {
		li, ref := mp.labels[r.i], mp.ref[:len(s)]
		self := -1
		if mp.refIsQuery {
			self = r.i
		}
		// The negatives in vectors (where the CPU allows), the rest of
		// the row one by one, then the positives, few, gathered apart.
		// same receives the indices with the query's label (pIdx has
		// room for the row).
		done, vmx, vneg, same := msNegVec(s, ref, li, shift, bn, jrow, pIdx)
		mx, nNeg = vmx, vneg
		for j := done; j < len(s); j++ {
			x := math.Inf(-1)
			if ref[j] != li {
				x = bn * (s[j] - shift)
				if x > mx {
					mx = x
				}
				nNeg++
			} else {
				same = append(same, j)
			}
			jrow[j] = x
		}
		for _, j := range same {
			if j != self {
				pIdx = append(pIdx, j)
				pe = append(pe, s[j]-shift)
			}
		}
	} else {
		pos, neg := mp.pos[r.i*mp.m:][:len(s)], mp.neg[r.i*mp.m:][:len(s)]
		for j, v := range s {
			t := v - shift
			x := math.Inf(-1)
			if neg[j] {
				x = bn * t
				if x > mx {
					mx = x
				}
				nNeg++
			}
			if pos[j] {
				pIdx = append(pIdx, j)
				pe = append(pe, t)
			}
			jrow[j] = x
		}
	}
	if nNeg > 0 {
		// The row is in L1 now: shifting it is cheap.
		mx = expMax(mx)
		for j := range jrow {
			jrow[j] -= mx
		}
		value, scale = l.negLSE(jrow, mx, sp)
	} else {
		clear(jrow)
		scale = 1
	}
	if len(pIdx) > 0 {
		mx := math.Inf(-1)
		for k, t := range pe {
			x := ap * t
			pe[k] = x
			if x > mx {
				mx = x
			}
		}
		mx = expMax(mx)
		for k := range pe {
			pe[k] -= mx
		}
		lse.Exps(pe)
		sum := sum4(pe) + lse.Exp(-mx)
		// d value/d s_ij = (1/α)·w_ij·α·sp for the positives, w_ij =
		// e_ij/sum, stored divided by the row's scale.
		c := sp / sum / scale
		for k, j := range pIdx {
			jrow[j] += c * pe[k]
		}
		value = (1/l.Alpha)*(mx+math.Log(sum)) + value
	}
	return value, scale
}

// negInf is −Inf.
var negInf = math.Inf(-1)

// expMax is the shift of a log-sum-exp with an added 1 whose largest
// exponent is a: at least 0, as lse.Row's.
func expMax(a float64) float64 {
	if !(a >= 0) {
		a = 0
	}
	return a
}

// negLSE finishes the negatives of a row: x holds their exponents minus
// mx (−Inf elsewhere) and receives their exponentials. It returns
// log(1 + Σ exp)/β and the scale turning the exponentials into
// d value/d s: (1/β)·w·β·(−sp), w = e/sum.
func (l *MultiSimilarity) negLSE(x []float64, mx, sp float64) (value, scale float64) {
	lse.Exps(x)
	sum := sum4(x) + lse.Exp(-mx)
	return (1 / l.Beta) * (mx + math.Log(sum)), -sp / sum
}

// sum4 is the sum of x with four accumulators, which the adds' latency
// would otherwise serialise.
func sum4(x []float64) float64 {
	var s0, s1, s2, s3 float64
	for len(x) >= 4 {
		s0 += x[0]
		s1 += x[1]
		s2 += x[2]
		s3 += x[3]
		x = x[4:]
	}
	for _, v := range x {
		s0 += v
	}
	return (s0 + s1) + (s2 + s3)
}
