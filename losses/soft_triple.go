package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// SoftTriple mirrors PML's SoftTripleLoss (Qian et al., "SoftTriple Loss:
// Deep Metric Learning Without Triplet Sampling", ICCV 2019). Each class c
// has CentersPerClass centres (columns c·K … c·K+K−1 of FC, D×(C·K); PML's
// parameter "fc"). With s_ick the similarity between embedding i and
// centre k of class c (default CosineSimilarity; the distance must be a
// similarity, as PML asserts), the class score is the relaxed maximum
// S_ic = Σ_k softmax_k(s_ic·/Gamma)·s_ick (PML's get_logits), and the loss
// of embedding i is the cross-entropy of La·(S_i − Margin·onehot(y_i))
// with target y_i, times its miner weight (tuples.Weights). One "element"
// sub-loss indexed by embedding; default reducer Mean. An optional weight
// regularizer sees FC transposed (the centres as rows), as PML passes
// fc.t().
//
// Labels are required and must lie in [0, NumClasses); ref embeddings are
// not supported (as in PML).
//
// Make it with NewSoftTriple(numClasses, embeddingSize, centersPerClass,
// rng): its zero value (or a literal) is refused, see Base. Compute only
// reads FC: it is safe for concurrent use as long as neither FC (an
// optimizer step) nor the settings change meanwhile.
type SoftTriple struct {
	Base
	WeightReg
	// NumClasses is PML's num_classes and CentersPerClass PML's
	// centers_per_class (default 10); FC must be D×(NumClasses·CentersPerClass).
	NumClasses, CentersPerClass int
	// La is PML's la (default 20), the scale of the logits.
	La float64
	// Gamma is PML's gamma argument (default 0.1); the centre softmax uses
	// 1/Gamma (PML stores self.gamma = 1/gamma). It must be non-zero.
	Gamma float64
	// Margin is PML's margin (default 0.01), subtracted from the true
	// class's score.
	Margin float64
	// FC is the D×(C·K) parameter "fc". New initialises it as PML's
	// default weight_init_func, kaiming_uniform_(a=√5): uniform in
	// ±1/√(C·K).
	FC *mat.Dense
}

// NewSoftTriple returns a SoftTriple loss with PML's defaults
// (SoftTripleLoss(num_classes, embedding_size): centers_per_class 10, la
// 20, gamma 0.1, margin 0.01, CosineSimilarity, MeanReducer, no weight
// regularizer). FC is drawn from rng; the random stream differs from
// torch's. A nil rng means math/rand/v2's global generator (fresh draws at
// every call, safe for concurrent use); pass a seeded *rand.Rand for
// reproducible centres. All sizes must be positive.
func NewSoftTriple(numClasses, embeddingSize, centersPerClass int, rng *rand.Rand) (*SoftTriple, error) {
	const name = "losses.SoftTriple"
	if err := checkSizes(name, numClasses, embeddingSize, centersPerClass); err != nil {
		return nil, err
	}
	cols := numClasses * centersPerClass
	fc := mat.NewDense(embeddingSize, cols, nil)
	bound := 1 / math.Sqrt(float64(cols))
	fillUniform(randsrc.Or(rng), fc, -bound, bound)
	return &SoftTriple{
		Base: defaultBase(), WeightReg: defaultWeightReg(),
		NumClasses: numClasses, CentersPerClass: centersPerClass,
		La: 20, Gamma: 0.1, Margin: 0.01, FC: fc,
	}, nil
}

// Params implements Learnable: "fc" (D×(C·K)).
func (l *SoftTriple) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "fc", Value: l.FC}}
}

var softTripleDecl = decl{
	name:         "losses.SoftTriple",
	ctor:         "NewSoftTriple(numClasses, embeddingSize, centersPerClass, rng)",
	needLabels:   true,
	noRef:        true,
	subLossNames: []string{"loss"},
	defDistance:  func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
	checkDistance: func(name string, d distances.Distance) error {
		if !d.Settings().Inverted {
			return check.Settingf(name, "distance %T is not a similarity (PML asserts is_inverted)", d)
		}
		return nil
	},
}

// Compute implements Loss.
func (l *SoftTriple) Compute(b Batch) (Result, error) { return run(&softTripleDecl, l, b) }

func (l *SoftTriple) validate(name string) error {
	for _, v := range []struct {
		n string
		x float64
	}{{"La", l.La}, {"Gamma", l.Gamma}, {"Margin", l.Margin}} {
		if math.IsNaN(v.x) || math.IsInf(v.x, 0) {
			return check.Settingf(name, "%s = %v must be finite", v.n, v.x)
		}
	}
	if l.Gamma == 0 {
		return check.Settingf(name, "Gamma = 0 (the centre softmax uses 1/Gamma)")
	}
	if err := l.WeightReg.checkWeightReg(name); err != nil {
		return err
	}
	if c, k := l.NumClasses, l.CentersPerClass; c <= 0 || k <= 0 || c > maxParams/k {
		return check.Settingf(name, "NumClasses = %d and CentersPerClass = %d must be positive, their product at most %d", c, k, maxParams)
	}
	return nil
}

func (l *SoftTriple) compute(in *input) (*term, error) {
	const name = "losses.SoftTriple"
	c, k := l.NumClasses, l.CentersPerClass
	ck := c * k
	if err := checkParam(name, "FC", l.FC, in.d, ck); err != nil {
		return nil, err
	}
	if err := checkClassLabels(name, in.labels, c); err != nil {
		return nil, err
	}
	mw, err := tuples.Weights(in.tuples, in.n, false)
	if err != nil {
		return nil, err
	}
	fcT := mat.DenseCopyOf(l.FC.T())
	sim, err := in.dist.Matrix(in.emb, fcT)
	if err != nil {
		return nil, err
	}
	n, invGamma, la := in.n, 1/l.Gamma, l.La
	// prob holds the centre softmax (N×CK), logit the class scores (N×C)
	// and ce the cross-entropy gradient w.r.t. its input (N×C).
	prob := mat.NewDense(n, ck, nil)
	logit := mat.NewDense(n, c, nil)
	ce := mat.NewDense(n, c, nil)
	vals := make([]float64, n)
	x := make([]float64, c)
	buf := make([]float64, k)
	for i := range n {
		s, p, lg := sim.RawRowView(i), prob.RawRowView(i), logit.RawRowView(i)
		for cl := range c {
			sc, pc := s[cl*k:(cl+1)*k], p[cl*k:(cl+1)*k]
			for j, v := range sc {
				buf[j] = v * invGamma
			}
			softmaxRow(buf, pc)
			var v float64
			for j := range sc {
				v += pc[j] * sc[j]
			}
			lg[cl] = v
			x[cl] = la * v
		}
		y := in.labels[i]
		x[y] = la * (lg[y] - l.Margin)
		vals[i] = crossEntropyRow(x, y, ce.RawRowView(i)) * mw[i]
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	t := &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: vals, Indices: [][]int{idx}, Kind: reducers.Element}},
		backward: func(dv [][]float64, g *grads) error {
			gs := mat.NewDense(n, ck, nil)
			for i := range n {
				w := dv[0][i] * mw[i] * la
				if w == 0 {
					continue
				}
				s, p, lg, gce, row := sim.RawRowView(i), prob.RawRowView(i), logit.RawRowView(i), ce.RawRowView(i), gs.RawRowView(i)
				for cl := range c {
					gc := w * gce[cl]
					if gc == 0 {
						continue
					}
					for j := cl * k; j < (cl+1)*k; j++ {
						// d S_ic/d s_icj = p_j·(1 + (s_j − S_ic)/Gamma).
						row[j] = gc * p[j] * (1 + invGamma*(s[j]-lg[cl]))
					}
				}
			}
			dq, dfcT, err := in.dist.MatrixVJP(in.emb, fcT, sim, gs)
			if err != nil {
				return err
			}
			g.q.Add(g.q, dq)
			pg := g.param("fc", in.d, ck)
			pg.Add(pg, dfcT.T())
			return nil
		},
	}
	return l.WeightReg.addTo(name, t, l.WeightReg.names("loss"), "fc", l.FC, true)
}
