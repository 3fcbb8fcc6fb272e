package models

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gometric/gometric"
	G "gorgonia.org/gorgonia"
)

// Optimizer updates parameters with one of Gorgonia's solvers. The solver
// keeps per-parameter state (moments) by position, so an Optimizer must
// always be given the same parameters in the same order; Step checks the
// count and shapes. The settings are read at the first Step and cannot
// change afterwards (Gorgonia's solvers have no setters); Step returns an
// error if they did.
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
// type).
func (o *Optimizer) Name() string { return o.name }

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

// Step updates params in place from their gradients and leaves the
// gradients at 0 (Gorgonia's solvers consume them).
func (o *Optimizer) Step(params []*Param) error {
	const c = "models.Optimizer.Step"
	if len(params) == 0 {
		return fmt.Errorf("%s: no parameters: %w", c, gometric.ErrShape)
	}
	for i, p := range params {
		if p == nil {
			return fmt.Errorf("%s: parameter %d is nil: %w", c, i, gometric.ErrShape)
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
