package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// NormalizedSoftmax mirrors PML's NormalizedSoftmaxLoss (Zhai & Wu,
// "Classification is a Strong Baseline for Deep Metric Learning", 2019): a
// softmax cross-entropy over the logits distance(x_i, ŵ_c) / Temperature
// (negated when the distance is not a similarity), where ŵ_c is column c
// of W divided by its P-norm (P of the distance; torch's normalize, eps
// 1e-12).
//
// W is EmbeddingSize×NumClasses (PML's shape, parameter "W"); its gradient
// is returned in Result.ParamGrads["W"]. Default distance
// DotProductSimilarity (normalised embeddings), any distance is accepted;
// default reducer Mean; one "element" sub-loss "loss" indexed by
// embedding, each weighted by tuples.Weights when tuples are given, plus
// "weight_reg_loss" when a weight regularizer is set (it sees Wᵀ). Labels
// are required and must lie in [0, NumClasses); ref embeddings are not
// supported (as in PML).
//
// Make it with NewNormalizedSoftmax(numClasses, embeddingSize, rng): its
// zero value (or a literal) is refused, see Base. Compute only reads W: it
// is safe for concurrent use as long as neither W (an optimizer step) nor
// the settings change meanwhile.
type NormalizedSoftmax struct {
	Base
	WeightReg
	// Temperature divides the logits (PML's temperature, default 0.05). It
	// must be finite and non-zero.
	Temperature float64
	// W holds the class weights, EmbeddingSize×NumClasses (PML's W).
	W *mat.Dense
}

// NewNormalizedSoftmax returns a NormalizedSoftmax loss with PML's
// defaults (NormalizedSoftmaxLoss(num_classes, embedding_size):
// temperature 0.05, DotProductSimilarity) and W drawn from the standard
// normal distribution using rng (PML's torch.nn.init.normal_; the random
// stream differs from torch's; a nil rng means math/rand/v2's global
// generator, fresh draws at every call and safe for concurrent use; pass a
// seeded *rand.Rand for reproducible weights). numClasses and
// embeddingSize must be positive.
func NewNormalizedSoftmax(numClasses, embeddingSize int, rng *rand.Rand) (*NormalizedSoftmax, error) {
	w, err := initWeights("losses.NormalizedSoftmax", embeddingSize, numClasses, rng)
	if err != nil {
		return nil, err
	}
	return &NormalizedSoftmax{Base: defaultBase(), WeightReg: defaultWeightReg(), Temperature: 0.05, W: w}, nil
}

// Params implements Learnable: PML's "W" (EmbeddingSize×NumClasses).
func (l *NormalizedSoftmax) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "W", Value: l.W}}
}

const nsName = "losses.NormalizedSoftmax"

var normalizedSoftmaxDecl = decl{
	name:         nsName,
	ctor:         "NewNormalizedSoftmax(numClasses, embeddingSize, rng)",
	needLabels:   true,
	noRef:        true,
	subLossNames: []string{"loss"},
	defDistance:  func() distances.Distance { return distances.NewDotProductSimilarity() },
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *NormalizedSoftmax) Compute(b Batch) (Result, error) {
	return run(&normalizedSoftmaxDecl, l, b)
}

// Logits mirrors NormalizedSoftmaxLoss.get_logits: the N×NumClasses
// matrix distance(x_i, ŵ_c) / Temperature, negated for a non-similarity.
func (l *NormalizedSoftmax) Logits(embeddings *mat.Dense) (*mat.Dense, error) {
	if l == nil {
		return nil, nilError(nsName, normalizedSoftmaxDecl.ctor)
	}
	if err := normalizedSoftmaxDecl.usable(&l.Base); err != nil {
		return nil, err
	}
	if err := check.Matrix(nsName, "embeddings", embeddings); err != nil {
		return nil, err
	}
	dist := l.Distance
	if dist == nil {
		dist = normalizedSoftmaxDecl.defDistance()
	}
	_, d := embeddings.Dims()
	f, err := l.forward(dist, embeddings, d)
	if err != nil {
		return nil, err
	}
	f.cm.release()
	return f.logits, nil
}

// nsForward holds the intermediate values of get_logits.
type nsForward struct {
	wt, nwt, logits *mat.Dense
	cm              *classMatrix
	norms           []float64
	p, sign         float64
}

func (l *NormalizedSoftmax) forward(dist distances.Distance, emb *mat.Dense, d int) (*nsForward, error) {
	if l.W == nil {
		return nil, check.Errorf(nsName, gometric.ErrShape, "W is nil")
	}
	if err := check.Matrix(nsName, "W", l.W); err != nil {
		return nil, err
	}
	if wr, _ := l.W.Dims(); wr != d {
		return nil, check.Errorf(nsName, gometric.ErrShape, "embedding size %d, W has %d rows (embedding size × classes)", d, wr)
	}
	t := l.Temperature
	if t == 0 || math.IsNaN(t) || math.IsInf(t, 0) {
		return nil, check.Settingf(nsName, "Temperature = %v must be finite and non-zero", t)
	}
	if err := l.checkWeightReg(nsName); err != nil {
		return nil, err
	}
	f := &nsForward{p: dist.Settings().P, sign: 1}
	if !(f.p >= 1) || math.IsInf(f.p, 0) {
		return nil, check.Settingf(nsName, "the distance's P = %v, want a finite P >= 1 to normalise W", f.p)
	}
	if !dist.Settings().Inverted {
		f.sign = -1
	}
	f.wt = mat.DenseCopyOf(l.W.T())
	f.nwt, f.norms = rownorm.Normalize(f.wt, f.p)
	var err error
	if f.cm, err = newClassMatrix(nsName, dist, emb, f.nwt, false); err != nil {
		return nil, err
	}
	n, c := f.cm.m.Dims()
	f.logits = mat.NewDense(n, c, nil)
	for i := 0; i < n; i++ {
		src, dst := f.cm.m.RawRowView(i), f.logits.RawRowView(i)
		for j, v := range src {
			x := v / t
			if f.sign < 0 {
				x = -x
			}
			dst[j] = x
		}
	}
	return f, nil
}

func (l *NormalizedSoftmax) compute(in *input) (*term, error) {
	f, err := l.forward(in.dist, in.emb, in.d)
	if err != nil {
		return nil, err
	}
	_, c := f.logits.Dims()
	if err := checkClassLabels(nsName, in.labels, c); err != nil {
		return nil, err
	}
	weights, err := tuples.Weights(in.tuples, in.n, false)
	if err != nil {
		return nil, err
	}
	n := in.n
	pg := mat.NewDense(n, c, nil)
	values := make([]float64, n)
	idx := make([]int, n)
	for i := 0; i < n; i++ {
		values[i] = crossEntropyRow(f.logits.RawRowView(i), in.labels[i], pg.RawRowView(i)) * weights[i]
		idx[i] = i
	}
	temp := l.Temperature
	t := &term{subLosses: []reducers.SubLoss{{Name: "loss", Values: values, Indices: [][]int{idx}, Kind: reducers.Element}}}
	t.backward = func(dv [][]float64, g *grads) error {
		defer f.cm.release()
		dm := mat.NewDense(n, c, f.cm.scratch(0))
		for i := 0; i < n; i++ {
			gi := dv[0][i] * weights[i] * f.sign / temp
			dst := dm.RawRowView(i)
			if gi == 0 {
				clear(dst)
				continue
			}
			for j, v := range pg.RawRowView(i) {
				dst[j] = gi * v
			}
		}
		dnwt := mat.NewDense(c, in.d, nil)
		if err := f.cm.addVJP(nsName, dm, g.q, dnwt); err != nil {
			return err
		}
		dwt := rownorm.NormalizeVJP(f.wt, dnwt, f.p, f.norms)
		gw := g.param("W", in.d, c)
		gw.Add(gw, dwt.T())
		return nil
	}
	return l.addTo(nsName, t, l.names("loss"), "W", l.W, true)
}
