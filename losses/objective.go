package losses

import (
	"fmt"
	"math"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

const objectiveName = "losses.Objective"

// Objective is a loss, with an optional miner, at the float32 boundary of a
// training loop: the two lines PML users write inside their own torch
// loop,
//
//	pairs = miner(embeddings, labels)
//	loss = loss_func(embeddings, labels, pairs)
//	loss.backward(); ...; loss_optimizer.step()
//
// are, with any model's float32 embeddings,
//
//	obj := &losses.Objective{Loss: losses.NewTripletMargin(), Miner: miners.NewMultiSimilarity()}
//	loss, grad, err := obj.Compute(emb, labels) // grad = d(loss)/d(emb), float32 N×E
//	// ... backpropagate grad through the model, step its optimizer ...
//	err = obj.StepParams(lossOpt) // PML's loss_optimizer.step(); nothing without parameters
//
// Compute converts the embeddings to float64 once, into buffers it keeps,
// runs the miner if Miner is set, calls Loss.Compute with the miner's
// tuples and Batch.Reuse of its previous result (so a training step
// allocates no gradient matrices), checks the result and returns the
// gradient as float32. Last returns the full Result and the miner's counts
// for logging. Its signature, with the labels bound, is models.LossFunc:
//
//	enc.TrainStep(x, func(e gometric.Matrix) (float32, gometric.Matrix, error) { return obj.Compute(e, labels) })
//
// The zero value has no loss: Compute returns an error wrapping
// gometric.ErrSetting until Loss is set (no constructor is needed). Loss and
// Miner may be changed between calls. An Objective is not safe for
// concurrent use: it reuses its buffers from call to call.
type Objective struct {
	// Loss is the loss (PML's loss_func). It is required.
	Loss Loss
	// Miner, when not nil, picks the pairs or triplets the loss uses
	// (PML's miner); nil means every pair or triplet of the batch.
	Miner miners.Miner

	e64   []float64  // the embeddings in float64
	emb   *mat.Dense // a view of e64
	g32   []float32  // the returned gradient
	last  Result     // the last successful call's result (its matrices are reused)
	mined miners.Counts
	// fresh says that last holds a gradient StepParams has not used.
	fresh bool
	// zeros are zero gradients for the parameters the last call did not
	// touch, by position in Params.
	zeros []*mat.Dense
	grads []*mat.Dense
}

// ParamOptimizer updates a loss's learnable parameters in place from their
// gradients, as a torch optimizer over loss_func.parameters() does (PML's
// loss_optimizer). params are the loss's Params, in their order, and
// grads[i] is the gradient of params[i], a matrix of its dimensions.
// *models.Optimizer implements it; Objective.StepParams calls it. An
// implementation need not be safe for concurrent use: an Objective calls it
// from one goroutine at a time.
type ParamOptimizer interface {
	StepParams(params []*Param, grads []*mat.Dense) error
}

// Compute returns the loss on emb, N×E embeddings from any model (one per
// row), with their labels (nil for a loss that takes none), and its
// gradient d(loss)/d(emb) as an N×E float32 matrix. The gradient's memory
// belongs to the Objective: it is valid until the next call, which
// overwrites it. When Miner is set, the loss gets the miner's tuples.
//
// It returns an error, and no gradient, when the miner or the loss fails,
// when the loss returns no gradient (a reducers.DoNothing reducer: wrapping
// gometric.ErrSetting), a gradient of the wrong shape (gometric.ErrShape),
// or a loss or gradient that is not finite in float32
// (gometric.ErrNonFinite).
func (o *Objective) Compute(emb gometric.Matrix, labels []int) (loss float32, grad gometric.Matrix, err error) {
	if o == nil {
		return 0, gometric.Matrix{}, fmt.Errorf("%s.Compute: nil receiver: %w", objectiveName, gometric.ErrSetting)
	}
	prev := o.last
	o.last, o.mined, o.fresh = Result{}, miners.Counts{}, false
	l, g, err := o.compute(emb, labels, &prev)
	if err != nil {
		// The reused matrices' contents are unspecified after an error.
		o.last, o.mined = Result{}, miners.Counts{}
		return 0, gometric.Matrix{}, err
	}
	o.fresh = true
	return l, g, nil
}

// compute is Compute; reuse is the previous result.
func (o *Objective) compute(emb gometric.Matrix, labels []int, reuse *Result) (float32, gometric.Matrix, error) {
	const c = objectiveName + ".Compute"
	if o.Loss == nil {
		return 0, gometric.Matrix{}, fmt.Errorf("%s: Loss is nil; set it (Objective{Loss: losses.NewTripletMargin()}): %w", c, gometric.ErrSetting)
	}
	if err := emb.CheckShape(c, "embeddings"); err != nil {
		return 0, gometric.Matrix{}, err
	}
	n, e := emb.Rows, emb.Cols
	ne := n * e
	o.e64 = slices.Grow(o.e64[:0], ne)[:ne]
	bad := false
	for i, v := range emb.Data[:ne] {
		o.e64[i] = float64(v)
		bad = bad || v-v != 0 // NaN or ±Inf
	}
	if bad {
		if err := emb.Validate(c, "embeddings"); err != nil {
			return 0, gometric.Matrix{}, err
		}
	}
	if o.emb == nil {
		o.emb = mat.NewDense(n, e, o.e64)
	} else if r, k := o.emb.Dims(); r != n || k != e || &o.emb.RawMatrix().Data[0] != &o.e64[0] {
		o.emb = mat.NewDense(n, e, o.e64)
	}
	var tup tuples.Tuples
	if o.Miner != nil {
		var err error
		if tup, err = o.Miner.Mine(miners.Input{Embeddings: o.emb, Labels: labels}); err != nil {
			return 0, gometric.Matrix{}, err
		}
		o.mined = miners.CountOf(tup)
	}
	res, err := o.Loss.Compute(Batch{Embeddings: o.emb, Labels: labels, Tuples: tup, Reuse: reuse})
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	o.last = res
	if res.Grad == nil {
		return 0, gometric.Matrix{}, fmt.Errorf("%s: the loss %T returned no gradient (a reducers.DoNothing reducer cannot train): %w", c, o.Loss, gometric.ErrSetting)
	}
	if r, k := res.Grad.Dims(); r != n || k != e {
		return 0, gometric.Matrix{}, fmt.Errorf("%s: the loss %T returned a %d×%d gradient for %d×%d embeddings: %w", c, o.Loss, r, k, n, e, gometric.ErrShape)
	}
	l := float32(res.Loss)
	if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
		return 0, gometric.Matrix{}, fmt.Errorf("%s: the loss %T is %v (in float32: %v): %w", c, o.Loss, res.Loss, l, gometric.ErrNonFinite)
	}
	o.g32 = slices.Grow(o.g32[:0], ne)[:ne]
	for i := 0; i < n; i++ {
		row, out := res.Grad.RawRowView(i)[:e], o.g32[i*e:(i+1)*e]
		for j, v := range row {
			f := float32(v)
			out[j] = f
			bad = bad || f-f != 0 // NaN or ±Inf
		}
	}
	if bad {
		for i, f := range o.g32 {
			if f-f != 0 {
				return 0, gometric.Matrix{}, fmt.Errorf("%s: the loss %T's gradient is %v at row %d, column %d (in float32: %v): %w", c, o.Loss, res.Grad.At(i/e, i%e), i/e, i%e, f, gometric.ErrNonFinite)
			}
		}
	}
	return l, gometric.Matrix{Rows: n, Cols: e, Data: o.g32}, nil
}

// Last returns the last successful Compute's full result (the float64
// loss, its parts, the gradients of the embeddings and of the loss's
// parameters) and the miner's counts (zero without a miner), as PML's
// loss and miner record them. Both are zero before the first call and
// after a failed one. The Result's matrices belong to the Objective: they
// are valid until the next Compute, which reuses them.
func (o *Objective) Last() (Result, miners.Counts) {
	if o == nil {
		return Result{}, miners.Counts{}
	}
	return o.last, o.mined
}

// StepParams applies opt to the loss's learnable parameters with the
// gradients of the last Compute: PML's loss_optimizer.step(), in one line
// after the model's own step:
//
//	err = obj.StepParams(lossOpt) // lossOpt, _ := models.NewOptimizer("adam", 1e-2)
//
// A parameter the last Compute did not touch gets a zero gradient. For a
// loss without parameters (not a Learnable, or with none) it does nothing
// and opt may be nil. Otherwise it returns an error, wrapping
// gometric.ErrSetting, when opt is nil or when there is no gradient to
// apply: no successful Compute since the last StepParams (a gradient is
// applied once).
func (o *Objective) StepParams(opt ParamOptimizer) error {
	const c = objectiveName + ".StepParams"
	if o == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	l, ok := o.Loss.(Learnable)
	if !ok {
		return nil
	}
	ps := l.Params()
	if len(ps) == 0 {
		return nil
	}
	if opt == nil {
		return fmt.Errorf("%s: the loss %T has learnable parameters but the optimizer is nil: %w", c, o.Loss, gometric.ErrSetting)
	}
	if !o.fresh {
		return fmt.Errorf("%s: no gradient to apply: no successful Compute since the last StepParams: %w", c, gometric.ErrSetting)
	}
	if len(o.zeros) != len(ps) {
		o.zeros = make([]*mat.Dense, len(ps))
	}
	o.grads = slices.Grow(o.grads[:0], len(ps))[:len(ps)]
	for i, p := range ps {
		if p == nil || p.Value == nil || p.Value.IsEmpty() {
			return fmt.Errorf("%s: the loss %T has an empty learnable parameter (%d): %w", c, o.Loss, i, gometric.ErrShape)
		}
		r, k := p.Value.Dims()
		g := o.last.ParamGrads[p.Name]
		if g == nil {
			z := o.zeros[i]
			if zr, zk := dims(z); zr != r || zk != k {
				z = mat.NewDense(r, k, nil)
				o.zeros[i] = z
			}
			g = z
		} else if gr, gk := g.Dims(); gr != r || gk != k {
			return fmt.Errorf("%s: the gradient of the loss %T's parameter %q is %d×%d, the parameter %d×%d: %w", c, o.Loss, p.Name, gr, gk, r, k, gometric.ErrShape)
		}
		o.grads[i] = g
	}
	o.fresh = false
	if err := opt.StepParams(ps, o.grads); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// dims is m.Dims(), 0×0 for nil.
func dims(m *mat.Dense) (int, int) {
	if m == nil {
		return 0, 0
	}
	return m.Dims()
}
