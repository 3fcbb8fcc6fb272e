package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/lse"
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
// drawn from rng (nil: a fixed seed); the random stream differs from
// torch's, so the values are not PML's for the same seed. numClasses and
// embeddingSize must be positive.
func NewProxyAnchor(numClasses, embeddingSize int, rng *rand.Rand) (*ProxyAnchor, error) {
	const name = "losses.ProxyAnchor"
	if err := checkSizes(name, numClasses, embeddingSize); err != nil {
		return nil, err
	}
	p := mat.NewDense(numClasses, embeddingSize, nil)
	fillNormal(orFixedRand(rng), p, math.Sqrt(2/float64(numClasses)))
	return &ProxyAnchor{
		Base: defaultBase(), WeightReg: defaultWeightReg(),
		NumClasses: numClasses, Margin: 0.1, Alpha: 32, Proxies: p,
	}, nil
}

// Params implements Learnable: "proxies" (C×D).
func (l *ProxyAnchor) Params() []*Param { return []*Param{{Name: "proxies", Value: l.Proxies}} }

// Compute implements Loss.
func (l *ProxyAnchor) Compute(b Batch) (Result, error) {
	sp := &spec{
		name:         "losses.ProxyAnchor",
		needLabels:   true,
		subLossNames: l.WeightReg.names("pos_loss", "neg_loss"),
		defDistance:  func() distances.Distance { return distances.NewCosineSimilarity() },
		defReducer:   func() reducers.Reducer { return reducers.NewDivisor() },
		compute:      l.compute,
	}
	if b.Ref != nil || b.RefLabels != nil {
		return Result{}, check.Errorf(sp.name, gometric.ErrUnsupported, "ref embeddings are not supported")
	}
	return run(sp, &l.Base, b)
}

func (l *ProxyAnchor) compute(in *input) (*term, error) {
	const name = "losses.ProxyAnchor"
	for _, v := range []struct {
		n string
		x float64
	}{{"Margin", l.Margin}, {"Alpha", l.Alpha}} {
		if math.IsNaN(v.x) || math.IsInf(v.x, 0) {
			return nil, check.Settingf(name, "%s = %v must be finite", v.n, v.x)
		}
	}
	if err := l.WeightReg.validate(name); err != nil {
		return nil, err
	}
	c := l.NumClasses
	if err := checkParam(name, "Proxies", l.Proxies, c, in.d); err != nil {
		return nil, err
	}
	if err := checkClassLabels(name, in.labels, c); err != nil {
		return nil, err
	}
	mw, err := tuples.Weights(in.tuples, in.n, false)
	if err != nil {
		return nil, wrap(name, err)
	}
	for i := range mw {
		mw[i]--
	}
	cos, err := in.dist.Matrix(in.emb, l.Proxies)
	if err != nil {
		return nil, wrap(name, err)
	}
	n, alpha, mg := in.n, l.Alpha, l.Margin
	inv := in.dist.Settings().Inverted
	// dsign is d(margin(s, Margin))/ds; d(margin(−Margin, s))/ds = −dsign.
	dsign := 1.0
	if inv {
		dsign = -1
	}
	labels := in.labels
	posX, negX := make([]float64, n), make([]float64, n)
	posKeep, negKeep := make([]bool, n), make([]bool, n)
	// wPos and wNeg hold, column by column (C×N), the logsumexp weights.
	wPos, wNeg := mat.NewDense(c, n, nil), mat.NewDense(c, n, nil)
	pos, neg := make([]float64, c), make([]float64, c)
	withPos := 0
	raw := cos.RawMatrix()
	for k := range c {
		has := false
		for i := range n {
			s := raw.Data[i*raw.Stride+k]
			posKeep[i] = labels[i] == k
			negKeep[i] = !posKeep[i]
			has = has || posKeep[i]
			// margin(s, Margin) = dsign·(s − Margin); margin(−Margin, s) =
			// dsign·(−Margin − s).
			posX[i] = alpha*(dsign*(s-mg)) + mw[i]
			negX[i] = alpha*(dsign*(-mg-s)) + mw[i]
		}
		if has {
			withPos++
		}
		pos[k] = lse.Row(posX, posKeep, true, wPos.RawRowView(k))
		neg[k] = lse.Row(negX, negKeep, true, wNeg.RawRowView(k))
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
			gm := mat.NewDense(n, c, nil)
			graw := gm.RawMatrix()
			for k := range c {
				dp, dn := dv[0][k]*alpha*dsign, -dv[1][k]*alpha*dsign
				if dp == 0 && dn == 0 {
					continue
				}
				wp, wn := wPos.RawRowView(k), wNeg.RawRowView(k)
				for i := range n {
					graw.Data[i*graw.Stride+k] = dp*wp[i] + dn*wn[i]
				}
			}
			dq, dp, err := in.dist.MatrixVJP(in.emb, l.Proxies, cos, gm)
			if err != nil {
				return wrap(name, err)
			}
			g.q.Add(g.q, dq)
			pg := g.param("proxies", c, in.d)
			pg.Add(pg, dp)
			return nil
		},
	}
	return l.WeightReg.addTo(name, t, l.WeightReg.names("pos_loss", "neg_loss"), "proxies", l.Proxies, false)
}

// checkSizes validates the sizes given to a New function of a loss with
// parameters.
func checkSizes(name string, sizes ...int) error {
	for _, s := range sizes {
		if s <= 0 {
			return check.Settingf(name, "sizes %v must be positive", sizes)
		}
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

// orFixedRand returns rng, or a generator with a fixed seed when rng is nil.
func orFixedRand(rng *rand.Rand) *rand.Rand {
	if rng == nil {
		return rand.New(rand.NewPCG(0x9e3779b97f4a7c15, 0x6a09e667f3bcc909))
	}
	return rng
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
