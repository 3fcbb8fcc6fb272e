package losses

import (
	"fmt"
	"math"
	"reflect"
	"strconv"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/miners"
	"gonum.org/v1/gonum/mat"
)

// lossesPkg is the import path of this package, used to recognise the
// gometric loss types a wrapper does not support.
var lossesPkg = reflect.TypeOf(Base{}).PkgPath()

// pairLosses are the classes of PML's SelfSupervisedLoss.supported_losses
// (CrossBatchMemory additionally accepts Margin).
var pairLosses = map[string]bool{
	"Angular": true, "Circle": true, "Contrastive": true, "GeneralizedLiftedStructure": true,
	"IntraPairVariance": true, "LiftedStructure": true, "MultiSimilarity": true, "NTXent": true,
	"SignalToNoiseRatioContrastive": true, "SupCon": true, "TripletMargin": true, "NCA": true,
	"TupletMargin": true,
}

// checkWrapped validates the loss a wrapper holds, as PML's
// BaseLossWrapper.check_loss_support: a nil loss is an ErrSetting error and
// a gometric loss outside the supported classes an ErrUnsupported error.
// Loss types defined outside this package are accepted (PML checks the
// class name; a user-defined Go loss has no PML name to check).
func checkWrapped(name string, l Loss, supported func(string) bool) error {
	if check.Nil(l) {
		return check.Settingf(name, "Loss is nil")
	}
	t := reflect.TypeOf(l)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() == lossesPkg && !supported(t.Name()) {
		return check.Errorf(name, gometric.ErrUnsupported, "%s does not support losses.%s (as PML's supported_losses)", name, t.Name())
	}
	return nil
}

// prefixedParams returns the parameters of l (when it is Learnable) under
// prefix+name, sharing their values, as PML's named_parameters() of a
// module holding l.
func prefixedParams(prefix string, l Loss) []*Param {
	lr, ok := l.(Learnable)
	if !ok {
		return nil
	}
	var out []*Param
	for _, p := range lr.Params() {
		out = append(out, &Param{Name: prefix + p.Name, Value: p.Value})
	}
	return out
}

// SelfSupervised mirrors PML's SelfSupervisedLoss: Compute takes the
// embeddings of N inputs (Batch.Embeddings) and the embeddings of an
// augmented view of the same inputs (Batch.Ref, N×D, row i the view of
// input i), gives input i the label i in both, and calls Loss.
//
// With Symmetric (PML's default true) the wrapped loss sees the 2N rows
// [embeddings; ref] with labels [0..N-1, 0..N-1] and no ref; otherwise it
// sees the embeddings with labels 0..N-1 and the ref with the same labels.
// Either way Result.Grad is d/dEmbeddings and Result.RefGrad d/dRef; Parts,
// ParamGrads and, with reducers.DoNothing, Records are the wrapped loss's
// (record indices then refer to what the wrapped loss saw).
//
// Loss must be one of PML's supported classes (Angular, Circle,
// Contrastive, GeneralizedLiftedStructure, IntraPairVariance,
// LiftedStructure, MultiSimilarity, NTXent, SignalToNoiseRatioContrastive,
// SupCon, TripletMargin, NCA, TupletMargin) or a loss type defined outside
// this package. Labels, RefLabels and Tuples must be nil (PML's forward
// takes only embeddings and ref_emb).
//
// A SelfSupervised is made by NewSelfSupervised: its zero value (or a
// literal) is refused with an error wrapping gometric.ErrSetting, because
// Symmetric's default is true and false is a legal setting. It is safe for
// concurrent use when its Loss is and its fields are not changed.
type SelfSupervised struct {
	Loss Loss
	// Symmetric is PML's symmetric (default true).
	Symmetric bool

	made bool // set by NewSelfSupervised
}

// NewSelfSupervised returns PML's SelfSupervisedLoss(loss) with
// symmetric=True.
func NewSelfSupervised(loss Loss) *SelfSupervised {
	return &SelfSupervised{Loss: loss, Symmetric: true, made: true}
}

// Params returns the wrapped loss's parameters named "loss.<name>" (PML's
// named_parameters()), or nil.
func (s *SelfSupervised) Params() []*Param {
	if s == nil {
		return nil
	}
	return prefixedParams("loss.", s.Loss)
}

// Compute implements Loss.
func (s *SelfSupervised) Compute(b Batch) (Result, error) {
	const name, ctor = "losses.SelfSupervised", "NewSelfSupervised(loss)"
	if s == nil {
		return Result{}, nilError(name, ctor)
	}
	if !s.made {
		return Result{}, check.Settingf(name, "not made by NewSelfSupervised: its zero value is not PML's defaults (symmetric true); use %s and set fields", ctor)
	}
	if err := checkWrapped(name, s.Loss, func(c string) bool { return pairLosses[c] }); err != nil {
		return Result{}, err
	}
	if err := check.Matrix(name, "embeddings", b.Embeddings); err != nil {
		return Result{}, err
	}
	if b.Ref == nil {
		return Result{}, check.Errorf(name, gometric.ErrShape, "ref (the augmented views) is required")
	}
	if err := check.Matrix(name, "ref", b.Ref); err != nil {
		return Result{}, err
	}
	if err := check.SameShape(name, "embeddings", "ref", b.Embeddings, b.Ref); err != nil {
		return Result{}, err
	}
	if b.Labels != nil || b.RefLabels != nil || b.Tuples != nil {
		return Result{}, check.Errorf(name, gometric.ErrLabels, "labels, ref labels and tuples must be nil (the wrapper makes the labels)")
	}
	n, d := b.Embeddings.Dims()
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i
	}
	var res Result
	var err error
	if !s.Symmetric {
		res, err = s.Loss.Compute(Batch{Embeddings: b.Embeddings, Labels: labels, Ref: b.Ref, RefLabels: append([]int(nil), labels...)})
		if err != nil {
			return Result{}, wrap(name, err)
		}
		return res, nil
	}
	all := mat.NewDense(2*n, d, nil)
	all.Slice(0, n, 0, d).(*mat.Dense).Copy(b.Embeddings)
	all.Slice(n, 2*n, 0, d).(*mat.Dense).Copy(b.Ref)
	res, err = s.Loss.Compute(Batch{Embeddings: all, Labels: append(labels, labels...)})
	if err != nil {
		return Result{}, wrap(name, err)
	}
	if res.Grad != nil {
		g := res.Grad
		res.Grad = mat.DenseCopyOf(g.Slice(0, n, 0, d))
		res.RefGrad = mat.DenseCopyOf(g.Slice(n, 2*n, 0, d))
	}
	return res, nil
}

// Multiple mirrors PML's MultipleLosses: the weighted sum of several losses
// on the same embeddings and labels, each optionally fed the tuples of its
// own miner.
//
// Names nil is PML's list form: loss i is called "i". Otherwise Names holds
// one distinct key per loss, PML's dict form (in the dict's order). The
// parameters of loss k are exposed (Params) and their gradients returned
// (Result.ParamGrads) as "losses.<k>.<name>", PML's named_parameters().
// Miners is nil or holds one entry per loss; a nil entry means no miner
// (PML's None, or a key missing from the miners dict), and that loss gets
// Batch.Tuples. Weights is nil (all 1) or holds one finite weight per loss.
// Result.Parts holds each loss's unweighted parts as "losses.<k>.<part>".
//
// As PML's forward(embeddings, labels, indices_tuple), Batch.Ref and
// RefLabels must be nil, and Batch.Tuples must be nil when there are miners
// (PML asserts it: in the list form whenever Miners is non-empty, in the
// dict form when some loss has a miner). A wrapped loss using
// reducers.DoNothing is an ErrUnsupported error (PML cannot weight its
// dict either).
//
// The zero value of every field is PML's default (no miners, weights 1,
// the list form), so a literal with Losses set is valid; the zero Multiple,
// like NewMultiple(), has no loss and is refused with an error wrapping
// gometric.ErrSetting. A Multiple is safe for concurrent use when its
// losses and miners are and its fields are not changed meanwhile.
type Multiple struct {
	Losses  []Loss
	Names   []string
	Miners  []miners.Miner
	Weights []float64
}

// NewMultiple returns PML's MultipleLosses(losses) in the list form, with
// no miners and weights 1.
func NewMultiple(losses ...Loss) *Multiple { return &Multiple{Losses: losses} }

// key is loss i's name in parameter and part names.
func (m *Multiple) key(i int) string {
	if m.Names == nil {
		return strconv.Itoa(i)
	}
	return m.Names[i]
}

// Params returns the parameters of the wrapped Learnable losses named
// "losses.<k>.<name>", sharing their values.
func (m *Multiple) Params() []*Param {
	if m == nil {
		return nil
	}
	var out []*Param
	for i, l := range m.Losses {
		if i < len(m.Names) || m.Names == nil {
			out = append(out, prefixedParams("losses."+m.key(i)+".", l)...)
		}
	}
	return out
}

func (m *Multiple) validate(name string) error {
	n := len(m.Losses)
	if n == 0 {
		return check.Settingf(name, "no losses")
	}
	for i, l := range m.Losses {
		if check.Nil(l) {
			return check.Settingf(name, "Losses[%d] is nil", i)
		}
	}
	if m.Names != nil {
		if len(m.Names) != n {
			return check.Settingf(name, "%d names for %d losses", len(m.Names), n)
		}
		seen := map[string]bool{}
		for _, k := range m.Names {
			if k == "" || seen[k] {
				return check.Settingf(name, "name %q is empty or repeated", k)
			}
			seen[k] = true
		}
	}
	if m.Miners != nil && len(m.Miners) != n {
		return check.Settingf(name, "%d miners for %d losses", len(m.Miners), n)
	}
	if m.Weights != nil {
		if len(m.Weights) != n {
			return check.Settingf(name, "%d weights for %d losses", len(m.Weights), n)
		}
		for i, w := range m.Weights {
			if math.IsNaN(w) || math.IsInf(w, 0) {
				return check.Settingf(name, "Weights[%d] = %v must be finite", i, w)
			}
		}
	}
	return nil
}

// hasMiners is PML's truthiness of self.miners.
func (m *Multiple) hasMiners() bool {
	if m.Names == nil {
		return len(m.Miners) > 0
	}
	for _, mn := range m.Miners {
		if mn != nil {
			return true
		}
	}
	return false
}

// Compute implements Loss.
func (m *Multiple) Compute(b Batch) (Result, error) {
	const name = "losses.Multiple"
	if m == nil {
		return Result{}, nilError(name, "NewMultiple(losses...)")
	}
	if err := m.validate(name); err != nil {
		return Result{}, err
	}
	if err := check.Matrix(name, "embeddings", b.Embeddings); err != nil {
		return Result{}, err
	}
	if b.Ref != nil || b.RefLabels != nil {
		return Result{}, check.Errorf(name, gometric.ErrUnsupported, "ref embeddings are not supported (PML's MultipleLosses takes none)")
	}
	if b.Tuples != nil && m.hasMiners() {
		return Result{}, check.Errorf(name, gometric.ErrUnsupported, "tuples given together with miners (PML asserts indices_tuple is None)")
	}
	n, d := b.Embeddings.Dims()
	out := Result{Grad: mat.NewDense(n, d, nil), Parts: map[string]float64{}}
	for i, l := range m.Losses {
		k := m.key(i)
		t := b.Tuples
		if i < len(m.Miners) && m.Miners[i] != nil {
			var err error
			if t, err = m.Miners[i].Mine(miners.Input{Embeddings: b.Embeddings, Labels: b.Labels}); err != nil {
				return Result{}, fmt.Errorf("%s: miner of loss %s: %w", name, k, err)
			}
		}
		res, err := l.Compute(Batch{Embeddings: b.Embeddings, Labels: b.Labels, Tuples: t})
		if err != nil {
			return Result{}, fmt.Errorf("%s: loss %s: %w", name, k, err)
		}
		if res.Grad == nil {
			return Result{}, check.Errorf(name, gometric.ErrUnsupported, "loss %s returned unreduced records (reducers.DoNothing); they cannot be weighted", k)
		}
		w := 1.0
		if m.Weights != nil {
			w = m.Weights[i]
		}
		out.Loss += res.Loss * w
		out.Grad.Apply(func(r, c int, v float64) float64 { return v + w*res.Grad.At(r, c) }, out.Grad)
		for p, v := range res.Parts {
			out.Parts["losses."+k+"."+p] = v
		}
		for p, g := range res.ParamGrads {
			if out.ParamGrads == nil {
				out.ParamGrads = map[string]*mat.Dense{}
			}
			sg := mat.NewDense(g.RawMatrix().Rows, g.RawMatrix().Cols, nil)
			sg.Scale(w, g)
			out.ParamGrads["losses."+k+"."+p] = sg
		}
	}
	if math.IsNaN(out.Loss) || math.IsInf(out.Loss, 0) {
		return Result{}, check.Errorf(name, gometric.ErrNonFinite, "the weighted sum is %v", out.Loss)
	}
	if err := check.Matrix(name, "gradient (overflow)", out.Grad); err != nil {
		return Result{}, err
	}
	return out, nil
}
