package runner

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
)

// LRScheduleForms are the forms of -lr-schedule, as its help lists them.
const LRScheduleForms = "none, step:N:GAMMA (StepLR every N epochs), multistep:E1,E2,...:GAMMA (MultiStepLR), " +
	"exp:GAMMA (ExponentialLR), cosine (CosineAnnealingLR over -epochs), " +
	"plateau[:PATIENCE] (ReduceLROnPlateau on the test MAP@R, mode max, factor 0.1, default patience 10)"

// Limits of -lr-schedule's numbers (a flag has no reason to exceed them).
const (
	maxMilestones    = 1024
	maxScheduleCount = 1 << 30
)

// LRSchedule is a parsed -lr-schedule: the torch scheduler that PML users
// attach to each optimizer, stepped once per epoch (PML's
// "_scheduler_by_epoch"), or with the test MAP@R after each evaluation for
// "plateau" (PML's "_scheduler_by_plateau", stepped by its HookContainer).
// The zero value is "none". It is a plain value, safe for concurrent
// reads.
type LRSchedule struct {
	// Kind is "none", "step", "multistep", "exp", "cosine" or "plateau".
	Kind string
	// StepSize is StepLR's step_size (epochs).
	StepSize int
	// Milestones are MultiStepLR's milestones (epochs).
	Milestones []int
	// Gamma is the factor of step, multistep and exp.
	Gamma float64
	// Patience is ReduceLROnPlateau's patience (evaluations).
	Patience int
}

// ParseLRSchedule parses a -lr-schedule value (see LRScheduleForms); the
// empty string is "none". An error names the flag and the value and wraps
// gometric.ErrSetting.
func ParseLRSchedule(s string) (LRSchedule, error) {
	bad := func(format string, a ...any) (LRSchedule, error) {
		return LRSchedule{}, fmt.Errorf("-lr-schedule %q: "+format+" (forms: %s): %w", append(append([]any{s}, a...), LRScheduleForms, gometric.ErrSetting)...)
	}
	count := func(what, v string, least int) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < least || n > maxScheduleCount {
			return 0, fmt.Errorf("%s %q: want an integer in [%d, %d]", what, v, least, maxScheduleCount)
		}
		return n, nil
	}
	gamma := func(v string) (float64, error) {
		g, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(g) || math.IsInf(g, 0) || g < 0 {
			return 0, fmt.Errorf("gamma %q: want a finite number ≥ 0", v)
		}
		return g, nil
	}
	parts := strings.Split(s, ":")
	kind := strings.ToLower(parts[0])
	var ls LRSchedule
	var err error
	switch {
	case s == "" || (kind == "none" && len(parts) == 1):
		return LRSchedule{Kind: "none"}, nil
	case kind == "cosine" && len(parts) == 1:
		return LRSchedule{Kind: "cosine"}, nil
	case kind == "step" && len(parts) == 3:
		ls.Kind = kind
		if ls.StepSize, err = count("step size", parts[1], 1); err != nil {
			return bad("%v", err)
		}
		if ls.Gamma, err = gamma(parts[2]); err != nil {
			return bad("%v", err)
		}
		return ls, nil
	case kind == "multistep" && len(parts) == 3:
		ls.Kind = kind
		ms := strings.Split(parts[1], ",")
		if len(ms) > maxMilestones {
			return bad("%d milestones, want at most %d", len(ms), maxMilestones)
		}
		for _, m := range ms {
			e, err := count("milestone", m, 1)
			if err != nil {
				return bad("%v", err)
			}
			ls.Milestones = append(ls.Milestones, e)
		}
		if ls.Gamma, err = gamma(parts[2]); err != nil {
			return bad("%v", err)
		}
		return ls, nil
	case kind == "exp" && len(parts) == 2:
		ls.Kind = kind
		if ls.Gamma, err = gamma(parts[1]); err != nil {
			return bad("%v", err)
		}
		return ls, nil
	case kind == "plateau" && len(parts) <= 2:
		ls = LRSchedule{Kind: kind, Patience: 10}
		if len(parts) == 2 {
			if ls.Patience, err = count("patience", parts[1], 0); err != nil {
				return bad("%v", err)
			}
		}
		return ls, nil
	}
	return bad("not a schedule")
}

// String is the schedule in -lr-schedule's form.
func (ls LRSchedule) String() string {
	switch ls.Kind {
	case "step":
		return fmt.Sprintf("step:%d:%g", ls.StepSize, ls.Gamma)
	case "multistep":
		ms := make([]string, len(ls.Milestones))
		for i, m := range ls.Milestones {
			ms[i] = strconv.Itoa(m)
		}
		return fmt.Sprintf("multistep:%s:%g", strings.Join(ms, ","), ls.Gamma)
	case "exp":
		return fmt.Sprintf("exp:%g", ls.Gamma)
	case "plateau":
		return fmt.Sprintf("plateau:%d", ls.Patience)
	case "", "none":
		return "none"
	}
	return ls.Kind
}

// scheduler is the schedule of one optimizer: byEpoch is stepped by the
// trainer after each epoch, plateau by the run after each evaluation;
// state is whichever of them exists (nil for "none").
type scheduler struct {
	byEpoch models.LRScheduler
	plateau *models.ReduceLROnPlateau
	state   models.StateSaver
}

// build makes the schedule's scheduler for opt in a run of epochs epochs.
func (ls LRSchedule) build(opt *models.Optimizer, epochs int) (scheduler, error) {
	var s scheduler
	var err error
	switch ls.Kind {
	case "", "none":
		return s, nil
	case "step":
		var x *models.StepLR
		x, err = models.NewStepLR(opt, ls.StepSize, ls.Gamma)
		s.byEpoch, s.state = x, x
	case "multistep":
		var x *models.MultiStepLR
		x, err = models.NewMultiStepLR(opt, ls.Milestones, ls.Gamma)
		s.byEpoch, s.state = x, x
	case "exp":
		var x *models.ExponentialLR
		x, err = models.NewExponentialLR(opt, ls.Gamma)
		s.byEpoch, s.state = x, x
	case "cosine":
		var x *models.CosineAnnealingLR
		x, err = models.NewCosineAnnealingLR(opt, max(epochs, 1), 0)
		s.byEpoch, s.state = x, x
	case "plateau":
		var x *models.ReduceLROnPlateau
		if x, err = models.NewReduceLROnPlateau(opt); err == nil {
			x.Mode, x.Patience = "max", ls.Patience
		}
		s.plateau, s.state = x, x
	default:
		return s, fmt.Errorf("-lr-schedule: unknown kind %q: %w", ls.Kind, gometric.ErrSetting)
	}
	if err != nil {
		return scheduler{}, fmt.Errorf("-lr-schedule %s: %w", ls, err)
	}
	return s, nil
}
