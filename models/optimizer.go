package models

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
)

// Optimizer updates parameters with torch.optim's update rules (SGD,
// Adam, AdamW, RMSprop, as torch 1.13 computes them, in the parameter's
// own precision): an encoder's (Encoder.Step, Step) or a loss's learnable
// parameters (StepParams, which makes it a losses.ParamOptimizer, PML's
// loss_optimizer). It keeps torch's per-parameter state (moments, momentum
// buffers, the step count) by position, so an Optimizer must always be
// given the same parameters in the same order; Step and StepParams check
// it. Use one Optimizer per set of parameters, as PML has one optimizer per
// model and one per loss.
//
// The exported fields are torch's param_group settings and are read at
// every step: a learning-rate scheduler (StepLR, CosineAnnealingLR, ...)
// or a hook may change LR, or any other setting, between steps without
// losing the moments, as setting param_group["lr"] does in torch. Each
// field applies to the optimizers its comment names and is ignored by the
// others. SaveState and LoadState (WriteState, ReadState) keep the state
// and the settings so that a resumed run continues exactly.
//
// Make one with NewOptimizer (or NewSolverOptimizer for a Gorgonia solver
// of your own): the zero value names no optimizer and its steps return an
// error wrapping gometric.ErrSetting. An Optimizer is not safe for
// concurrent use (an Encoder serialises its own Step calls).
type Optimizer struct {
	// LR is the learning rate (torch's lr; ≥ 0).
	LR float64
	// Beta1 and Beta2 are Adam's and AdamW's moment decays (torch's betas:
	// 0.9, 0.999).
	Beta1, Beta2 float64
	// Eps is Adam's, AdamW's and RMSprop's smoothing term (torch: 1e-8).
	Eps float64
	// WeightDecay is torch's weight_decay: for SGD, Adam and RMSprop an L2
	// term WeightDecay·w added to the gradient; for AdamW the decoupled
	// decay w ← w·(1 − LR·WeightDecay) (torch: 0, and 0.01 for AdamW).
	WeightDecay float64
	// Momentum is SGD's and RMSprop's momentum (torch: 0).
	Momentum float64
	// Dampening is SGD's dampening of the momentum (torch: 0).
	Dampening float64
	// Nesterov selects SGD's Nesterov momentum (torch: false; needs
	// Momentum > 0 and Dampening 0).
	Nesterov bool
	// Alpha is RMSprop's decay of the squared-gradient average (torch:
	// 0.99).
	Alpha float64
	// Centered selects RMSprop's centered form, which divides by an
	// estimate of the gradient's variance (torch: false).
	Centered bool
	// AMSGrad selects Adam's and AdamW's AMSGrad variant, which keeps the
	// maximum of the second moments (torch: false).
	AMSGrad bool

	name   string
	solver G.Solver // NewSolverOptimizer only
	custom bool
	// steps is torch's state["step"], the same for every parameter.
	steps int64
	// state holds each parameter's buffers, by position (nil before the
	// first step unless ReadState set it).
	state []paramState
	// loss holds the loss parameters StepParams wrapped at its first call
	// (nil until then, and always for an encoder's optimizer).
	loss *lossParams
	// shapes of a custom solver's parameters.
	shapes [][]int
}

// The buffers of a parameter, by optimizer: torch's names.
const (
	// SGD: momentum_buffer. Adam/AdamW: exp_avg. RMSprop: square_avg.
	slot0 = iota
	// Adam/AdamW: exp_avg_sq. RMSprop: momentum_buffer.
	slot1
	// Adam/AdamW: max_exp_avg_sq. RMSprop: grad_avg.
	slot2
	nSlots
)

// paramState is one parameter's state: its buffers in the parameter's
// precision (one of f32 and f64 is used), and the parameter it is bound to.
type paramState struct {
	f64   bool
	n     int
	shape []int
	f32s  [nSlots][]float32
	f64s  [nSlots][]float64
	p     *Param
	w32   []float32
	g32   []float32
	w64   []float64
	g64   []float64
}

// lossParams are a loss's parameters wrapped as Params: each shares its
// value's memory and has its own gradient buffer, into which StepParams
// copies the gradient of each step.
type lossParams struct {
	names  []string
	values []*mat.Dense
	data   []*float64 // the first element of each value, to detect reallocation
	grads  []*mat.Dense
	params []*Param
}

// OptimizerNames lists the names NewOptimizer accepts.
var OptimizerNames = []string{"adam", "adamw", "sgd", "rmsprop"}

// NewOptimizer returns the optimizer of the given name with torch's
// defaults for everything but the learning rate:
//
//   - "sgd": torch.optim.SGD(lr, momentum=0, dampening=0,
//     weight_decay=0, nesterov=False);
//   - "adam": torch.optim.Adam(lr, betas=(0.9, 0.999), eps=1e-8,
//     weight_decay=0, amsgrad=False);
//   - "adamw": torch.optim.AdamW(lr, betas=(0.9, 0.999), eps=1e-8,
//     weight_decay=0.01, amsgrad=False);
//   - "rmsprop": torch.optim.RMSprop(lr, alpha=0.99, eps=1e-8,
//     weight_decay=0, momentum=0, centered=False).
//
// Set the fields for other settings. The name is case-insensitive.
func NewOptimizer(name string, lr float64) (*Optimizer, error) {
	n := strings.ToLower(name)
	if !slices.Contains(OptimizerNames, n) {
		return nil, fmt.Errorf("models.NewOptimizer: unknown optimizer %q (want one of %v): %w", name, OptimizerNames, gometric.ErrSetting)
	}
	o := &Optimizer{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Alpha: 0.99, name: n}
	if n == "adamw" {
		o.WeightDecay = 0.01
	}
	return o, nil
}

// NewSolverOptimizer wraps any Gorgonia solver (its own settings apply;
// the Optimizer's fields are ignored). Such an Optimizer has no state that
// SaveState can write and no rate a scheduler can set: those return an
// error wrapping gometric.ErrUnsupported.
func NewSolverOptimizer(s G.Solver) (*Optimizer, error) {
	if s == nil {
		return nil, fmt.Errorf("models.NewSolverOptimizer: nil solver: %w", gometric.ErrSetting)
	}
	return &Optimizer{name: fmt.Sprintf("%T", s), solver: s, custom: true}, nil
}

// Name is the optimizer's name ("adam", "adamw", "sgd", "rmsprop" or the
// solver's type); "" for a nil or zero Optimizer.
func (o *Optimizer) Name() string {
	if o == nil {
		return ""
	}
	return o.name
}

// Steps is the number of steps taken (torch's state["step"]); 0 for a nil
// Optimizer.
func (o *Optimizer) Steps() int64 {
	if o == nil {
		return 0
	}
	return o.steps
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// check validates the settings as torch's constructors do.
func (o *Optimizer) check() error {
	const c = "models.Optimizer"
	if !finite(o.LR) || o.LR < 0 {
		return fmt.Errorf("%s: LR = %v, want ≥ 0 and finite: %w", c, o.LR, gometric.ErrSetting)
	}
	if !finite(o.WeightDecay) || o.WeightDecay < 0 {
		return fmt.Errorf("%s: WeightDecay = %v, want ≥ 0 and finite: %w", c, o.WeightDecay, gometric.ErrSetting)
	}
	switch o.name {
	case "adam", "adamw":
		for _, b := range []float64{o.Beta1, o.Beta2} {
			if !finite(b) || b < 0 || b >= 1 {
				return fmt.Errorf("%s: betas (%v, %v), want each in [0, 1): %w", c, o.Beta1, o.Beta2, gometric.ErrSetting)
			}
		}
	case "sgd":
		if !finite(o.Momentum) || o.Momentum < 0 {
			return fmt.Errorf("%s: Momentum = %v, want ≥ 0 and finite: %w", c, o.Momentum, gometric.ErrSetting)
		}
		if !finite(o.Dampening) {
			return fmt.Errorf("%s: Dampening = %v, want finite: %w", c, o.Dampening, gometric.ErrSetting)
		}
		if o.Nesterov && (o.Momentum <= 0 || o.Dampening != 0) {
			return fmt.Errorf("%s: Nesterov momentum requires Momentum > 0 and Dampening 0 (have %v, %v): %w", c, o.Momentum, o.Dampening, gometric.ErrSetting)
		}
	case "rmsprop":
		if !finite(o.Alpha) || o.Alpha < 0 || o.Alpha >= 1 {
			return fmt.Errorf("%s: Alpha = %v, want in [0, 1): %w", c, o.Alpha, gometric.ErrSetting)
		}
		if !finite(o.Momentum) || o.Momentum < 0 {
			return fmt.Errorf("%s: Momentum = %v, want ≥ 0 and finite: %w", c, o.Momentum, gometric.ErrSetting)
		}
	default:
		return fmt.Errorf("%s: unknown optimizer %q: %w", c, o.name, gometric.ErrSetting)
	}
	if o.name != "sgd" && (!finite(o.Eps) || o.Eps < 0) {
		return fmt.Errorf("%s: Eps = %v, want ≥ 0 and finite: %w", c, o.Eps, gometric.ErrSetting)
	}
	return nil
}

// usable reports a nil receiver or an Optimizer not made by a constructor.
func (o *Optimizer) usable(c string) error {
	if o == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if o.name == "" {
		return fmt.Errorf("%s: not made by NewOptimizer or NewSolverOptimizer (the zero value names no optimizer); use NewOptimizer(name, lr): %w", c, gometric.ErrSetting)
	}
	return nil
}

// Step updates params in place from their gradients (torch's
// optimizer.step()) and leaves the gradients at 0 (optimizer.zero_grad()).
// An Optimizer that StepParams has used steps loss parameters only: Step
// returns an error. A step does not allocate after the first.
func (o *Optimizer) Step(params []*Param) error {
	const c = "models.Optimizer.Step"
	if err := o.usable(c); err != nil {
		return err
	}
	if o.loss != nil {
		return fmt.Errorf("%s: this Optimizer steps a loss's parameters (StepParams); use another Optimizer for these: %w", c, gometric.ErrSetting)
	}
	return o.step(c, params)
}

// StepParams updates a loss's learnable parameters in place, params[i]
// from the gradient grads[i] (the same dimensions; nil means 0): PML's
// loss_optimizer.step() after backward. It implements
// losses.ParamOptimizer, so that losses.Objective.StepParams steps a loss
// in one line:
//
//	err = obj.StepParams(lossOpt)
//
// The first call wraps the parameters with NewDenseParam, once; the
// optimizer keeps its per-parameter state across calls, so every call must
// pass the same parameters (the same Value matrices, in the same order): a
// changed list is an error. The gradients are copied, not consumed. An
// Optimizer that Step has used cannot step loss parameters (make one per
// set of parameters).
func (o *Optimizer) StepParams(params []*losses.Param, grads []*mat.Dense) error {
	const c = "models.Optimizer.StepParams"
	if err := o.usable(c); err != nil {
		return err
	}
	if len(params) == 0 {
		return fmt.Errorf("%s: no parameters: %w", c, gometric.ErrShape)
	}
	if len(grads) != len(params) {
		return fmt.Errorf("%s: %d gradients for %d parameters: %w", c, len(grads), len(params), gometric.ErrShape)
	}
	for i, p := range params {
		if p == nil || p.Value == nil || p.Value.IsEmpty() {
			return fmt.Errorf("%s: parameter %d is nil or empty: %w", c, i, gometric.ErrShape)
		}
	}
	if o.loss == nil {
		if o.bound() {
			return fmt.Errorf("%s: this Optimizer steps other parameters (Step); use another Optimizer for a loss's: %w", c, gometric.ErrSetting)
		}
		lp, err := wrapLossParams(c, params)
		if err != nil {
			return err
		}
		o.loss = lp
	} else if err := o.loss.same(c, params); err != nil {
		return err
	}
	lp := o.loss
	for i, g := range lp.grads {
		src := grads[i]
		if src == nil {
			g.Zero()
			continue
		}
		r, k := g.Dims()
		if sr, sk := src.Dims(); sr != r || sk != k {
			return fmt.Errorf("%s: the gradient of %q is %d×%d, the parameter %d×%d: %w", c, lp.names[i], sr, sk, r, k, gometric.ErrShape)
		}
		g.Copy(src)
		raw := g.RawMatrix().Data[:r*k]
		for j, v := range raw {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				g.Zero()
				return fmt.Errorf("%s: the gradient of %q is %v at row %d, column %d: %w", c, lp.names[i], v, j/k, j%k, gometric.ErrNonFinite)
			}
		}
	}
	return o.step(c, lp.params)
}

// bound reports whether Step has bound parameters.
func (o *Optimizer) bound() bool {
	if o.shapes != nil {
		return true
	}
	for i := range o.state {
		if o.state[i].p != nil {
			return true
		}
	}
	return false
}

// wrapLossParams wraps params for StepParams.
func wrapLossParams(c string, params []*losses.Param) (*lossParams, error) {
	lp := &lossParams{}
	for _, p := range params {
		r, k := p.Value.Dims()
		g := mat.NewDense(r, k, nil)
		mp, err := NewDenseParam(p.Name, p.Value, g)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
		lp.names = append(lp.names, p.Name)
		lp.values = append(lp.values, p.Value)
		lp.data = append(lp.data, &p.Value.RawMatrix().Data[0])
		lp.grads = append(lp.grads, g)
		lp.params = append(lp.params, mp)
	}
	return lp, nil
}

// same checks that params are the parameters of the first call.
func (lp *lossParams) same(c string, params []*losses.Param) error {
	if len(params) != len(lp.values) {
		return fmt.Errorf("%s: %d parameters, the first call had %d (one Optimizer per loss): %w", c, len(params), len(lp.values), gometric.ErrSetting)
	}
	for i, p := range params {
		if p.Value != lp.values[i] || &p.Value.RawMatrix().Data[0] != lp.data[i] {
			return fmt.Errorf("%s: parameter %d (%q) is not the matrix the first call had (%q); the optimizer's state belongs to those (one Optimizer per loss): %w", c, i, p.Name, lp.names[i], gometric.ErrSetting)
		}
	}
	return nil
}

// bind checks params against the state (making it at the first step) and
// binds each state to its parameter's memory.
func (o *Optimizer) bind(c string, params []*Param) error {
	if o.state == nil {
		st := make([]paramState, len(params))
		for i, p := range params {
			_, is64 := p.value.Data().([]float64)
			st[i] = paramState{f64: is64, n: p.Len(), shape: slices.Clone(p.value.Shape())}
		}
		o.state = st
	}
	if len(params) != len(o.state) {
		return fmt.Errorf("%s: %d parameters, the optimizer's state has %d (from its first step or a loaded state): %w", c, len(params), len(o.state), gometric.ErrShape)
	}
	for i, p := range params {
		s := &o.state[i]
		if s.p == p {
			continue
		}
		w64, is64 := p.value.Data().([]float64)
		if is64 != s.f64 || p.Len() != s.n || (s.shape != nil && !slices.Equal(p.value.Shape(), s.shape)) {
			return fmt.Errorf("%s: parameter %d (%s) has shape %v (float64 %v), the optimizer's state has %v (%d values, float64 %v): %w", c, i, p.name, p.value.Shape(), is64, s.shape, s.n, s.f64, gometric.ErrShape)
		}
		if is64 {
			s.w64 = w64
			s.g64, _ = p.grad.Data().([]float64)
		} else {
			s.w32, _ = p.value.Data().([]float32)
			s.g32, _ = p.grad.Data().([]float32)
		}
		if len(s.w32)+len(s.w64) != s.n || len(s.g32)+len(s.g64) != s.n {
			return fmt.Errorf("%s: parameter %d (%s): value or gradient has a type other than float32 or float64: %w", c, i, p.name, gometric.ErrShape)
		}
		if s.shape == nil {
			s.shape = slices.Clone(p.value.Shape())
		}
		s.p = p
	}
	return nil
}

// step applies the update rule to params.
func (o *Optimizer) step(c string, params []*Param) error {
	if len(params) == 0 {
		return fmt.Errorf("%s: no parameters: %w", c, gometric.ErrShape)
	}
	for i, p := range params {
		if p == nil || p.value == nil || p.grad == nil {
			return fmt.Errorf("%s: parameter %d is nil or not made by an encoder or NewDenseParam: %w", c, i, gometric.ErrShape)
		}
	}
	if o.custom {
		return o.solverStep(c, params)
	}
	if err := o.check(); err != nil {
		return err
	}
	if err := o.bind(c, params); err != nil {
		return err
	}
	if o.steps == math.MaxInt64 {
		return fmt.Errorf("%s: %d steps taken, the most an Optimizer counts: %w", c, o.steps, gometric.ErrSetting)
	}
	o.steps++
	for i := range o.state {
		s := &o.state[i]
		if s.f64 {
			update(o, s.w64, s.g64, &s.f64s)
		} else {
			update(o, s.w32, s.g32, &s.f32s)
		}
	}
	return nil
}

// solverStep applies a NewSolverOptimizer's Gorgonia solver.
func (o *Optimizer) solverStep(c string, params []*Param) error {
	if o.shapes == nil {
		for _, p := range params {
			o.shapes = append(o.shapes, p.value.Shape().Clone())
		}
	}
	if len(params) != len(o.shapes) {
		return fmt.Errorf("%s: %d parameters, the first step had %d: %w", c, len(params), len(o.shapes), gometric.ErrShape)
	}
	for i, p := range params {
		if !slices.Equal(p.value.Shape(), o.shapes[i]) {
			return fmt.Errorf("%s: parameter %d (%s) has shape %v, the first step had %v: %w", c, i, p.name, p.value.Shape(), o.shapes[i], gometric.ErrShape)
		}
	}
	vg := make([]G.ValueGrad, len(params))
	for i, p := range params {
		vg[i] = p
	}
	if err := o.solver.Step(vg); err != nil {
		return fmt.Errorf("%s: %w", c, err)
	}
	return nil
}

// buf returns the buffer of slot, allocating it (zero) at its first use.
func buf[T float](b *[nSlots][]T, slot, n int) []T {
	if b[slot] == nil {
		b[slot] = make([]T, n)
	}
	return b[slot]
}

// update applies one step of o's rule to w from g, in T's precision as
// torch computes a tensor of that dtype (scalars rounded to T), and sets g
// to 0.
func update[T float](o *Optimizer, w, g []T, b *[nSlots][]T) {
	n := len(w)
	g = g[:n]
	lr, wd := T(o.LR), T(o.WeightDecay)
	switch o.name {
	case "sgd":
		mom, damp := T(o.Momentum), T(1-o.Dampening)
		if o.Momentum == 0 {
			for i := range w {
				d := g[i]
				if wd != 0 {
					d += wd * w[i]
				}
				w[i] += -lr * d
				g[i] = 0
			}
			return
		}
		first := b[slot0] == nil
		m := buf(b, slot0, n)[:n]
		for i := range w {
			d := g[i]
			if wd != 0 {
				d += wd * w[i]
			}
			if first {
				m[i] = d
			} else {
				m[i] = m[i]*mom + damp*d
			}
			if o.Nesterov {
				d += mom * m[i]
			} else {
				d = m[i]
			}
			w[i] += -lr * d
			g[i] = 0
		}
	case "adam", "adamw":
		b1, b2 := T(o.Beta1), T(o.Beta2)
		c1, c2 := T(1-o.Beta1), T(1-o.Beta2)
		t := float64(o.steps)
		stepSize := T(o.LR / (1 - math.Pow(o.Beta1, t)))
		bc2 := T(math.Sqrt(1 - math.Pow(o.Beta2, t)))
		eps := T(o.Eps)
		decay := T(1 - o.LR*o.WeightDecay)
		adamw := o.name == "adamw"
		m, v := buf(b, slot0, n)[:n], buf(b, slot1, n)[:n]
		var vmax []T
		if o.AMSGrad {
			vmax = buf(b, slot2, n)[:n]
		}
		for i := range w {
			d := g[i]
			if adamw {
				w[i] *= decay
			} else if wd != 0 {
				d += wd * w[i]
			}
			m[i] = m[i]*b1 + c1*d
			v[i] = v[i]*b2 + c2*d*d
			s := v[i]
			if vmax != nil {
				s = max(vmax[i], s)
				vmax[i] = s
			}
			den := T(math.Sqrt(float64(s)))/bc2 + eps
			w[i] += -stepSize * (m[i] / den)
			g[i] = 0
		}
	case "rmsprop":
		a, ca := T(o.Alpha), T(1-o.Alpha)
		eps, mom := T(o.Eps), T(o.Momentum)
		sq := buf(b, slot0, n)[:n]
		var mb, ga []T
		if o.Momentum > 0 {
			mb = buf(b, slot1, n)[:n]
		}
		if o.Centered {
			ga = buf(b, slot2, n)[:n]
		}
		for i := range w {
			d := g[i]
			if wd != 0 {
				d += wd * w[i]
			}
			sq[i] = sq[i]*a + ca*d*d
			var avg T
			if ga != nil {
				ga[i] = ga[i]*a + ca*d
				avg = T(math.Sqrt(float64(sq[i]-ga[i]*ga[i]))) + eps
			} else {
				avg = T(math.Sqrt(float64(sq[i]))) + eps
			}
			if mb != nil {
				mb[i] = mb[i]*mom + d/avg
				w[i] += -lr * mb[i]
			} else {
				w[i] += -lr * (d / avg)
			}
			g[i] = 0
		}
	}
}
