package losses

import (
	"fmt"
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/regularizers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// Batch is the input of one loss call, PML's forward(embeddings, labels,
// indices_tuple, ref_emb, ref_labels).
type Batch struct {
	// Embeddings is N×D.
	Embeddings *mat.Dense
	// Labels has N entries, or is nil where the loss takes none.
	Labels []int
	// Ref is M×D reference embeddings; nil means "ref is query" (PML's
	// ref_emb=None), and then self pairs are excluded.
	Ref *mat.Dense
	// RefLabels has M entries; it is required with Ref where the loss
	// needs labels.
	RefLabels []int
	// Tuples are mined pairs or triplets; nil means all.
	Tuples tuples.Tuples
	// Reuse, when non-nil, is an earlier Result whose gradient matrices
	// (Grad, RefGrad, ParamGrads) this call overwrites and returns instead
	// of allocating new ones, where their shapes fit: a training loop
	// saves an allocation of the size of the embeddings per step with
	//
	//	res, err = loss.Compute(losses.Batch{..., Reuse: &res})
	//
	// The reused matrices must not alias the embeddings or any other
	// input; after an error their contents are unspecified. The wrappers
	// (CrossBatchMemory, Multiple, SelfSupervised) allocate as before.
	Reuse *Result
}

// Result is the output of one loss call.
type Result struct {
	// Loss is the reduced scalar (PML's return value).
	Loss float64
	// Parts holds each sub-loss after reduction, by PML's name ("loss",
	// "pos_loss", "neg_loss", "embedding_reg_loss", ...).
	Parts map[string]float64
	// Grad is dLoss/dEmbeddings (N×D).
	Grad *mat.Dense
	// RefGrad is dLoss/dRef (M×D) when Ref was given, else nil.
	RefGrad *mat.Dense
	// ParamGrads holds dLoss/dParam for each learnable parameter of the
	// loss (see Learnable), by parameter name, with the parameter's shape.
	ParamGrads map[string]*mat.Dense
	// Records are the unreduced sub-losses, set when the reducer is
	// reducers.DoNothing (then Loss is 0 and Grad is nil).
	Records []reducers.SubLoss
}

// Param is a learnable parameter of a loss (PML's torch.nn.Parameter),
// with PML's name (its named_parameters() name: "W", "proxies", "beta",
// ...) and PML's shape. An optimizer updates Value in place with the
// gradient a call returns in Result.ParamGrads[Name].
type Param struct {
	Name  string
	Value *mat.Dense
}

// Learnable is a loss with parameters (ArcFace's W, ProxyAnchor's proxies,
// Margin's beta, ...).
type Learnable interface {
	Loss
	Params() []*Param
}

// Loss is a metric-learning loss, PML's BaseMetricLossFunction.
type Loss interface {
	Compute(b Batch) (Result, error)
}

// Base holds what every PML loss has: a distance, a reducer and an optional
// embedding regularizer. A nil Distance or Reducer means the loss class's
// PML default.
type Base struct {
	Distance distances.Distance
	Reducer  reducers.Reducer
	// EmbeddingRegularizer is applied to the embeddings and its value,
	// times EmbeddingRegWeight, added as the sub-loss
	// "embedding_reg_loss" (PML's embedding_regularizer and
	// embedding_reg_weight; New<Name> sets the weight to PML's 1).
	EmbeddingRegularizer regularizers.Regularizer
	EmbeddingRegWeight   float64
}

func defaultBase() Base { return Base{EmbeddingRegWeight: 1} }

// input is a validated Batch with the ref resolved.
type input struct {
	emb, ref          *mat.Dense // ref == emb when refIsQuery
	labels, refLabels []int      // refLabels == labels when refIsQuery
	refIsQuery        bool
	tuples            tuples.Tuples
	n, m, d           int
	dist              distances.Distance
	// sessions are the distance sessions matrix opened, with their
	// matrices; matrixBackward uses the one whose matrix it is given.
	sessions []openSession
	// pooled (spec.pooled) lets release hand the sessions' buffers and
	// the scratch matrices back to the pool.
	pooled  bool
	scratch []*mat.Dense
}

// grads accumulates the gradient of a loss w.r.t. the query and ref
// embeddings. When ref is query everything lands in q.
type grads struct {
	q, r *mat.Dense
	// params holds the gradient of each learnable parameter, by name.
	params map[string]*mat.Dense
	// reuse holds the caller's matrices for params (Batch.Reuse).
	reuse map[string]*mat.Dense
}

// reuseDense returns m zeroed when it is a contiguous r×c matrix that is
// not one of the inputs, else a new zero r×c matrix.
func reuseDense(m *mat.Dense, r, c int, inputs ...*mat.Dense) *mat.Dense {
	if m == nil {
		return mat.NewDense(r, c, nil)
	}
	if mr, mc := m.Dims(); mr != r || mc != c || m.RawMatrix().Stride != c {
		return mat.NewDense(r, c, nil)
	}
	for _, in := range inputs {
		if in == m {
			return mat.NewDense(r, c, nil)
		}
	}
	clear(m.RawMatrix().Data[:r*c])
	return m
}

// param returns the gradient accumulator of the named parameter, an r×c
// matrix created on first use.
func (g *grads) param(name string, r, c int) *mat.Dense {
	if g.params == nil {
		g.params = make(map[string]*mat.Dense)
	}
	m, ok := g.params[name]
	if !ok {
		m = reuseDense(g.reuse[name], r, c)
		g.params[name] = m
	}
	return m
}

// term is what one loss class computes: its sub-losses and a backward
// function that, given d(total)/d(values) per sub-loss, adds the gradient
// w.r.t. the embeddings into g.
type term struct {
	subLosses []reducers.SubLoss
	backward  func(dv [][]float64, g *grads) error
	// stream, when set, replaces subLosses and backward by sub-losses
	// produced on demand (all triplets of a large batch, all pairs),
	// reduced without holding their values when the reducer can stream
	// them all.
	stream *streamTerm
}

// streamTerm is a set of sub-losses produced on demand. backward receives
// the gradient of the reduction of each part, in order. When the reducer
// cannot stream every part, materialise builds the equivalent ordinary
// term.
type streamTerm struct {
	parts       []streamPart
	backward    func(grads []streamGrad, g *grads) error
	materialise func() (*term, error)
}

// streamPart is one streamed sub-loss. stats, when set, computes what a
// reducer's pass over Each would (see reducers.StreamPlan): the number n
// of values strictly between low and high and their lane sum, with the
// position and value of the first non-finite value (at -1: none), in the
// loop that produces the values.
type streamPart struct {
	reducers.Stream
	stats func(low, high float64) (n int, sum float64, at int, bad float64)
}

// streamGrad is the gradient of a streamed part's reduction with respect
// to its value v of anchor a: band.At(v) when banded (a banded
// reducers.StreamPlan), else fn(v, a).
type streamGrad struct {
	fn     func(v float64, anchor int) float64
	band   reducers.Band
	banded bool
}

// at returns the gradient for the value v of anchor a.
func (sg *streamGrad) at(v float64, a int) float64 {
	if sg.banded {
		return sg.band.At(v)
	}
	return sg.fn(v, a)
}

// spec describes one loss class to the pipeline.
type spec struct {
	name          string // "losses.TripletMargin"
	needLabels    bool   // PML's labels_required
	labelsOrTuple bool   // PML's labels_or_indices_tuple_required
	noLabels      bool   // PML's labels_not_supported
	subLossNames  []string
	defDistance   func() distances.Distance
	defReducer    func() reducers.Reducer
	// checkDistance validates the distance as PML's assert_distance_type.
	checkDistance func(d distances.Distance) error
	compute       func(in *input) (*term, error)
	// pooled says that the loss keeps no reference to its distance
	// matrices or scratch matrices (input.matrix, input.scratchMatrix)
	// once run returns, so that their buffers can be reused.
	pooled bool
}

// run is PML's BaseMetricLossFunction.forward for one loss class.
func run(sp *spec, base *Base, b Batch) (Result, error) {
	in, err := prepare(sp, base, b)
	if err != nil {
		return Result{}, err
	}
	in.pooled = sp.pooled
	defer in.release()
	t, err := sp.compute(in)
	if err != nil {
		return Result{}, err
	}
	if t == nil {
		t = zeroTerm(sp.subLossNames)
	}
	red := base.Reducer
	if red == nil {
		red = sp.defReducer()
	}
	rb := reducers.Batch{N: in.n, Labels: in.labels}
	var streamed *streamTerm
	var streamVals []float64
	var streamGrads []streamGrad
	if st := t.stream; st != nil {
		ok := true
		for _, part := range st.parts {
			v, sg, partOK, err := reduceStream(red, part, rb)
			if err != nil {
				return Result{}, fmt.Errorf("%s: %w", sp.name, err)
			}
			if !partOK {
				ok = false
				break
			}
			streamVals = append(streamVals, v)
			streamGrads = append(streamGrads, sg)
		}
		if ok {
			streamed = st
			t = &term{}
		} else if t, err = st.materialise(); err != nil {
			return Result{}, err
		}
	}
	subs := t.subLosses
	var regGrad *mat.Dense
	if base.EmbeddingRegularizer != nil {
		v, g, err := base.EmbeddingRegularizer.Compute(in.emb)
		if err != nil {
			return Result{}, fmt.Errorf("%s: embedding regularizer: %w", sp.name, err)
		}
		regGrad = g
		subs = append(subs[:len(subs):len(subs)], reducers.SubLoss{
			Name: "embedding_reg_loss", Values: []float64{v * base.EmbeddingRegWeight}, Kind: reducers.AlreadyReduced,
		})
	}
	if reducers.Passthrough(red) {
		return Result{Records: subs}, nil
	}
	out, err := reducers.Reduce(red, subs, rb)
	if err != nil {
		return Result{}, fmt.Errorf("%s: %w", sp.name, err)
	}
	res := Result{Parts: make(map[string]float64, len(subs)+len(streamVals))}
	if streamed != nil {
		// The streamed parts come first in PML's loss dictionary, so they
		// are summed first.
		for i, part := range streamed.parts {
			res.Loss += streamVals[i]
			res.Parts[part.Name] = streamVals[i]
		}
	}
	res.Loss += out.Loss
	for i, s := range subs {
		res.Parts[s.Name] = out.Parts[i]
	}
	var reuse Result
	if b.Reuse != nil {
		reuse = *b.Reuse
	}
	g := &grads{q: reuseDense(reuse.Grad, in.n, in.d, b.Embeddings, b.Ref), reuse: reuse.ParamGrads}
	if !in.refIsQuery {
		g.r = reuseDense(reuse.RefGrad, in.m, in.d, b.Embeddings, b.Ref, g.q)
	}
	if streamed != nil {
		if err := streamed.backward(streamGrads, g); err != nil {
			return Result{}, err
		}
	}
	if t.backward != nil && len(t.subLosses) > 0 {
		if err := t.backward(out.Grads[:len(t.subLosses)], g); err != nil {
			return Result{}, err
		}
	}
	if regGrad != nil {
		w := out.Grads[len(subs)-1][0] * base.EmbeddingRegWeight
		if w != 0 {
			for i := 0; i < in.n; i++ {
				gi, ri := g.q.RawRowView(i)[:in.d], regGrad.RawRowView(i)[:in.d]
				for k, v := range ri {
					gi[k] += w * v
				}
			}
		}
	}
	res.Grad, res.RefGrad, res.ParamGrads = g.q, g.r, g.params
	for name, pg := range g.params {
		if err := check.Matrix(sp.name, "gradient of "+name+" (overflow)", pg); err != nil {
			return Result{}, err
		}
	}
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return Result{}, check.Errorf(sp.name, gometric.ErrNonFinite, "the loss is %v (the inputs or settings overflow float64)", res.Loss)
	}
	if err := check.Matrix(sp.name, "gradient (overflow)", res.Grad); err != nil {
		return Result{}, err
	}
	if res.RefGrad != nil {
		if err := check.Matrix(sp.name, "ref gradient (overflow)", res.RefGrad); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// zeroTerm is PML's zero_losses(): every sub-loss a literal zero.
func zeroTerm(names []string) *term {
	t := &term{}
	for _, n := range names {
		t.subLosses = append(t.subLosses, reducers.SubLoss{Name: n, Kind: reducers.AlreadyReduced})
	}
	return t
}

func prepare(sp *spec, base *Base, b Batch) (*input, error) {
	name := sp.name
	if err := check.Matrix(name, "embeddings", b.Embeddings); err != nil {
		return nil, err
	}
	n, d := b.Embeddings.Dims()
	in := &input{emb: b.Embeddings, labels: b.Labels, n: n, d: d, tuples: b.Tuples}
	if b.Labels != nil {
		if err := check.Labels(name, "labels", b.Labels, n); err != nil {
			return nil, err
		}
	}
	if b.Ref != nil {
		if err := check.Matrix(name, "ref", b.Ref); err != nil {
			return nil, err
		}
		if err := check.SameCols(name, "embeddings", "ref", b.Embeddings, b.Ref); err != nil {
			return nil, err
		}
		in.ref = b.Ref
		in.m, _ = b.Ref.Dims()
		in.refLabels = b.RefLabels
		if b.RefLabels != nil {
			if err := check.Labels(name, "ref labels", b.RefLabels, in.m); err != nil {
				return nil, err
			}
		}
		if b.Labels != nil && b.RefLabels == nil && b.Tuples == nil && !sp.noLabels {
			return nil, check.Errorf(name, gometric.ErrLabels, "ref embeddings and labels given without ref labels")
		}
	} else {
		if b.RefLabels != nil {
			return nil, check.Errorf(name, gometric.ErrLabels, "ref labels given without ref embeddings")
		}
		in.ref, in.m, in.refLabels, in.refIsQuery = b.Embeddings, n, b.Labels, true
	}
	switch {
	case sp.noLabels && (b.Labels != nil || b.RefLabels != nil):
		return nil, check.Errorf(name, gometric.ErrLabels, "this loss takes no labels")
	case sp.needLabels && b.Labels == nil:
		return nil, check.Errorf(name, gometric.ErrLabels, "labels are required")
	case sp.labelsOrTuple && b.Labels == nil && b.Tuples == nil:
		return nil, check.Errorf(name, gometric.ErrLabels, "labels and tuples cannot both be nil")
	}
	if b.Tuples != nil {
		if err := b.Tuples.Validate(n, in.m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	in.dist = base.Distance
	if in.dist == nil && sp.defDistance != nil {
		in.dist = sp.defDistance()
	}
	if sp.checkDistance != nil {
		if err := sp.checkDistance(in.dist); err != nil {
			return nil, err
		}
	}
	if w := base.EmbeddingRegWeight; base.EmbeddingRegularizer != nil && (math.IsNaN(w) || math.IsInf(w, 0)) {
		return nil, check.Settingf(name, "EmbeddingRegWeight = %v", w)
	}
	return in, nil
}

// wrap prefixes an error from a lower package with the loss's name.
func wrap(name string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", name, err)
}

// requireCosine is a spec.checkDistance that accepts only
// CosineSimilarity, as PML's assert_distance_type(self, CosineSimilarity).
func requireCosine(name string) func(distances.Distance) error {
	return func(d distances.Distance) error {
		if c, ok := d.(*distances.CosineSimilarity); !ok || c == nil {
			return check.Settingf(name, "distance %T, want *distances.CosineSimilarity (as PML asserts)", d)
		}
		return nil
	}
}
