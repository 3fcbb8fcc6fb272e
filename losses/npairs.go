package losses

import (
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// NPairs mirrors PML's NPairsLoss (Sohn, "Improved Deep Metric Learning
// with Multi-class N-pair Loss Objective", 2016). From the positive pairs
// (of the batch, or of the mined tuples) it keeps one pair per anchor
// label (tuples.PosPairsWithUniqueLabels); with anchors a_i and positives
// p_j of those K pairs, each anchor's loss is the cross-entropy of the
// K×K similarity matrix row s(a_i, p_·) with target i (the negated matrix
// for a distance). Default distance DotProductSimilarity (normalised
// embeddings, as PML's default), default reducer Mean; one "element"
// sub-loss indexed by anchor. Labels are required; ref embeddings are not
// supported (as in PML).
//
// Make it with NewNPairs(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type NPairs struct {
	Base
}

// NewNPairs returns an NPairs loss with PML's defaults (NPairsLoss()).
func NewNPairs() *NPairs {
	return &NPairs{Base: defaultBase()}
}

var nPairsDecl = decl{
	name:         "losses.NPairs",
	ctor:         "NewNPairs()",
	needLabels:   true,
	noRef:        true,
	subLossNames: []string{"loss"},
	defDistance:  func() distances.Distance { return distances.NewDotProductSimilarity() },
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *NPairs) Compute(b Batch) (Result, error) { return run(&nPairsDecl, l, b) }

func (l *NPairs) compute(in *input) (*term, error) {
	a, p, err := tuples.PosPairsWithUniqueLabels(in.tuples, in.labels)
	if err != nil {
		return nil, err
	}
	k := len(a)
	if k == 0 {
		return nil, nil
	}
	anchors, positives := miscGatherRows(in.emb, a), miscGatherRows(in.emb, p)
	sim, err := in.dist.Matrix(anchors, positives)
	if err != nil {
		return nil, err
	}
	sign := 1.0
	if !in.dist.Settings().Inverted {
		sign = -1
	}
	logits := make([]float64, k)
	grad := mat.NewDense(k, k, nil)
	values := make([]float64, k)
	for i := range k {
		for j, v := range sim.RawRowView(i) {
			logits[j] = sign * v
		}
		values[i] = crossEntropyRow(logits, i, grad.RawRowView(i))
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: values, Indices: [][]int{a}, Kind: reducers.Element}},
		backward: func(dv [][]float64, g *grads) error {
			for i := range k {
				row := grad.RawRowView(i)
				for j := range row {
					row[j] *= sign * dv[0][i]
				}
			}
			da, dp, err := in.dist.MatrixVJP(anchors, positives, sim, grad)
			if err != nil {
				return err
			}
			miscAddRows(g.q, a, da)
			miscAddRows(g.q, p, dp)
			return nil
		},
	}, nil
}
