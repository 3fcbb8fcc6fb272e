package models

import (
	"errors"
	"math"
	"testing"

	"github.com/gometric/gometric"
)

// torchScheduleCase is one case of testdata/torch_schedulers.json
// (scripts/torch_schedulers.py): the rate after construction and after
// each step of torch's scheduler on SGD(lr=LR).
type torchScheduleCase struct {
	Name    string
	Kind    string
	Args    map[string]any
	LR      float64
	Metrics []float64
	Lrs     []float64
}

func num(args map[string]any, k string, def float64) float64 {
	if v, ok := args[k]; ok {
		return v.(float64)
	}
	return def
}

// The schedulers give torch's rate at every step, to 1e-12.
func TestSchedulersMatchTorch(t *testing.T) {
	for _, tc := range loadTorchJSON[torchScheduleCase](t, "testdata/torch_schedulers.json") {
		t.Run(tc.Name, func(t *testing.T) {
			opt, err := NewOptimizer("sgd", tc.LR)
			if err != nil {
				t.Fatal(err)
			}
			var step func(i int) error
			var last func() float64
			switch tc.Kind {
			case "step":
				s, err := NewStepLR(opt, int(num(tc.Args, "step_size", 0)), num(tc.Args, "gamma", 0.1))
				if err != nil {
					t.Fatal(err)
				}
				step, last = func(int) error { return s.Step() }, s.LastLR
			case "multistep":
				var ms []int
				for _, m := range tc.Args["milestones"].([]any) {
					ms = append(ms, int(m.(float64)))
				}
				s, err := NewMultiStepLR(opt, ms, num(tc.Args, "gamma", 0.1))
				if err != nil {
					t.Fatal(err)
				}
				step, last = func(int) error { return s.Step() }, s.LastLR
			case "exponential":
				s, err := NewExponentialLR(opt, num(tc.Args, "gamma", 0))
				if err != nil {
					t.Fatal(err)
				}
				step, last = func(int) error { return s.Step() }, s.LastLR
			case "cosine":
				s, err := NewCosineAnnealingLR(opt, int(num(tc.Args, "T_max", 0)), num(tc.Args, "eta_min", 0))
				if err != nil {
					t.Fatal(err)
				}
				step, last = func(int) error { return s.Step() }, s.LastLR
			case "plateau":
				s, err := NewReduceLROnPlateau(opt)
				if err != nil {
					t.Fatal(err)
				}
				if m, ok := tc.Args["mode"]; ok {
					s.Mode = m.(string)
				}
				if m, ok := tc.Args["threshold_mode"]; ok {
					s.ThresholdMode = m.(string)
				}
				s.Factor = num(tc.Args, "factor", s.Factor)
				s.Patience = int(num(tc.Args, "patience", float64(s.Patience)))
				s.Threshold = num(tc.Args, "threshold", s.Threshold)
				s.Cooldown = int(num(tc.Args, "cooldown", float64(s.Cooldown)))
				s.MinLR = num(tc.Args, "min_lr", s.MinLR)
				s.Eps = num(tc.Args, "eps", s.Eps)
				step, last = func(i int) error { return s.Step(tc.Metrics[i]) }, s.LastLR
			default:
				t.Fatalf("unknown kind %q", tc.Kind)
			}
			for i, want := range tc.Lrs {
				if i > 0 {
					if err := step(i - 1); err != nil {
						t.Fatal(err)
					}
				}
				if math.Abs(opt.LR-want) > 1e-12 || last() != opt.LR {
					t.Fatalf("step %d: LR %.17g (LastLR %.17g), torch %.17g", i, opt.LR, last(), want)
				}
			}
		})
	}
}

// Scheduler settings and receivers out of range are errors, never panics.
func TestSchedulerErrors(t *testing.T) {
	opt, _ := NewOptimizer("adam", 0.1)
	solver, _ := NewOptimizer("sgd", 0.1)
	solver.custom = true
	ctors := []struct {
		name string
		make func() error
		want error
	}{
		{"StepLR nil optimizer", func() error { _, err := NewStepLR(nil, 1, 0.1); return err }, gometric.ErrSetting},
		{"StepLR zero optimizer", func() error { _, err := NewStepLR(&Optimizer{}, 1, 0.1); return err }, gometric.ErrSetting},
		{"StepLR solver", func() error { _, err := NewStepLR(solver, 1, 0.1); return err }, gometric.ErrUnsupported},
		{"StepLR step size 0", func() error { _, err := NewStepLR(opt, 0, 0.1); return err }, gometric.ErrSetting},
		{"StepLR step size MinInt", func() error { _, err := NewStepLR(opt, math.MinInt, 0.1); return err }, gometric.ErrSetting},
		{"StepLR gamma NaN", func() error { _, err := NewStepLR(opt, 1, math.NaN()); return err }, gometric.ErrSetting},
		{"StepLR gamma -1", func() error { _, err := NewStepLR(opt, 1, -1); return err }, gometric.ErrSetting},
		{"MultiStepLR milestone 0", func() error { _, err := NewMultiStepLR(opt, []int{3, 0}, 0.1); return err }, gometric.ErrSetting},
		{"MultiStepLR gamma Inf", func() error { _, err := NewMultiStepLR(opt, nil, math.Inf(1)); return err }, gometric.ErrSetting},
		{"ExponentialLR nil", func() error { _, err := NewExponentialLR(nil, 0.9); return err }, gometric.ErrSetting},
		{"ExponentialLR gamma -0.5", func() error { _, err := NewExponentialLR(opt, -0.5); return err }, gometric.ErrSetting},
		{"Cosine T 0", func() error { _, err := NewCosineAnnealingLR(opt, 0, 0); return err }, gometric.ErrSetting},
		{"Cosine T MaxInt", func() error { _, err := NewCosineAnnealingLR(opt, math.MaxInt, 0); return err }, gometric.ErrSetting},
		{"Cosine eta NaN", func() error { _, err := NewCosineAnnealingLR(opt, 5, math.NaN()); return err }, gometric.ErrSetting},
		{"Plateau nil", func() error { _, err := NewReduceLROnPlateau(nil); return err }, gometric.ErrSetting},
		{"Plateau solver", func() error { _, err := NewReduceLROnPlateau(solver); return err }, gometric.ErrUnsupported},
		{"zero StepLR", func() error { return (&StepLR{}).Step() }, gometric.ErrSetting},
		{"nil StepLR", func() error { return (*StepLR)(nil).Step() }, gometric.ErrSetting},
		{"zero MultiStepLR", func() error { return (&MultiStepLR{}).Step() }, gometric.ErrSetting},
		{"nil MultiStepLR", func() error { return (*MultiStepLR)(nil).Step() }, gometric.ErrSetting},
		{"zero ExponentialLR", func() error { return (&ExponentialLR{}).Step() }, gometric.ErrSetting},
		{"nil ExponentialLR", func() error { return (*ExponentialLR)(nil).Step() }, gometric.ErrSetting},
		{"zero Cosine", func() error { return (&CosineAnnealingLR{}).Step() }, gometric.ErrSetting},
		{"nil Cosine", func() error { return (*CosineAnnealingLR)(nil).Step() }, gometric.ErrSetting},
		{"zero Plateau", func() error { return (&ReduceLROnPlateau{}).Step(1) }, gometric.ErrSetting},
		{"nil Plateau", func() error { return (*ReduceLROnPlateau)(nil).Step(1) }, gometric.ErrSetting},
	}
	for _, tc := range ctors {
		if err := tc.make(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	plateau := []struct {
		name string
		set  func(s *ReduceLROnPlateau)
	}{
		{"mode", func(s *ReduceLROnPlateau) { s.Mode = "up" }},
		{"threshold mode", func(s *ReduceLROnPlateau) { s.ThresholdMode = "" }},
		{"factor 1", func(s *ReduceLROnPlateau) { s.Factor = 1 }},
		{"factor NaN", func(s *ReduceLROnPlateau) { s.Factor = math.NaN() }},
		{"patience", func(s *ReduceLROnPlateau) { s.Patience = -1 }},
		{"cooldown", func(s *ReduceLROnPlateau) { s.Cooldown = math.MinInt }},
		{"threshold", func(s *ReduceLROnPlateau) { s.Threshold = math.Inf(1) }},
		{"min lr", func(s *ReduceLROnPlateau) { s.MinLR = -1 }},
		{"eps", func(s *ReduceLROnPlateau) { s.Eps = math.NaN() }},
	}
	for _, tc := range plateau {
		s, err := NewReduceLROnPlateau(opt)
		if err != nil {
			t.Fatal(err)
		}
		tc.set(s)
		if err := s.Step(1); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("plateau %s: %v", tc.name, err)
		}
	}
	s, _ := NewReduceLROnPlateau(opt)
	if err := s.Step(math.NaN()); !errors.Is(err, gometric.ErrNonFinite) || !math.IsInf(s.Best(), 1) {
		t.Errorf("NaN metric: %v, best %v", err, s.Best())
	}
	// An overflowing exponential schedule is refused and leaves the rate.
	big, _ := NewOptimizer("sgd", 1e300)
	e, _ := NewExponentialLR(big, 1e10)
	if err := e.Step(); !errors.Is(err, gometric.ErrNonFinite) || big.LR != 1e300 {
		t.Errorf("overflow: %v, LR %v", err, big.LR)
	}
	// Nil and zero accessors.
	if (*StepLR)(nil).LastLR() != 0 || (*ReduceLROnPlateau)(nil).LastLR() != 0 || (*ReduceLROnPlateau)(nil).Best() != 0 {
		t.Error("nil accessors")
	}
	var _ LRScheduler = (*StepLR)(nil)
	var _ LRScheduler = (*MultiStepLR)(nil)
	var _ LRScheduler = (*ExponentialLR)(nil)
	var _ LRScheduler = (*CosineAnnealingLR)(nil)
}

// A schedule changes the rate between steps without losing the
// optimizer's moments: Adam stepped with a StepLR equals Adam stepped with
// the rate set by hand.
func TestSchedulerKeepsMoments(t *testing.T) {
	a, _ := NewOptimizer("adam", 0.1)
	b, _ := NewOptimizer("adam", 0.1)
	sch, err := NewStepLR(a, 2, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	pa := newParam[float32]("p", []int{2}, 2)
	pb := newParam[float32]("p", []int{2}, 2)
	for s := 0; s < 6; s++ {
		for _, p := range []*Param{pa, pb} {
			_, g := p.Float32s()
			g[0], g[1] = float32(s)-2, 0.5
		}
		if err := a.Step([]*Param{pa}); err != nil {
			t.Fatal(err)
		}
		if err := b.Step([]*Param{pb}); err != nil {
			t.Fatal(err)
		}
		if err := sch.Step(); err != nil {
			t.Fatal(err)
		}
		b.LR = 0.1 * math.Pow(0.5, float64((s+1)/2))
		va, _ := pa.Float32s()
		vb, _ := pb.Float32s()
		if va[0] != vb[0] || va[1] != vb[1] || a.LR != b.LR {
			t.Fatalf("step %d: %v (LR %v) vs %v (LR %v)", s, va, a.LR, vb, b.LR)
		}
	}
}
