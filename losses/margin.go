package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// Margin mirrors PML's MarginLoss (Wu et al., "Sampling Matters in Deep
// Embedding Learning", ICCV 2017). For each triplet (a, p, n), with β the
// boundary (the single entry of Beta, or Beta[labels[a]] when Beta has one
// entry per class) and margin(x, y) as distances.Margin (x − y for a
// distance, y − x for a similarity), the "margin_loss" value is
// relu(margin(d_ap, β) + Margin) + relu(margin(β, d_an) + Margin), a
// "triplet" sub-loss whose divisor is the number of positive pos terms
// plus the number of positive neg terms. When LearnBeta is set, Beta is the
// learnable parameter "beta" and the sub-loss "beta_reg_loss" is Nu·β
// (already reduced for a global β; per triplet, "element" over the
// anchors with the same divisor, for per-class β); otherwise it is 0.
// Default distance Lp (normalised, power 1), default reducer Divisor.
// Triplets come from the tuples (pairs are joined by anchor) or from the
// labels (TripletsPerAnchor: all, or that many sampled with Rand); no
// triplet gives PML's zero loss.
//
// Make it with NewMargin(): its zero value (or a literal) is refused, see
// Base. Compute only reads Beta: it is safe for concurrent use as long as
// neither Beta (an optimizer step, with LearnBeta) nor the settings change
// meanwhile and Rand is nil; a seeded Rand makes it unsafe for concurrent
// use.
type Margin struct {
	Base
	// Margin is PML's margin (default 0.2) and Nu PML's nu (default 0),
	// the weight of the β regularization. Both must be finite.
	Margin, Nu float64
	// Beta is PML's beta: a 1×1 matrix (one β for every class; default
	// 1.2) or 1×C (one per class, PML's num_classes = C; labels must
	// then lie in [0, C)). Entries must be finite.
	Beta *mat.Dense
	// LearnBeta is PML's learn_beta (default false): Beta becomes the
	// parameter "beta" (Params and Result.ParamGrads; shape 1×1 or 1×C for
	// PML's (1,) or (C,)).
	LearnBeta bool
	// TripletsPerAnchor is PML's triplets_per_anchor: tuples.AllPerAnchor
	// (PML's "all", the default) or a positive count sampled with Rand.
	TripletsPerAnchor int
	// Rand samples triplets when TripletsPerAnchor is a count; the stream
	// differs from torch's. A nil Rand means math/rand/v2's global
	// generator: fresh draws at every call, safe for concurrent use. A
	// seeded Rand makes the draws reproducible and the loss unsafe for
	// concurrent use.
	Rand *rand.Rand
}

// NewMargin returns a Margin loss with PML's defaults (MarginLoss():
// margin 0.2, nu 0, beta 1.2 for every class, learn_beta false,
// triplets_per_anchor "all", LpDistance, DivisorReducer).
func NewMargin() *Margin {
	return &Margin{Base: defaultBase(), Margin: 0.2, Beta: mat.NewDense(1, 1, []float64{1.2}), TripletsPerAnchor: tuples.AllPerAnchor}
}

// NewMarginPerClass returns NewMargin with one β per class, each equal to
// beta (PML's MarginLoss(beta=beta, num_classes=numClasses)).
func NewMarginPerClass(numClasses int, beta float64) (*Margin, error) {
	if err := checkSizes("losses.Margin", numClasses); err != nil {
		return nil, err
	}
	l := NewMargin()
	l.Beta = mat.NewDense(1, numClasses, nil)
	for j := range numClasses {
		l.Beta.Set(0, j, beta)
	}
	return l, nil
}

// Params implements Learnable: "beta" when LearnBeta, else none (as PML,
// whose beta is then a plain tensor).
func (l *Margin) Params() []*Param {
	if l == nil || !l.LearnBeta {
		return nil
	}
	return []*Param{{Name: "beta", Value: l.Beta}}
}

var marginDecl = decl{
	name:          "losses.Margin",
	ctor:          "NewMargin()",
	labelsOrTuple: true,
	subLossNames:  []string{"margin_loss", "beta_reg_loss"},
	defDistance:   func() distances.Distance { return distances.NewLp() },
	defReducer:    func() reducers.Reducer { return reducers.NewDivisor() },
}

// Compute implements Loss.
func (l *Margin) Compute(b Batch) (Result, error) { return run(&marginDecl, l, b) }

func (l *Margin) validate(name string) error {
	if math.IsNaN(l.Margin) || math.IsInf(l.Margin, 0) || math.IsNaN(l.Nu) || math.IsInf(l.Nu, 0) {
		return check.Settingf(name, "Margin = %v and Nu = %v must be finite", l.Margin, l.Nu)
	}
	if l.Beta == nil {
		return check.Settingf(name, "Beta is nil")
	}
	if r, _ := l.Beta.Dims(); r != 1 {
		return check.Errorf(name, gometric.ErrShape, "Beta has %d rows, want 1", r)
	}
	return check.Matrix(name, "Beta", l.Beta)
}

func (l *Margin) compute(in *input) (*term, error) {
	const name = "losses.Margin"
	_, nb := l.Beta.Dims()
	beta := l.Beta.RawRowView(0)
	t, err := in.triplets(l.TripletsPerAnchor, randsrc.Or(l.Rand))
	if err != nil {
		return nil, err
	}
	nt := len(t.A)
	if nt == 0 {
		// PML's zero losses; a learnable beta still gets its (zero)
		// gradient.
		z := zeroTerm([]string{"margin_loss", "beta_reg_loss"})
		if l.LearnBeta {
			z.backward = func(_ [][]float64, g *grads) error {
				g.param("beta", 1, nb)
				return nil
			}
		}
		return z, nil
	}
	// cls[k] is the β index of triplet k.
	cls := make([]int, nt)
	if nb > 1 {
		if in.labels == nil {
			return nil, check.Errorf(name, gometric.ErrLabels, "labels are required with one beta per class")
		}
		for k, a := range t.A {
			c := in.labels[a]
			if c < 0 || c >= nb {
				return nil, check.Errorf(name, gometric.ErrLabels, "labels[%d] = %d is outside [0, %d) (one beta per class)", a, c, nb)
			}
			cls[k] = c
		}
	}
	dm, err := in.matrix()
	if err != nil {
		return nil, err
	}
	raw := dm.RawMatrix()
	// dsign is d margin(x, y)/dx.
	dsign := 1.0
	if in.dist.Settings().Inverted {
		dsign = -1
	}
	vals := make([]float64, nt)
	posOn, negOn := make([]bool, nt), make([]bool, nt)
	npos, nneg := 0, 0
	for k := range nt {
		b := beta[cls[k]]
		dap := raw.Data[t.A[k]*raw.Stride+t.P[k]]
		dan := raw.Data[t.A[k]*raw.Stride+t.N[k]]
		p := distances.Margin(in.dist, dap, b) + l.Margin
		n := distances.Margin(in.dist, b, dan) + l.Margin
		if p > 0 {
			posOn[k] = true
			npos++
			vals[k] += p
		}
		if n > 0 {
			negOn[k] = true
			nneg++
			vals[k] += n
		}
	}
	divisor := float64(npos + nneg)
	subs := []reducers.SubLoss{{
		Name: "margin_loss", Values: vals, Indices: [][]int{t.A, t.P, t.N}, Kind: reducers.Triplet,
		Divisor: divisor, HasDivisor: true,
	}}
	switch {
	case !l.LearnBeta:
		subs = append(subs, reducers.SubLoss{Name: "beta_reg_loss", Kind: reducers.AlreadyReduced})
	case nb == 1:
		subs = append(subs, reducers.SubLoss{Name: "beta_reg_loss", Values: []float64{beta[0] * l.Nu}, Kind: reducers.AlreadyReduced})
	default:
		reg := make([]float64, nt)
		for k := range nt {
			reg[k] = beta[cls[k]] * l.Nu
		}
		subs = append(subs, reducers.SubLoss{
			Name: "beta_reg_loss", Values: reg, Indices: [][]int{t.A}, Kind: reducers.Element,
			Divisor: divisor, HasDivisor: true,
		})
	}
	return &term{
		subLosses: subs,
		backward: func(dv [][]float64, g *grads) error {
			gm := mat.NewDense(in.n, in.m, nil)
			gr := gm.RawMatrix()
			var gb []float64
			if l.LearnBeta {
				gb = g.param("beta", 1, nb).RawRowView(0)
			}
			for k := range nt {
				w := dv[0][k]
				if w == 0 {
					continue
				}
				a := t.A[k]
				if posOn[k] {
					gr.Data[a*gr.Stride+t.P[k]] += w * dsign
					if gb != nil {
						gb[cls[k]] -= w * dsign
					}
				}
				if negOn[k] {
					gr.Data[a*gr.Stride+t.N[k]] -= w * dsign
					if gb != nil {
						gb[cls[k]] += w * dsign
					}
				}
			}
			if gb != nil {
				for k, w := range dv[1] {
					gb[cls[k]] += w * l.Nu
				}
			}
			return in.matrixBackward(dm, gm, g)
		},
	}, nil
}
