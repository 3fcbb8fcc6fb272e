package losses

import (
	"math/rand/v2"

	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// ProxyNCA mirrors PML's ProxyNCALoss (Movshovitz-Attias et al., "No Fuss
// Distance Metric Learning using Proxies", ICCV 2017): NCA (see NCA, whose
// settings it embeds) between the embeddings as queries and one learnable
// proxy per class as the reference set, the proxy of class c (row c of
// Proxies, C×D; PML's parameter "proxies") having label c. Miner tuples
// weight each query by tuples.Weights counting only anchors (PML's
// using_ref, as the proxies are a separate reference set). Default distance
// Lp with Power 2, default reducer Mean; an optional weight regularizer
// sees Proxies.
//
// Labels are required and must lie in [0, NumClasses); ref embeddings are
// not supported (as in PML). Unlike NCA, a batch of one embedding is a
// normal batch.
//
// Make it with NewProxyNCA(numClasses, embeddingSize, rng): its zero value
// (or a literal) is refused, see Base. Compute only reads Proxies: it is
// safe for concurrent use as long as neither Proxies (an optimizer step)
// nor the settings change meanwhile.
type ProxyNCA struct {
	NCA
	WeightReg
	// NumClasses is PML's num_classes; it must equal the rows of Proxies.
	NumClasses int
	// Proxies is the C×D parameter "proxies". New initialises it as PML's
	// default weight_init_func, torch.nn.init.normal_ (standard normal).
	Proxies *mat.Dense
}

// NewProxyNCA returns a ProxyNCA loss with PML's defaults
// (ProxyNCALoss(num_classes, embedding_size): softmax_scale 1,
// LpDistance(power=2), MeanReducer, no weight regularizer). The proxies are
// standard normal draws from rng; the random stream differs from torch's.
// A nil rng means math/rand/v2's global generator (fresh draws at every
// call, safe for concurrent use); pass a seeded *rand.Rand for reproducible
// proxies. numClasses and embeddingSize must be positive.
func NewProxyNCA(numClasses, embeddingSize int, rng *rand.Rand) (*ProxyNCA, error) {
	const name = "losses.ProxyNCA"
	if err := checkSizes(name, numClasses, embeddingSize); err != nil {
		return nil, err
	}
	p := mat.NewDense(numClasses, embeddingSize, nil)
	fillNormal(randsrc.Or(rng), p, 1)
	return &ProxyNCA{NCA: *NewNCA(), WeightReg: defaultWeightReg(), NumClasses: numClasses, Proxies: p}, nil
}

// Params implements Learnable: "proxies" (C×D).
func (l *ProxyNCA) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "proxies", Value: l.Proxies}}
}

var proxyNCADecl = decl{
	name:         "losses.ProxyNCA",
	ctor:         "NewProxyNCA(numClasses, embeddingSize, rng)",
	needLabels:   true,
	noRef:        true,
	subLossNames: []string{"loss"},
	defDistance:  squaredLp,
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss.
func (l *ProxyNCA) Compute(b Batch) (Result, error) { return run(&proxyNCADecl, l, b) }

func (l *ProxyNCA) validate(name string) error {
	if err := l.NCA.validate(name); err != nil {
		return err
	}
	return l.WeightReg.checkWeightReg(name)
}

func (l *ProxyNCA) compute(in *input) (*term, error) {
	const name = "losses.ProxyNCA"
	c := l.NumClasses
	if err := checkParam(name, "Proxies", l.Proxies, c, in.d); err != nil {
		return nil, err
	}
	if err := checkClassLabels(name, in.labels, c); err != nil {
		return nil, err
	}
	proxyLabels := make([]int, c)
	for k := range proxyLabels {
		proxyLabels[k] = k
	}
	pin := *in
	pin.ref, pin.m, pin.refLabels, pin.refIsQuery = l.Proxies, c, proxyLabels, false
	pin.same, pin.counted, pin.nPos, pin.nNeg = nil, false, 0, 0
	t, err := l.NCA.computation(&pin)
	if err != nil {
		return nil, err
	}
	inner := t.backward
	d := in.d
	t.backward = func(dv [][]float64, g *grads) error {
		pg := g.param("proxies", c, d)
		return inner(dv, &grads{q: g.q, r: pg, params: g.params})
	}
	return l.WeightReg.addTo(name, t, l.WeightReg.names("loss"), "proxies", l.Proxies, false)
}
