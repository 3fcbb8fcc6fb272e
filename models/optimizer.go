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

// Optimizer updates parameters with one of Gorgonia's solvers: an
// encoder's (Encoder.Step, Step) or a loss's learnable parameters
// (StepParams, which makes it a losses.ParamOptimizer, PML's
// loss_optimizer). The solver keeps per-parameter state (moments) by
// position, so an Optimizer must always be given the same parameters in the
// same order; Step and StepParams check it. Use one Optimizer per set of
// parameters, as PML has one optimizer per model and one per loss. The
// settings are read at the first step and cannot change afterwards
// (Gorgonia's solvers have no setters); a step returns an error if they did.
//
// Make one with NewOptimizer or NewSolverOptimizer: the zero value has no
// solver and its steps return an error wrapping gometric.ErrSetting. An
// Optimizer is not safe for concurrent use (an Encoder serialises its own
// Step calls).
type Optimizer struct {
	// LR is the learning rate.
	LR float64
	// Beta1 and Beta2 are Adam's moment decays (torch: 0.9, 0.999).
	Beta1, Beta2 float64
	// Eps is Adam's and RMSProp's smoothing term (torch: 1e-8).
	Eps float64
	// Momentum is SGD's momentum (torch: 0).
	Momentum float64
	// Alpha is RMSProp's decay of the squared-gradient average (torch:
	// 0.99).
	Alpha float64

	name    string
	solver  G.Solver
	custom  bool
	started settings
	shapes  [][]int
	// loss holds the loss parameters StepParams wrapped at its first call
	// (nil until then, and always for an encoder's optimizer).
	loss *lossParams
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

type settings struct{ lr, beta1, beta2, eps, momentum, alpha float64 }

// OptimizerNames lists the names NewOptimizer accepts.
var OptimizerNames = []string{"adam", "sgd", "rmsprop"}

// NewOptimizer returns the optimizer of the given name with torch's
// defaults for everything but the learning rate:
//
//   - "adam": torch.optim.Adam(lr, betas=(0.9, 0.999), eps=1e-8) on
//     gorgonia.AdamSolver, the same update rule;
//   - "sgd": torch.optim.SGD(lr, momentum=0) on gorgonia.Momentum, whose
//     rule v ← μv − lr·g, w ← w + v equals torch's b ← μb + g, w ← w − lr·b
//     (dampening 0, no Nesterov); set Momentum for momentum;
//   - "rmsprop": torch.optim.RMSprop(lr, alpha=0.99, eps=1e-8) on
//     gorgonia.RMSPropSolver, which divides by √(v + eps) where torch
//     divides by √v + eps (the same but for gradients near eps).
//
// None of them applies weight decay.
func NewOptimizer(name string, lr float64) (*Optimizer, error) {
	n := strings.ToLower(name)
	if !slices.Contains(OptimizerNames, n) {
		return nil, fmt.Errorf("models.NewOptimizer: unknown optimizer %q (want one of %v): %w", name, OptimizerNames, gometric.ErrSetting)
	}
	return &Optimizer{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, Momentum: 0, Alpha: 0.99, name: n}, nil
}

// NewSolverOptimizer wraps any Gorgonia solver (its own settings apply;
// the Optimizer's fields are ignored).
func NewSolverOptimizer(s G.Solver) (*Optimizer, error) {
	if s == nil {
		return nil, fmt.Errorf("models.NewSolverOptimizer: nil solver: %w", gometric.ErrSetting)
	}
	return &Optimizer{name: fmt.Sprintf("%T", s), solver: s, custom: true}, nil
}

// Name is the optimizer's name ("adam", "sgd", "rmsprop" or the solver's
// type); "" for a nil or zero Optimizer.
func (o *Optimizer) Name() string {
	if o == nil {
		return ""
	}
	return o.name
}

func (o *Optimizer) settings() settings {
	return settings{o.LR, o.Beta1, o.Beta2, o.Eps, o.Momentum, o.Alpha}
}

func (o *Optimizer) check() error {
	const c = "models.Optimizer"
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(o.LR) || o.LR <= 0 {
		return fmt.Errorf("%s: LR = %v, want > 0: %w", c, o.LR, gometric.ErrSetting)
	}
	switch o.name {
	case "adam":
		for _, b := range []float64{o.Beta1, o.Beta2} {
			if !finite(b) || b < 0 || b >= 1 {
				return fmt.Errorf("%s: betas (%v, %v), want each in [0, 1): %w", c, o.Beta1, o.Beta2, gometric.ErrSetting)
			}
		}
	case "sgd":
		if !finite(o.Momentum) || o.Momentum < 0 {
			return fmt.Errorf("%s: Momentum = %v, want ≥ 0: %w", c, o.Momentum, gometric.ErrSetting)
		}
	case "rmsprop":
		if !finite(o.Alpha) || o.Alpha < 0 || o.Alpha >= 1 {
			return fmt.Errorf("%s: Alpha = %v, want in [0, 1): %w", c, o.Alpha, gometric.ErrSetting)
		}
	}
	if o.name != "sgd" && (!finite(o.Eps) || o.Eps < 0) {
		return fmt.Errorf("%s: Eps = %v, want ≥ 0: %w", c, o.Eps, gometric.ErrSetting)
	}
	return nil
}

// usable reports a nil receiver or an Optimizer not made by a constructor.
func (o *Optimizer) usable(c string) error {
	if o == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if o.name == "" {
		return fmt.Errorf("%s: not made by NewOptimizer or NewSolverOptimizer (the zero value has no solver); use NewOptimizer(name, lr): %w", c, gometric.ErrSetting)
	}
	return nil
}

// Step updates params in place from their gradients and leaves the
// gradients at 0 (Gorgonia's solvers consume them). An Optimizer that
// StepParams has used steps loss parameters only: Step returns an error.
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
// The first call wraps the parameters with NewDenseParam, once; the solver
// keeps its per-parameter state across calls, so every call must pass the
// same parameters (the same Value matrices, in the same order): a changed
// list is an error. The gradients are copied, not consumed. An Optimizer
// that Step has used cannot step loss parameters (make one per set of
// parameters).
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
		if o.shapes != nil {
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
			return fmt.Errorf("%s: parameter %d (%q) is not the matrix the first call had (%q); the solver's state belongs to those (one Optimizer per loss): %w", c, i, p.Name, lp.names[i], gometric.ErrSetting)
		}
	}
	return nil
}

// step applies the solver to params.
func (o *Optimizer) step(c string, params []*Param) error {
	if len(params) == 0 {
		return fmt.Errorf("%s: no parameters: %w", c, gometric.ErrShape)
	}
	for i, p := range params {
		if p == nil || p.value == nil || p.grad == nil {
			return fmt.Errorf("%s: parameter %d is nil or not made by an encoder or NewDenseParam: %w", c, i, gometric.ErrShape)
		}
	}
	if o.solver == nil {
		if err := o.check(); err != nil {
			return err
		}
		o.started = o.settings()
		switch o.name {
		case "adam":
			o.solver = G.NewAdamSolver(G.WithLearnRate(o.LR), G.WithBeta1(o.Beta1), G.WithBeta2(o.Beta2), G.WithEps(o.Eps))
		case "sgd":
			o.solver = G.NewMomentum(G.WithLearnRate(o.LR), G.WithMomentum(o.Momentum))
		case "rmsprop":
			o.solver = G.NewRMSPropSolver(G.WithLearnRate(o.LR), G.WithRho(o.Alpha), G.WithEps(o.Eps))
		default:
			return fmt.Errorf("%s: unknown optimizer %q: %w", c, o.name, gometric.ErrSetting)
		}
		for _, p := range params {
			o.shapes = append(o.shapes, p.value.Shape().Clone())
		}
	} else {
		if !o.custom && o.settings() != o.started {
			return fmt.Errorf("%s: settings changed after the first step (make a new Optimizer): %w", c, gometric.ErrSetting)
		}
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
