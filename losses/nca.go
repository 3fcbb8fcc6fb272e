package losses

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// NCA mirrors PML's NCALoss (Goldberger et al., "Neighbourhood Components
// Analysis", 2004). Each query's loss is −log of the softmax probability
// mass, over the ref embeddings, that falls on its own class: the softmax
// of SoftmaxScale times the similarity row (the negated distance row for a
// distance). When ref is query, an element is excluded from its own row
// (PML fills the diagonal with the most negative float64). Rows whose mass
// is exactly 0 are dropped; mined tuples weight each query by
// tuples.Weights (only the anchors count when ref embeddings are given).
// Default distance Lp with Power 2 (PML's LpDistance(power=2)), default
// reducer Mean; one "element" sub-loss indexed by query. A batch of at most
// one embedding gives PML's zero loss; otherwise labels are required.
//
// Where every row is dropped, PML's MeanReducer returns NaN (the mean of
// nothing); here the reducers treat the empty sub-loss as zero.
//
// Make it with NewNCA(): its zero value (or a literal) is refused, see
// Base. It is safe for concurrent use as long as its settings are not
// changed meanwhile.
type NCA struct {
	Base
	// SoftmaxScale multiplies the similarities before the softmax (PML's
	// softmax_scale, default 1). It must be finite.
	SoftmaxScale float64
}

// NewNCA returns an NCA loss with PML's defaults (NCALoss(): softmax_scale
// 1, LpDistance(power=2)).
func NewNCA() *NCA {
	return &NCA{Base: defaultBase(), SoftmaxScale: 1}
}

var ncaDecl = decl{
	name:         "losses.NCA",
	ctor:         "NewNCA()",
	subLossNames: []string{"loss"},
	defDistance:  squaredLp,
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
}

// squaredLp is the default distance of NCA and ProxyNCA (PML's
// LpDistance(power=2): squared normalised Euclidean distances).
func squaredLp() distances.Distance {
	d := distances.NewLp()
	d.Power = 2
	return d
}

// Compute implements Loss.
func (l *NCA) Compute(b Batch) (Result, error) { return run(&ncaDecl, l, b) }

func (l *NCA) validate(name string) error {
	if math.IsNaN(l.SoftmaxScale) || math.IsInf(l.SoftmaxScale, 0) {
		return check.Settingf(name, "SoftmaxScale = %v must be finite", l.SoftmaxScale)
	}
	return nil
}

func (l *NCA) compute(in *input) (*term, error) {
	if in.n <= 1 {
		return nil, nil
	}
	return l.computation(in)
}

// computation is PML's NCALoss.nca_computation (ProxyNCA calls it with the
// proxies as ref).
func (l *NCA) computation(in *input) (*term, error) {
	name := in.name
	if in.labels == nil {
		return nil, check.Errorf(name, gometric.ErrLabels, "labels are required")
	}
	if in.refLabels == nil {
		return nil, check.Errorf(name, gometric.ErrLabels, "ref labels are required with ref embeddings")
	}
	weights, err := tuples.Weights(in.tuples, in.n, !in.refIsQuery)
	if err != nil {
		return nil, err
	}
	dm, err := in.matrix()
	if err != nil {
		return nil, err
	}
	sign := 1.0
	if !in.dist.Settings().Inverted {
		sign = -1
	}
	n, m, scale := in.n, in.m, l.SoftmaxScale
	// probs holds the softmax rows; x is the scaled logits of one row.
	probs := mat.NewDense(n, m, nil)
	x := make([]float64, m)
	mass := make([]float64, n)
	var values []float64
	var kept []int
	for i := range n {
		for j, v := range dm.RawRowView(i) {
			x[j] = scale * (sign * v)
		}
		if in.refIsQuery {
			x[i] = scale * -math.MaxFloat64
		}
		p := probs.RawRowView(i)
		softmaxRow(x, p)
		var e float64
		for j, r := range in.refLabels {
			if r == in.labels[i] {
				e += p[j]
			}
		}
		mass[i] = e
		if e != 0 {
			values = append(values, -math.Log(e)*weights[i])
			kept = append(kept, i)
		}
	}
	if values == nil {
		values, kept = []float64{}, []int{}
	}
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: values, Indices: [][]int{kept}, Kind: reducers.Element}},
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(n, m, nil)
			for k, i := range kept {
				// d(−w·log e)/d x_ij = −(w/e)·p_ij·(same_ij − e).
				c := -dv[0][k] * weights[i] / mass[i]
				if c == 0 {
					continue
				}
				p, row := probs.RawRowView(i), gm.RawRowView(i)
				for j, r := range in.refLabels {
					same := 0.0
					if r == in.labels[i] {
						same = 1
					}
					row[j] = c * p[j] * (same - mass[i]) * scale * sign
				}
				if in.refIsQuery {
					row[i] = 0 // the filled diagonal carries no gradient
				}
			}
			return in.matrixBackward(dm, gm, g)
		},
	}, nil
}
