package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// ProxyAnchor mirrors PML's ProxyAnchorLoss (Kim et al., "Proxy Anchor
// Loss for Deep Metric Learning", CVPR 2020). Each class c has a learnable
// proxy (row c of Proxies, C×D; PML's parameter "proxies"). With s the
// distance matrix between the embeddings and the proxies (default
// CosineSimilarity) and w_i the miner weight of embedding i minus 1
// (tuples.Weights − 1: 0 without tuples), the "pos_loss" of class c is
// log(1 + Σ_{i: y_i = c} exp(Alpha·margin(s_ic, Margin) + w_i)) and its
// "neg_loss" log(1 + Σ_{i: y_i ≠ c} exp(Alpha·margin(−Margin, s_ic) + w_i))
// (PML's masked logsumexp with add_one; an empty sum gives 0), where
// margin(x, y) is distances.Margin (y − x for a similarity). Both are
// "element" sub-losses over the classes; the default reducer is Divisor,
// with divisor the number of classes that have an embedding (pos_loss) and
// NumClasses (neg_loss). An optional weight regularizer sees Proxies.
//
// Labels are required and must lie in [0, NumClasses); ref embeddings are
// not supported (as in PML).
//
// Make it with NewProxyAnchor(numClasses, embeddingSize, rng): its zero
// value (or a literal) is refused, see Base. Compute only reads Proxies: it
// is safe for concurrent use as long as neither Proxies (an optimizer step)
// nor the settings change meanwhile.
type ProxyAnchor struct {
	Base
	WeightReg
	// NumClasses is PML's num_classes; it must equal the rows of Proxies.
	NumClasses int
	// Margin is PML's margin (default 0.1), Alpha PML's alpha (default 32).
	// Both must be finite.
	Margin, Alpha float64
	// Proxies is the C×D parameter "proxies". New initialises it as PML's
	// default weight_init_func, kaiming_normal_(mode="fan_out"): normal
	// with standard deviation sqrt(2/C).
	Proxies *mat.Dense
}

// NewProxyAnchor returns a ProxyAnchor loss with PML's defaults
// (ProxyAnchorLoss(num_classes, embedding_size): margin 0.1, alpha 32,
// CosineSimilarity, DivisorReducer, no weight regularizer). The proxies are
// drawn from rng; the random stream differs from torch's, so the values are
// not PML's for the same seed. A nil rng means math/rand/v2's global
// generator (fresh draws at every call, safe for concurrent use); pass a
// seeded *rand.Rand for reproducible proxies. numClasses and embeddingSize
// must be positive.
func NewProxyAnchor(numClasses, embeddingSize int, rng *rand.Rand) (*ProxyAnchor, error) {
	const name = "losses.ProxyAnchor"
	if err := checkSizes(name, numClasses, embeddingSize); err != nil {
		return nil, err
	}
	p := mat.NewDense(numClasses, embeddingSize, nil)
	fillNormal(randsrc.Or(rng), p, math.Sqrt(2/float64(numClasses)))
	return &ProxyAnchor{
		Base: defaultBase(), WeightReg: defaultWeightReg(),
		NumClasses: numClasses, Margin: 0.1, Alpha: 32, Proxies: p,
	}, nil
}

// Params implements Learnable: "proxies" (C×D).
func (l *ProxyAnchor) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "proxies", Value: l.Proxies}}
}

var proxyAnchorDecl = decl{
	name:         "losses.ProxyAnchor",
	ctor:         "NewProxyAnchor(numClasses, embeddingSize, rng)",
	needLabels:   true,
	noRef:        true,
	subLossNames: []string{"pos_loss", "neg_loss"},
	defDistance:  func() distances.Distance { return distances.NewCosineSimilarity() },
	defReducer:   func() reducers.Reducer { return reducers.NewDivisor() },
}

// Compute implements Loss.
func (l *ProxyAnchor) Compute(b Batch) (Result, error) { return run(&proxyAnchorDecl, l, b) }

func (l *ProxyAnchor) validate(name string) error {
	for _, v := range []struct {
		n string
		x float64
	}{{"Margin", l.Margin}, {"Alpha", l.Alpha}} {
		if math.IsNaN(v.x) || math.IsInf(v.x, 0) {
			return check.Settingf(name, "%s = %v must be finite", v.n, v.x)
		}
	}
	return l.WeightReg.checkWeightReg(name)
}

func (l *ProxyAnchor) compute(in *input) (*term, error) {
	const name = "losses.ProxyAnchor"
	c := l.NumClasses
	if err := checkParam(name, "Proxies", l.Proxies, c, in.d); err != nil {
		return nil, err
	}
	if err := checkClassLabels(name, in.labels, c); err != nil {
		return nil, err
	}
	mw, err := tuples.Weights(in.tuples, in.n, false)
	if err != nil {
		return nil, err
	}
	for i := range mw {
		mw[i]--
	}
	cm, err := newClassMatrix(name, in.dist, in.emb, l.Proxies, false)
	if err != nil {
		return nil, err
	}
	n, alpha, mg := in.n, l.Alpha, l.Margin
	// dsign is d(margin(s, Margin))/ds; d(margin(−Margin, s))/ds = −dsign.
	dsign := 1.0
	if in.dist.Settings().Inverted {
		dsign = -1
	}
	labels := in.labels
	// PML's masked logsumexp (add_one) of every class over its embeddings
	// (pos) and over the others (neg) is computed for all classes at once,
	// row by row: entry (i, labels[i]) is the only positive one of row i,
	// and the loops over the negatives skip it. Every sum still runs over
	// the embeddings in order, as it would class by class.
	// margin(s, Margin) = dsign·(s − Margin); margin(−Margin, s) =
	// dsign·(−Margin − s).
	sim := cm.m.RawMatrix()
	e := cm.scratch(0)[:n*c] // the exponents, then the exponentials
	pm, nm := make([]float64, c), make([]float64, c)
	ps, ns := make([]float64, c), make([]float64, c)
	count := make([]int, c)
	for k := range c {
		pm[k], nm[k] = math.Inf(-1), math.Inf(-1)
	}
	for i := range n {
		y, wi := labels[i], mw[i]
		si, ei := sim.Data[i*sim.Stride:i*sim.Stride+c], e[i*c:(i+1)*c]
		for k, v := range si {
			x := alpha*(dsign*(-mg-v)) + wi
			ei[k] = x
			if x > nm[k] && k != y {
				nm[k] = x
			}
		}
		x := alpha*(dsign*(si[y]-mg)) + wi
		ei[y] = x
		if x > pm[y] {
			pm[y] = x
		}
		count[y]++
	}
	// pm and nm become the shifts: the maxima, at least 0 for the added one.
	for k := range c {
		if pm[k] < 0 {
			pm[k] = 0
		}
		if nm[k] < 0 {
			nm[k] = 0
		}
	}
	for i := range n {
		y, ei := labels[i], e[i*c:(i+1)*c]
		py := ei[y] - pm[y]
		for k := range ei {
			ei[k] -= nm[k]
		}
		ei[y] = py
		lse.Exps(ei)
		for k, v := range ei[:y] {
			ns[k] += v
		}
		for k, v := range ei[y+1:] {
			ns[y+1+k] += v
		}
		ps[y] += ei[y]
	}
	// lse.Row: shift + log(Σ exp(x − shift) + exp(−shift)); an empty
	// class gives 0. cp and cn turn the exponentials into the gradient.
	pos, neg := make([]float64, c), make([]float64, c)
	withPos := 0
	for k := range c {
		if count[k] > 0 {
			withPos++
			ps[k] += lse.Exp(-pm[k])
			pos[k] = pm[k] + math.Log(ps[k])
		}
		if count[k] < n {
			ns[k] += lse.Exp(-nm[k])
			neg[k] = nm[k] + math.Log(ns[k])
		}
	}
	idx := make([]int, c)
	for k := range idx {
		idx[k] = k
	}
	t := &term{
		subLosses: []reducers.SubLoss{
			{Name: "pos_loss", Values: pos, Indices: [][]int{idx}, Kind: reducers.Element, Divisor: float64(withPos), HasDivisor: true},
			{Name: "neg_loss", Values: neg, Indices: [][]int{idx}, Kind: reducers.Element, Divisor: float64(c), HasDivisor: true},
		},
		backward: func(dv [][]float64, g *grads) error {
			defer cm.release()
			// d(pos_k)/d(x_ik) = exp_ik / ps_k, and x_ik = Alpha·dsign·s_ik + …
			cp, cn := make([]float64, c), make([]float64, c)
			for k := range c {
				if count[k] > 0 {
					cp[k] = dv[0][k] * alpha * dsign / ps[k]
				}
				if count[k] < n {
					cn[k] = -dv[1][k] * alpha * dsign / ns[k]
				}
			}
			gm := cm.scratch(1)[:n*c]
			for i := range n {
				y, ei, gi := labels[i], e[i*c:(i+1)*c], gm[i*c:(i+1)*c]
				for k, v := range ei {
					gi[k] = cn[k] * v
				}
				gi[y] = cp[y] * ei[y]
			}
			return cm.addVJP(name, mat.NewDense(n, c, gm), g.q, g.param("proxies", c, in.d))
		},
	}
	return l.WeightReg.addTo(name, t, l.WeightReg.names("pos_loss", "neg_loss"), "proxies", l.Proxies, false)
}

// maxParams is the documented limit of a loss's parameter matrix (and of
// CrossBatchMemory's memory): 2^28 entries, 2 GiB of float64, so that an
// absurd size gives an error instead of exhausting memory.
const maxParams = 1 << 28

// checkSizes validates the sizes given to a New function of a loss with
// parameters: each positive, their product (the parameter count) at most
// maxParams.
func checkSizes(name string, sizes ...int) error {
	total := 1
	for _, s := range sizes {
		if s <= 0 {
			return check.Settingf(name, "sizes %v must be positive", sizes)
		}
		if s > maxParams/total {
			return check.Settingf(name, "sizes %v give more than the limit of %d parameters", sizes, maxParams)
		}
		total *= s
	}
	return nil
}

// checkParam validates a parameter matrix: set, rows×cols (cols is the
// embedding size of the batch) and finite.
func checkParam(name, what string, p *mat.Dense, rows, cols int) error {
	if p == nil {
		return check.Settingf(name, "%s is nil", what)
	}
	r, c := p.Dims()
	if r != rows || c != cols {
		return check.Errorf(name, gometric.ErrShape, "%s is %d×%d, want %d×%d (the embeddings have %d columns)", what, r, c, rows, cols, cols)
	}
	return check.Matrix(name, what, p)
}

// checkClassLabels checks that every label lies in [0, numClasses).
func checkClassLabels(name string, labels []int, numClasses int) error {
	for i, v := range labels {
		if v < 0 || v >= numClasses {
			return check.Errorf(name, gometric.ErrLabels, "labels[%d] = %d is outside [0, %d)", i, v, numClasses)
		}
	}
	return nil
}

// fillNormal fills m with normal values of the given standard deviation.
func fillNormal(rng *rand.Rand, m *mat.Dense, std float64) {
	raw := m.RawMatrix()
	for i := range raw.Rows {
		row := raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols]
		for j := range row {
			row[j] = std * rng.NormFloat64()
		}
	}
}

// fillUniform fills m with values uniform in [lo, hi).
func fillUniform(rng *rand.Rand, m *mat.Dense, lo, hi float64) {
	raw := m.RawMatrix()
	for i := range raw.Rows {
		row := raw.Data[i*raw.Stride : i*raw.Stride+raw.Cols]
		for j := range row {
			row[j] = lo + (hi-lo)*rng.Float64()
		}
	}
}
