package models

import (
	"fmt"
	"math"
	"slices"

	"github.com/gometric/gometric"
)

// LRScheduler is a learning-rate schedule stepped by the caller without a
// metric (per iteration or per epoch, as torch's scheduler.step()): StepLR,
// MultiStepLR, ExponentialLR and CosineAnnealingLR implement it.
// ReduceLROnPlateau takes a metric (Step(metric)) and does not. No
// implementation is safe for concurrent use: each sets its Optimizer's LR.
type LRScheduler interface {
	// Step advances the schedule by one and sets the optimizer's LR.
	Step() error
	// LastLR is the rate the last Step (or the constructor) set.
	LastLR() float64
}

// schedule is the state torch's LRScheduler keeps: the optimizer, its
// rate at construction (initial_lr), last_epoch, and the last rate set.
type schedule struct {
	opt       *Optimizer
	baseLR    float64
	lastEpoch int64
	lastLR    float64
}

// newSchedule checks opt and records its rate, as torch's constructor.
func newSchedule(c string, opt *Optimizer) (schedule, error) {
	if opt == nil {
		return schedule{}, fmt.Errorf("%s: nil optimizer: %w", c, gometric.ErrSetting)
	}
	if opt.name == "" {
		return schedule{}, fmt.Errorf("%s: the optimizer was not made by NewOptimizer: %w", c, gometric.ErrSetting)
	}
	if opt.custom {
		return schedule{}, fmt.Errorf("%s: the optimizer wraps a Gorgonia solver (%s), whose rate cannot be set; use NewOptimizer: %w", c, opt.name, gometric.ErrUnsupported)
	}
	if !finite(opt.LR) || opt.LR < 0 {
		return schedule{}, fmt.Errorf("%s: the optimizer's LR is %v, want ≥ 0 and finite: %w", c, opt.LR, gometric.ErrSetting)
	}
	return schedule{opt: opt, baseLR: opt.LR, lastLR: opt.LR}, nil
}

// advance checks the receiver and increments last_epoch; set applies lr.
func (s *schedule) advance(c, ctor string) error {
	if s.opt == nil {
		return fmt.Errorf("%s: not made by %s (the zero value has no optimizer): %w", c, ctor, gometric.ErrSetting)
	}
	if s.lastEpoch == math.MaxInt64 {
		return fmt.Errorf("%s: %d steps taken, the most a scheduler counts: %w", c, s.lastEpoch, gometric.ErrSetting)
	}
	if !finite(s.opt.LR) || s.opt.LR < 0 {
		return fmt.Errorf("%s: the optimizer's LR is %v, want ≥ 0 and finite: %w", c, s.opt.LR, gometric.ErrSetting)
	}
	s.lastEpoch++
	return nil
}

func (s *schedule) set(c string, lr float64) error {
	if !finite(lr) || lr < 0 {
		s.lastEpoch--
		return fmt.Errorf("%s: the schedule gives LR %v at step %d: %w", c, lr, s.lastEpoch+1, gometric.ErrNonFinite)
	}
	s.opt.LR, s.lastLR = lr, lr
	return nil
}

func checkGamma(c string, gamma float64) error {
	if !finite(gamma) || gamma < 0 {
		return fmt.Errorf("%s: gamma = %v, want ≥ 0 and finite: %w", c, gamma, gometric.ErrSetting)
	}
	return nil
}

// StepLR multiplies the rate by Gamma every StepSize steps: torch's
// torch.optim.lr_scheduler.StepLR(optimizer, step_size, gamma=0.1), in
// torch's recursive form (a rate set by hand between steps is kept and
// multiplied). Make one with NewStepLR: the zero value has no optimizer
// and its Step returns an error wrapping gometric.ErrSetting. A StepLR is
// not safe for concurrent use (it sets its Optimizer's LR).
type StepLR struct {
	schedule
	stepSize int64
	gamma    float64
}

// NewStepLR returns torch's StepLR(opt, stepSize, gamma) (torch's default
// gamma is 0.1). The optimizer's LR at construction is the schedule's
// initial rate.
func NewStepLR(opt *Optimizer, stepSize int, gamma float64) (*StepLR, error) {
	const c = "models.NewStepLR"
	s, err := newSchedule(c, opt)
	if err != nil {
		return nil, err
	}
	if stepSize < 1 {
		return nil, fmt.Errorf("%s: stepSize = %d, want ≥ 1: %w", c, stepSize, gometric.ErrSetting)
	}
	if err := checkGamma(c, gamma); err != nil {
		return nil, err
	}
	return &StepLR{schedule: s, stepSize: int64(stepSize), gamma: gamma}, nil
}

// Step advances the schedule (torch's scheduler.step()).
func (s *StepLR) Step() error {
	const c = "models.StepLR.Step"
	if s == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if err := s.advance(c, "NewStepLR"); err != nil {
		return err
	}
	lr := s.opt.LR
	if s.lastEpoch%s.stepSize == 0 {
		lr *= s.gamma
	}
	return s.set(c, lr)
}

// LastLR is the rate last set (torch's get_last_lr()[0]); 0 for a nil or
// zero StepLR.
func (s *StepLR) LastLR() float64 {
	if s == nil {
		return 0
	}
	return s.lastLR
}

// MultiStepLR multiplies the rate by Gamma at each milestone (a milestone
// listed k times multiplies by Gamma^k): torch's
// torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones, gamma=0.1).
// Make one with NewMultiStepLR: the zero value has no optimizer and its
// Step returns an error wrapping gometric.ErrSetting. A MultiStepLR is not
// safe for concurrent use (it sets its Optimizer's LR).
type MultiStepLR struct {
	schedule
	milestones []int64 // sorted
	gamma      float64
}

// NewMultiStepLR returns torch's MultiStepLR(opt, milestones, gamma)
// (torch's default gamma is 0.1). Milestones must be ≥ 1; their order does
// not matter.
func NewMultiStepLR(opt *Optimizer, milestones []int, gamma float64) (*MultiStepLR, error) {
	const c = "models.NewMultiStepLR"
	s, err := newSchedule(c, opt)
	if err != nil {
		return nil, err
	}
	ms := make([]int64, len(milestones))
	for i, m := range milestones {
		if m < 1 {
			return nil, fmt.Errorf("%s: milestone %d is %d, want ≥ 1: %w", c, i, m, gometric.ErrSetting)
		}
		ms[i] = int64(m)
	}
	slices.Sort(ms)
	if err := checkGamma(c, gamma); err != nil {
		return nil, err
	}
	return &MultiStepLR{schedule: s, milestones: ms, gamma: gamma}, nil
}

// Step advances the schedule (torch's scheduler.step()).
func (s *MultiStepLR) Step() error {
	const c = "models.MultiStepLR.Step"
	if s == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if err := s.advance(c, "NewMultiStepLR"); err != nil {
		return err
	}
	lr := s.opt.LR
	i, found := slices.BinarySearch(s.milestones, s.lastEpoch)
	if found {
		k := 0
		for ; i+k < len(s.milestones) && s.milestones[i+k] == s.lastEpoch; k++ {
		}
		lr *= math.Pow(s.gamma, float64(k))
	}
	return s.set(c, lr)
}

// LastLR is the rate last set (torch's get_last_lr()[0]); 0 for a nil or
// zero MultiStepLR.
func (s *MultiStepLR) LastLR() float64 {
	if s == nil {
		return 0
	}
	return s.lastLR
}

// ExponentialLR multiplies the rate by Gamma at every step: torch's
// torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma). Make one with
// NewExponentialLR: the zero value has no optimizer and its Step returns
// an error wrapping gometric.ErrSetting. An ExponentialLR is not safe for
// concurrent use (it sets its Optimizer's LR).
type ExponentialLR struct {
	schedule
	gamma float64
}

// NewExponentialLR returns torch's ExponentialLR(opt, gamma).
func NewExponentialLR(opt *Optimizer, gamma float64) (*ExponentialLR, error) {
	const c = "models.NewExponentialLR"
	s, err := newSchedule(c, opt)
	if err != nil {
		return nil, err
	}
	if err := checkGamma(c, gamma); err != nil {
		return nil, err
	}
	return &ExponentialLR{schedule: s, gamma: gamma}, nil
}

// Step advances the schedule (torch's scheduler.step()). A rate that
// overflows (gamma > 1 for very many steps) is an error wrapping
// gometric.ErrNonFinite, and the rate is left as it was.
func (s *ExponentialLR) Step() error {
	const c = "models.ExponentialLR.Step"
	if s == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if err := s.advance(c, "NewExponentialLR"); err != nil {
		return err
	}
	return s.set(c, s.opt.LR*s.gamma)
}

// LastLR is the rate last set (torch's get_last_lr()[0]); 0 for a nil or
// zero ExponentialLR.
func (s *ExponentialLR) LastLR() float64 {
	if s == nil {
		return 0
	}
	return s.lastLR
}

// CosineAnnealingLR anneals the rate from its initial value to EtaMin
// along half a cosine over TMax steps, and back up over the next TMax
// (periodic, as torch): torch's
// torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max,
// eta_min=0), in torch's recursive form, so its rates equal torch's
// printed ones. Make one with NewCosineAnnealingLR: the zero value has no
// optimizer and its Step returns an error wrapping gometric.ErrSetting. A
// CosineAnnealingLR is not safe for concurrent use (it sets its
// Optimizer's LR).
type CosineAnnealingLR struct {
	schedule
	tMax   int64
	etaMin float64
}

// NewCosineAnnealingLR returns torch's CosineAnnealingLR(opt, tMax,
// etaMin) (torch's default etaMin is 0).
func NewCosineAnnealingLR(opt *Optimizer, tMax int, etaMin float64) (*CosineAnnealingLR, error) {
	const c = "models.NewCosineAnnealingLR"
	s, err := newSchedule(c, opt)
	if err != nil {
		return nil, err
	}
	if tMax < 1 || int64(tMax) > math.MaxInt64/4 {
		return nil, fmt.Errorf("%s: tMax = %d, want in [1, %d]: %w", c, tMax, int64(math.MaxInt64/4), gometric.ErrSetting)
	}
	if !finite(etaMin) || etaMin < 0 {
		return nil, fmt.Errorf("%s: etaMin = %v, want ≥ 0 and finite: %w", c, etaMin, gometric.ErrSetting)
	}
	return &CosineAnnealingLR{schedule: s, tMax: int64(tMax), etaMin: etaMin}, nil
}

// Step advances the schedule (torch's scheduler.step()).
func (s *CosineAnnealingLR) Step() error {
	const c = "models.CosineAnnealingLR.Step"
	if s == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if err := s.advance(c, "NewCosineAnnealingLR"); err != nil {
		return err
	}
	e, t, lr := s.lastEpoch, s.tMax, s.opt.LR
	if (e-1-t)%(2*t) == 0 {
		lr += (s.baseLR - s.etaMin) * (1 - math.Cos(math.Pi/float64(t))) / 2
	} else {
		// Reduce the phase modulo the period 2T, as the cosine is periodic
		// (exact for the integers; keeps float64 precision for large e).
		p := e % (2 * t)
		lr = (1+math.Cos(math.Pi*float64(p)/float64(t)))/(1+math.Cos(math.Pi*float64(p-1)/float64(t)))*(lr-s.etaMin) + s.etaMin
	}
	return s.set(c, lr)
}

// LastLR is the rate last set (torch's get_last_lr()[0]); 0 for a nil or
// zero CosineAnnealingLR.
func (s *CosineAnnealingLR) LastLR() float64 {
	if s == nil {
		return 0
	}
	return s.lastLR
}

// ReduceLROnPlateau multiplies the rate by Factor when a metric has not
// improved for Patience steps: torch's
// torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode='min',
// factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel',
// cooldown=0, min_lr=0, eps=1e-8), stepped with the metric (per epoch,
// after validation). NewReduceLROnPlateau sets torch's defaults; the
// fields may be changed between steps and are checked at every Step. The
// zero value has no optimizer and its Step returns an error wrapping
// gometric.ErrSetting. A ReduceLROnPlateau is not safe for concurrent use
// (it sets its Optimizer's LR).
type ReduceLROnPlateau struct {
	// Mode is "min" (the metric should fall, as a loss) or "max" (rise, as
	// an accuracy).
	Mode string
	// Factor multiplies the rate at a reduction (in [0, 1)).
	Factor float64
	// Patience is the number of steps without improvement tolerated.
	Patience int
	// Threshold is the least change counted as an improvement.
	Threshold float64
	// ThresholdMode is "rel" (relative to the best: best·(1 ∓ Threshold))
	// or "abs" (best ∓ Threshold).
	ThresholdMode string
	// Cooldown is the number of steps after a reduction during which bad
	// steps are not counted.
	Cooldown int
	// MinLR is the least rate.
	MinLR float64
	// Eps is the least reduction applied (a smaller one is skipped).
	Eps float64

	opt             *Optimizer
	best            float64
	started         bool
	numBad          int64
	cooldownCounter int64
	lastEpoch       int64
	lastLR          float64
}

// NewReduceLROnPlateau returns torch's ReduceLROnPlateau(opt) with its
// defaults (mode "min", factor 0.1, patience 10, threshold 1e-4, "rel",
// cooldown 0, min_lr 0, eps 1e-8); set the fields for others.
func NewReduceLROnPlateau(opt *Optimizer) (*ReduceLROnPlateau, error) {
	s, err := newSchedule("models.NewReduceLROnPlateau", opt)
	if err != nil {
		return nil, err
	}
	return &ReduceLROnPlateau{Mode: "min", Factor: 0.1, Patience: 10, Threshold: 1e-4, ThresholdMode: "rel", Eps: 1e-8, opt: opt, lastLR: s.lastLR}, nil
}

func (s *ReduceLROnPlateau) check(c string) error {
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%s: %s = %v, want %s: %w", c, field, v, want, gometric.ErrSetting)
	}
	switch {
	case s.Mode != "min" && s.Mode != "max":
		return bad("Mode", fmt.Sprintf("%q", s.Mode), `"min" or "max"`)
	case s.ThresholdMode != "rel" && s.ThresholdMode != "abs":
		return bad("ThresholdMode", fmt.Sprintf("%q", s.ThresholdMode), `"rel" or "abs"`)
	case !finite(s.Factor) || s.Factor < 0 || s.Factor >= 1:
		return bad("Factor", s.Factor, "in [0, 1)")
	case s.Patience < 0:
		return bad("Patience", s.Patience, "≥ 0")
	case s.Cooldown < 0:
		return bad("Cooldown", s.Cooldown, "≥ 0")
	case !finite(s.Threshold) || s.Threshold < 0:
		return bad("Threshold", s.Threshold, "≥ 0 and finite")
	case !finite(s.MinLR) || s.MinLR < 0:
		return bad("MinLR", s.MinLR, "≥ 0 and finite")
	case !finite(s.Eps) || s.Eps < 0:
		return bad("Eps", s.Eps, "≥ 0 and finite")
	}
	return nil
}

// better is torch's is_better.
func (s *ReduceLROnPlateau) better(a float64) bool {
	switch {
	case s.Mode == "min" && s.ThresholdMode == "rel":
		return a < s.best*(1-s.Threshold)
	case s.Mode == "min":
		return a < s.best-s.Threshold
	case s.ThresholdMode == "rel":
		return a > s.best*(s.Threshold+1)
	default:
		return a > s.best+s.Threshold
	}
}

// Step records metric (torch's scheduler.step(metrics)) and reduces the
// optimizer's rate if it has not improved for Patience steps. A NaN metric
// is an error wrapping gometric.ErrNonFinite and changes nothing (torch
// would count it as a bad step); ±Inf is compared as torch does.
func (s *ReduceLROnPlateau) Step(metric float64) error {
	const c = "models.ReduceLROnPlateau.Step"
	if s == nil {
		return fmt.Errorf("%s: nil receiver: %w", c, gometric.ErrSetting)
	}
	if s.opt == nil {
		return fmt.Errorf("%s: not made by NewReduceLROnPlateau (the zero value has no optimizer): %w", c, gometric.ErrSetting)
	}
	if err := s.check(c); err != nil {
		return err
	}
	if math.IsNaN(metric) {
		return fmt.Errorf("%s: metric is NaN: %w", c, gometric.ErrNonFinite)
	}
	if !finite(s.opt.LR) || s.opt.LR < 0 {
		return fmt.Errorf("%s: the optimizer's LR is %v, want ≥ 0 and finite: %w", c, s.opt.LR, gometric.ErrSetting)
	}
	if s.lastEpoch == math.MaxInt64 {
		return fmt.Errorf("%s: %d steps taken, the most a scheduler counts: %w", c, s.lastEpoch, gometric.ErrSetting)
	}
	if !s.started {
		s.best = math.Inf(1)
		if s.Mode == "max" {
			s.best = math.Inf(-1)
		}
		s.started = true
	}
	s.lastEpoch++
	if s.better(metric) {
		s.best, s.numBad = metric, 0
	} else if s.numBad < math.MaxInt64 {
		s.numBad++
	}
	if s.cooldownCounter > 0 {
		s.cooldownCounter--
		s.numBad = 0
	}
	if s.numBad > int64(s.Patience) {
		old := s.opt.LR
		lr := max(old*s.Factor, s.MinLR)
		if old-lr > s.Eps {
			s.opt.LR = lr
		}
		s.cooldownCounter, s.numBad = int64(s.Cooldown), 0
	}
	s.lastLR = s.opt.LR
	return nil
}

// LastLR is the optimizer's rate after the last Step (torch's _last_lr);
// 0 for a nil or zero ReduceLROnPlateau.
func (s *ReduceLROnPlateau) LastLR() float64 {
	if s == nil {
		return 0
	}
	return s.lastLR
}

// Best is the best metric seen (torch's best; +Inf, or -Inf for "max",
// before the first Step); 0 for a nil or zero ReduceLROnPlateau.
func (s *ReduceLROnPlateau) Best() float64 {
	if s == nil || s.opt == nil {
		return 0
	}
	if !s.started {
		if s.Mode == "max" {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	return s.best
}
