package losses

import (
	"math"
	"slices"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// Instance mirrors PML's InstanceLoss (Zheng et al., "Dual-Path
// Convolutional Image-Text Embeddings with Instance Loss", 2020): each
// embedding's loss is the cross-entropy of its row of the N×N similarity
// matrix, times Gamma, with as target the rank of its label among the
// batch's sorted distinct labels (torch.unique's inverse indices, used as a
// column index exactly as PML does). The distance must be
// distances.CosineSimilarity (PML asserts it; the default); default reducer
// Mean; one "element" sub-loss indexed by embedding. Labels are required;
// mined tuples and ref embeddings are not supported (as in PML).
//
// Make it with NewInstance(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type Instance struct {
	Base
	// Gamma scales the similarities (PML's gamma, default 64). It must be
	// finite.
	Gamma float64
}

// NewInstance returns an Instance loss with PML's defaults (InstanceLoss():
// gamma 64, CosineSimilarity, MeanReducer).
func NewInstance() *Instance {
	return &Instance{Base: defaultBase(), Gamma: 64}
}

var instanceDecl = decl{
	name:          "losses.Instance",
	ctor:          "NewInstance()",
	needLabels:    true,
	noRef:         true,
	noTuples:      true,
	subLossNames:  []string{"loss"},
	defDistance:   func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:    func() reducers.Reducer { return reducers.NewMean() },
	checkDistance: requireCosine,
}

// Compute implements Loss.
func (l *Instance) Compute(b Batch) (Result, error) { return run(&instanceDecl, l, b) }

func (l *Instance) validate(name string) error {
	if math.IsNaN(l.Gamma) || math.IsInf(l.Gamma, 0) {
		return check.Settingf(name, "Gamma = %v must be finite", l.Gamma)
	}
	return nil
}

func (l *Instance) compute(in *input) (*term, error) {
	sim, err := in.matrix()
	if err != nil {
		return nil, err
	}
	n, gamma := in.n, l.Gamma
	uniq := slices.Clone(in.labels)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	targets := make([]int, n)
	for i, lab := range in.labels {
		targets[i], _ = slices.BinarySearch(uniq, lab)
	}
	logits := make([]float64, n)
	grad := mat.NewDense(n, n, nil)
	values := make([]float64, n)
	indices := make([]int, n)
	for i := range n {
		for j, v := range sim.RawRowView(i) {
			logits[j] = v * gamma
		}
		values[i] = crossEntropyRow(logits, targets[i], grad.RawRowView(i))
		indices[i] = i
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: values, Indices: [][]int{indices}, Kind: reducers.Element}},
		backward: func(dv [][]float64, g *grads) error {
			for i := range n {
				row := grad.RawRowView(i)
				for j := range row {
					row[j] *= dv[0][i] * gamma
				}
			}
			return in.matrixBackward(sim, grad, g)
		},
	}, nil
}
