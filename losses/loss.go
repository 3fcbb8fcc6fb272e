package losses

import (
	"fmt"
	"math"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/regularizers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// Batch is the input of one loss call, PML's forward(embeddings, labels,
// indices_tuple, ref_emb, ref_labels). Its zero value has no embeddings and
// is refused by every loss (gometric.ErrShape). A loss only reads a Batch
// (and overwrites Reuse's matrices), so a Batch nobody changes is safe for
// concurrent use by several calls, each with its own Reuse.
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

// Result is the output of one loss call. Its zero value is an empty result
// (a valid Batch.Reuse: nothing to reuse). It is plain data owned by the
// caller: safe for concurrent reads, not for a write concurrent with
// anything else.
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
// gradient a call returns in Result.ParamGrads[Name]. Params never
// returns a zero Param. Value is the loss's own matrix: stepping it is not
// safe for concurrent use with a Compute of the loss.
type Param struct {
	Name  string
	Value *mat.Dense
}

// Learnable is a loss with parameters (ArcFace's W, ProxyAnchor's proxies,
// Margin's beta, ...). Params returns the loss's own matrices: an optimizer
// step on them is not safe for concurrent use with Compute.
type Learnable interface {
	Loss
	Params() []*Param
}

// Loss is a metric-learning loss, PML's BaseMetricLossFunction. Each
// implementation's doc says whether it is safe for concurrent use.
type Loss interface {
	Compute(b Batch) (Result, error)
}

// Base holds what every PML loss has: a distance, a reducer and an optional
// embedding regularizer. A nil Distance or Reducer means the loss class's
// PML default.
//
// A loss is made by its New<Name> constructor, which sets its Base (and
// the loss's own settings) to PML's defaults; change the fields of that
// Base, never replace it. A loss whose Base was not made by a constructor
// (a zero loss value, a literal, or Base replaced by a Base literal) is
// refused with an error wrapping gometric.ErrSetting that names the
// constructor: EmbeddingRegWeight's default is 1, not 0, and most losses
// have margins for which 0 is a legal setting, so a zero value cannot
// stand for PML's defaults. Base is settings that the losses only read:
// safe for concurrent use as long as nobody changes them.
type Base struct {
	Distance distances.Distance
	Reducer  reducers.Reducer
	// EmbeddingRegularizer is applied to the embeddings and its value,
	// times EmbeddingRegWeight, added as the sub-loss
	// "embedding_reg_loss" (PML's embedding_regularizer and
	// embedding_reg_weight; New<Name> sets the weight to PML's 1).
	EmbeddingRegularizer regularizers.Regularizer
	EmbeddingRegWeight   float64

	// made is set by the constructors (defaultBase).
	made bool
}

// defaultBase is PML's BaseMetricLossFunction defaults, marked as made by
// a constructor.
func defaultBase() Base { return Base{EmbeddingRegWeight: 1, made: true} }

// base gives the pipeline the Base of a loss (promoted to every loss).
func (b *Base) base() *Base { return b }

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
	// pooled (decl.pooled) lets release hand the sessions' buffers and
	// the scratch matrices back to the pool.
	pooled  bool
	scratch []*mat.Dense
	// name is the loss's component name ("losses.Contrastive"), for the
	// errors of code shared by several losses.
	name string
	// same caches tuples.SameLabel(labels, refLabels) (see sameLabels).
	same [][]int
	// nPos and nNeg are PML's len(a1) and len(a2) after convert_to_pairs,
	// set by countPairs (counted).
	nPos, nNeg int
	counted    bool
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

// decl declares one loss class to the pipeline: each loss type has one, a
// package-level value, and its Compute hands it to run with the loss.
// Everything a loss class shares with the others is declared here and done
// once by the pipeline: the nil and zero-value checks, the label, ref and
// tuple rules, GenericPairLoss's early exit, the default distance and
// reducer, and the loss's name on every error.
type decl struct {
	name string // "losses.TripletMargin"
	// ctor is the constructor call the zero-value error names:
	// "NewTripletMargin()".
	ctor          string
	needLabels    bool // PML's labels_required
	labelsOrTuple bool // PML's labels_or_indices_tuple_required
	noLabels      bool // PML's labels_not_supported
	noRef         bool // PML's ref_not_supported
	noTuples      bool // PML's indices_tuple_not_supported
	// pairRule is GenericPairLoss's early exit: when every index list of
	// the pairs (all pairs, or the mined tuples converted to pairs) has at
	// most one entry, the loss is PML's zero_losses(), before the distance
	// is computed.
	pairRule     bool
	subLossNames []string
	defDistance  func() distances.Distance
	defReducer   func() reducers.Reducer
	// checkDistance validates the distance as PML's assert_distance_type.
	checkDistance func(name string, d distances.Distance) error
	// pooled says that the loss keeps no reference to its distance
	// matrices or scratch matrices (input.matrix, input.scratchMatrix)
	// once run returns, so that their buffers can be reused.
	pooled bool
}

// computer is what a loss type adds to its decl: the computation of its
// sub-losses.
type computer interface {
	compute(in *input) (*term, error)
}

// lossBody is a loss type the pipeline runs: a pointer to a struct that
// embeds Base and computes its sub-losses.
type lossBody interface {
	comparable
	computer
	base() *Base
}

// validator is implemented by the losses with settings: validate checks
// them before the input, as PML's constructors do.
type validator interface {
	validate(name string) error
}

// nilError is the error of a method called on a nil pointer to the type
// named name ("losses.Contrastive").
func nilError(name, ctor string) error {
	return check.Settingf(name, "nil *%s; use %s", name, ctor)
}

// notMade is the error for a loss whose Base no constructor made.
func (d *decl) notMade() error {
	fn, _, _ := strings.Cut(d.ctor, "(")
	return check.Settingf(d.name, "not made by %s: its zero value is not PML's defaults; use %s and set fields", fn, d.ctor)
}

// usable checks the receiver and its Base before any method of a loss.
func (d *decl) usable(b *Base) error {
	if !b.made {
		return d.notMade()
	}
	return nil
}

// run is PML's BaseMetricLossFunction.forward for the loss l of class d.
func run[L lossBody](d *decl, l L, b Batch) (Result, error) {
	var null L
	if l == null {
		return Result{}, nilError(d.name, d.ctor)
	}
	base := l.base()
	if err := d.usable(base); err != nil {
		return Result{}, err
	}
	if v, ok := any(l).(validator); ok {
		if err := v.validate(d.name); err != nil {
			return Result{}, wrap(d.name, err)
		}
	}
	res, err := d.run(base, l, b)
	if err != nil {
		return Result{}, wrap(d.name, err)
	}
	return res, nil
}

// run is run after the checks of the loss value: its errors are
// prefixed with the loss's name by the caller.
func (d *decl) run(base *Base, c computer, b Batch) (Result, error) {
	in, err := prepare(d, base, b)
	if err != nil {
		return Result{}, err
	}
	defer in.release()
	var t *term
	if !d.pairRule || !in.tooFewPairs() {
		if t, err = c.compute(in); err != nil {
			return Result{}, err
		}
	}
	if t == nil {
		t = zeroTerm(d.subLossNames)
	}
	red := base.Reducer
	if red == nil {
		red = d.defReducer()
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
				return Result{}, err
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
			return Result{}, fmt.Errorf("embedding regularizer: %w", err)
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
		return Result{}, err
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
		if err := check.Matrix(d.name, "gradient of "+name+" (overflow)", pg); err != nil {
			return Result{}, err
		}
	}
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		return Result{}, check.Errorf(d.name, gometric.ErrNonFinite, "the loss is %v (the inputs or settings overflow float64)", res.Loss)
	}
	if err := check.Matrix(d.name, "gradient (overflow)", res.Grad); err != nil {
		return Result{}, err
	}
	if res.RefGrad != nil {
		if err := check.Matrix(d.name, "ref gradient (overflow)", res.RefGrad); err != nil {
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

// prepare validates the batch against the loss class d and resolves the
// ref: PML's forward before compute_loss.
func prepare(d *decl, base *Base, b Batch) (*input, error) {
	name := d.name
	if err := check.Matrix(name, "embeddings", b.Embeddings); err != nil {
		return nil, err
	}
	n, dim := b.Embeddings.Dims()
	in := &input{emb: b.Embeddings, labels: b.Labels, n: n, d: dim, tuples: b.Tuples, name: name, pooled: d.pooled}
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
		if b.Labels != nil && b.RefLabels == nil && b.Tuples == nil && !d.noLabels {
			return nil, check.Errorf(name, gometric.ErrLabels, "ref embeddings and labels given without ref labels")
		}
	} else {
		if b.RefLabels != nil {
			return nil, check.Errorf(name, gometric.ErrLabels, "ref labels given without ref embeddings")
		}
		in.ref, in.m, in.refLabels, in.refIsQuery = b.Embeddings, n, b.Labels, true
	}
	switch {
	case d.noLabels && (b.Labels != nil || b.RefLabels != nil):
		return nil, check.Errorf(name, gometric.ErrLabels, "this loss takes no labels")
	case d.needLabels && b.Labels == nil:
		return nil, check.Errorf(name, gometric.ErrLabels, "labels are required")
	case d.labelsOrTuple && b.Labels == nil && b.Tuples == nil:
		return nil, check.Errorf(name, gometric.ErrLabels, "labels and tuples cannot both be nil")
	}
	if b.Tuples != nil {
		if err := b.Tuples.Validate(n, in.m); err != nil {
			return nil, err
		}
	}
	switch {
	case d.noRef && !in.refIsQuery:
		return nil, check.Errorf(name, gometric.ErrUnsupported, "ref embeddings are not supported (as in PML)")
	case d.noTuples && b.Tuples != nil:
		return nil, check.Errorf(name, gometric.ErrUnsupported, "mined tuples are not supported (as in PML)")
	}
	in.dist = base.Distance
	if in.dist == nil && d.defDistance != nil {
		in.dist = d.defDistance()
	}
	if d.checkDistance != nil {
		if err := d.checkDistance(name, in.dist); err != nil {
			return nil, err
		}
	}
	if w := base.EmbeddingRegWeight; base.EmbeddingRegularizer != nil && (math.IsNaN(w) || math.IsInf(w, 0)) {
		return nil, check.Settingf(name, "EmbeddingRegWeight = %v", w)
	}
	return in, nil
}

// countPairs sets in.nPos and in.nNeg, PML's len(a1) and len(a2) after
// convert_to_pairs: of the mined tuples (validated by prepare; a triplet
// gives one positive and one negative pair), or of all pairs of the
// labels, counted without listing them.
func (in *input) countPairs() {
	if in.counted {
		return
	}
	in.counted = true
	switch t := in.tuples.(type) {
	case *tuples.Pairs:
		in.nPos, in.nNeg = len(t.A1), len(t.A2)
	case *tuples.Triplets:
		in.nPos, in.nNeg = len(t.A), len(t.A)
	case nil:
		if in.labels == nil || in.refLabels == nil {
			return // no pairs: the loss reports the missing labels
		}
		same := 0
		if in.same != nil {
			for _, s := range in.same {
				same += len(s)
			}
		} else {
			same = tuples.CountSameLabel(in.labels, in.refLabels)
		}
		in.nPos, in.nNeg = same, in.n*in.m-same
		if in.refIsQuery {
			in.nPos -= in.n // each anchor is its own same-label entry
		}
	}
}

// tooFewPairs is GenericPairLoss's early exit: every index list of the
// pairs has at most one entry (so one positive and one negative pair give
// PML's zero loss).
func (in *input) tooFewPairs() bool {
	in.countPairs()
	return in.nPos <= 1 && in.nNeg <= 1
}

// sameLabels returns (and caches) tuples.SameLabel(labels, refLabels).
func (in *input) sameLabels() [][]int {
	if in.same == nil {
		in.same = tuples.SameLabel(in.labels, in.refLabels)
	}
	return in.same
}

// wrap prefixes an error with the loss's name, unless it already starts
// with it (the errors this package makes for a loss name it themselves):
// every error of a loss names it exactly once.
func wrap(name string, err error) error {
	if err == nil || strings.HasPrefix(err.Error(), name+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}

// requireCosine is a decl.checkDistance that accepts only
// CosineSimilarity, as PML's assert_distance_type(self, CosineSimilarity).
func requireCosine(name string, d distances.Distance) error {
	if c, ok := d.(*distances.CosineSimilarity); !ok || c == nil {
		return check.Settingf(name, "distance %T, want *distances.CosineSimilarity (as PML asserts)", d)
	}
	return nil
}
