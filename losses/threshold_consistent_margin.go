package losses

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// tcmEps is the eps of torch.nn.functional.cosine_similarity.
const tcmEps = 1e-8

// ThresholdConsistentMargin mirrors PML's ThresholdConsistentMarginLoss
// (the TCM loss of Zhang et al., "Threshold-Consistent Margin Loss for
// Open-World Deep Metric Learning", arXiv 2307.04047). With s the cosine
// similarity of a pair (torch's F.cosine_similarity, eps 1e-8), the loss is
//
//	LambdaPlus  · mean over positive pairs with s ≤ MarginPlus  of (MarginPlus − s)
//	+ LambdaMinus · mean over negative pairs with s ≥ MarginMinus of (s − MarginMinus)
//
// where an empty mean counts as 0. The pairs are those of PML's
// convert_to_pairs (all pairs, or the mined tuples). Sub-loss "loss"
// (already reduced); default reducer Mean. PML asserts that the distance
// is a CosineSimilarity (the default) but computes the similarities itself,
// so the distance is only checked, never used.
//
// As PML does, the similarities are taken between rows of the query
// embeddings even when ref embeddings are given: the positive and negative
// indices (which refer to the reference set) then index the query rows,
// the ref embeddings get a zero gradient, and an index beyond the query
// rows is an error wrapping gometric.ErrIndex (PML raises an IndexError).
// Labels and tuples cannot both be nil (PML fails on labels=None).
//
// Make it with NewThresholdConsistentMargin(): its zero value (or a
// literal) is refused, see Base. It is safe for concurrent use as long as
// its settings are not changed meanwhile.
type ThresholdConsistentMargin struct {
	Base
	// LambdaPlus and LambdaMinus are PML's lambda_plus and lambda_minus
	// (default 1 each): the weights of the positive and negative parts.
	LambdaPlus, LambdaMinus float64
	// MarginPlus and MarginMinus are PML's margin_plus (default 0.9) and
	// margin_minus (default 0.5): positive pairs less similar than
	// MarginPlus and negative pairs more similar than MarginMinus are
	// penalised.
	MarginPlus, MarginMinus float64
}

// NewThresholdConsistentMargin returns the loss with PML's defaults
// (ThresholdConsistentMarginLoss(): lambda_plus 1, lambda_minus 1,
// margin_plus 0.9, margin_minus 0.5, CosineSimilarity).
func NewThresholdConsistentMargin() *ThresholdConsistentMargin {
	return &ThresholdConsistentMargin{Base: defaultBase(), LambdaPlus: 1, LambdaMinus: 1, MarginPlus: 0.9, MarginMinus: 0.5}
}

var thresholdConsistentMarginDecl = decl{
	name:          "losses.ThresholdConsistentMargin",
	ctor:          "NewThresholdConsistentMargin()",
	labelsOrTuple: true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
	checkDistance: requireCosine,
}

// Compute implements Loss.
func (l *ThresholdConsistentMargin) Compute(b Batch) (Result, error) {
	return run(&thresholdConsistentMarginDecl, l, b)
}

func (l *ThresholdConsistentMargin) validate(name string) error {
	for _, v := range []float64{l.LambdaPlus, l.LambdaMinus, l.MarginPlus, l.MarginMinus} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return check.Settingf(name, "LambdaPlus %v, LambdaMinus %v, MarginPlus %v, MarginMinus %v must be finite",
				l.LambdaPlus, l.LambdaMinus, l.MarginPlus, l.MarginMinus)
		}
	}
	return nil
}

func (l *ThresholdConsistentMargin) compute(in *input) (*term, error) {
	const name = "losses.ThresholdConsistentMargin"
	pairs, err := in.pairs()
	if err != nil {
		return nil, err
	}
	if !in.refIsQuery {
		if err := check.Indices(name, "positives (PML indexes the query embeddings with them)", pairs.P, in.n); err != nil {
			return nil, err
		}
		if err := check.Indices(name, "negatives (PML indexes the query embeddings with them)", pairs.N, in.n); err != nil {
			return nil, err
		}
	}

	// Rows divided by max(norm, eps), as F.cosine_similarity does.
	x := in.emb.RawMatrix()
	d := in.d
	u := make([]float64, in.n*d)
	norms, clamped := make([]float64, in.n), make([]float64, in.n)
	for i := 0; i < in.n; i++ {
		row := x.Data[i*x.Stride : i*x.Stride+d]
		ss := 0.0
		for _, v := range row {
			ss += v * v
		}
		if rownorm.Safe(ss) {
			norms[i] = math.Sqrt(ss)
		} else {
			// Squares that overflow or underflow: the scaled norm.
			norms[i] = rownorm.Scaled(row, 2)
		}
		clamped[i] = max(norms[i], tcmEps)
		if norms[i] > math.MaxFloat64 {
			// Finite entries whose norm exceeds float64's range.
			rownorm.ScaleRow(u[i*d:i*d+d], row, 2, norms[i])
			continue
		}
		for j, v := range row {
			u[i*d+j] = v / clamped[i]
		}
	}
	cos := func(a, b int) float64 {
		ua, ub := u[a*d:a*d+d], u[b*d:b*d+d]
		s := 0.0
		for j := range ua {
			s += ua[j] * ub[j]
		}
		return s
	}

	// Positive part: pairs with s <= MarginPlus; negative part: s >= MarginMinus.
	var posNum, negNum float64
	var posIn, negIn []bool
	posCount, negCount := 0, 0
	posIn = make([]bool, len(pairs.A1))
	for i, a := range pairs.A1 {
		if s := cos(a, pairs.P[i]); s <= l.MarginPlus {
			posNum += l.MarginPlus - s
			posIn[i] = true
			posCount++
		}
	}
	negIn = make([]bool, len(pairs.A2))
	for i, a := range pairs.A2 {
		if s := cos(a, pairs.N[i]); s >= l.MarginMinus {
			negNum += s - l.MarginMinus
			negIn[i] = true
			negCount++
		}
	}
	var posTCM, negTCM float64
	if posCount > 0 {
		posTCM = posNum / float64(posCount)
	}
	if negCount > 0 {
		negTCM = negNum / float64(negCount)
	}
	loss := l.LambdaPlus*posTCM + l.LambdaMinus*negTCM

	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: []float64{loss}, Kind: reducers.AlreadyReduced}},
		backward: func(dv [][]float64, g *grads) error {
			up := dv[0][0]
			if up == 0 || posCount+negCount == 0 {
				return nil
			}
			gu := make([]float64, in.n*d) // d/d(normalised rows)
			addPair := func(a, b int, w float64) {
				ua, ub := u[a*d:a*d+d], u[b*d:b*d+d]
				ga, gb := gu[a*d:a*d+d], gu[b*d:b*d+d]
				for j := range ua {
					ga[j] += w * ub[j]
					gb[j] += w * ua[j]
				}
			}
			if posCount > 0 {
				w := -up * l.LambdaPlus / float64(posCount)
				for i, a := range pairs.A1 {
					if posIn[i] {
						addPair(a, pairs.P[i], w)
					}
				}
			}
			if negCount > 0 {
				w := up * l.LambdaMinus / float64(negCount)
				for i, a := range pairs.A2 {
					if negIn[i] {
						addPair(a, pairs.N[i], w)
					}
				}
			}
			cosineRowsVJP(in.emb, norms, clamped, gu, g.q)
			return nil
		},
	}, nil
}

// cosineRowsVJP adds to dst the gradient with respect to the rows x_i of
// u_i = x_i / c_i, c_i = max(‖x_i‖, eps), given gu = d/du. As in torch's
// cosine_similarity, the clamp is applied without recording it, so the
// norm's own gradient x_i/‖x_i‖ (0 at a zero row) is used.
func cosineRowsVJP(x *mat.Dense, norms, clamped, gu []float64, dst *mat.Dense) {
	raw, out := x.RawMatrix(), dst.RawMatrix()
	d := raw.Cols
	for i := range norms {
		g := gu[i*d : i*d+d]
		row := raw.Data[i*raw.Stride : i*raw.Stride+d]
		o := out.Data[i*out.Stride : i*out.Stride+d]
		c, n := clamped[i], norms[i]
		if n > 0x1p300 || (n > 0 && n < 0x1p-300) {
			// Extreme norms, where c²·n or g·x would overflow or
			// underflow: k·x_j = (g·x̂)(n/c²)·x̂_j with x̂ = x/n.
			dh := 0.0
			for j, v := range g {
				dh += v * (row[j] / n)
			}
			k := dh * (n / c) / c
			for j, v := range g {
				o[j] += v/c - k*(row[j]/n)
			}
			continue
		}
		dot := 0.0
		for j, v := range g {
			dot += v * row[j]
		}
		k := 0.0
		if n > 0 {
			k = dot / (c * c * n)
		}
		for j, v := range g {
			o[j] += v/c - k*row[j]
		}
	}
}
