package models

import (
	"errors"
	"math"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
)

// reference applies torch's update rules in float64.
type reference struct {
	name                             string
	lr, b1, b2, eps, momentum, alpha float64
	m, v                             []float64
	t                                int
}

func (r *reference) step(w, g []float64) {
	if r.m == nil {
		r.m, r.v = make([]float64, len(w)), make([]float64, len(w))
	}
	r.t++
	for i := range w {
		switch r.name {
		case "adam":
			r.m[i] = r.b1*r.m[i] + (1-r.b1)*g[i]
			r.v[i] = r.b2*r.v[i] + (1-r.b2)*g[i]*g[i]
			mh := r.m[i] / (1 - math.Pow(r.b1, float64(r.t)))
			vh := r.v[i] / (1 - math.Pow(r.b2, float64(r.t)))
			w[i] -= r.lr * mh / (math.Sqrt(vh) + r.eps)
		case "sgd":
			r.m[i] = r.momentum*r.m[i] + g[i]
			w[i] -= r.lr * r.m[i]
		case "rmsprop": // torch's: √v + ε
			r.v[i] = r.alpha*r.v[i] + (1-r.alpha)*g[i]*g[i]
			w[i] -= r.lr * g[i] / (math.Sqrt(r.v[i]) + r.eps)
		}
	}
}

func TestOptimizerRules(t *testing.T) {
	tests := []struct {
		name     string
		lr       float64
		momentum float64
	}{
		{"adam", 1e-2, 0},
		{"sgd", 0.1, 0},
		{"sgd", 0.1, 0.9},
		{"rmsprop", 1e-2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opt, err := NewOptimizer(tc.name, tc.lr)
			if err != nil {
				t.Fatal(err)
			}
			opt.Momentum = tc.momentum
			ref := &reference{name: tc.name, lr: tc.lr, b1: 0.9, b2: 0.999, eps: 1e-8, momentum: tc.momentum, alpha: 0.99}
			// A float32 parameter and a float64 one (NewDenseParam) in one
			// optimizer.
			p32 := newParam[float32]("p32", []int{3}, 3)
			v32, g32 := p32.Float32s()
			copy(v32, []float32{0.5, -1, 2})
			wv := mat.NewDense(1, 2, []float64{0.25, -0.75})
			wg := mat.NewDense(1, 2, nil)
			p64, err := NewDenseParam("W", wv, wg)
			if err != nil {
				t.Fatal(err)
			}
			w := []float64{0.5, -1, 2, 0.25, -0.75}
			for s := 0; s < 5; s++ {
				g := []float64{0.3 - 0.1*float64(s), -0.2, 1.5, 0.05 * float64(s), -1}
				for i := range g32 {
					g32[i] = float32(g[i])
				}
				wg.SetRow(0, g[3:])
				if err := opt.Step([]*Param{p32, p64}); err != nil {
					t.Fatal(err)
				}
				ref.step(w, g)
				for i, v := range v32 {
					if math.Abs(float64(v)-w[i]) > 1e-6 {
						t.Fatalf("step %d: float32 w[%d] = %v, want %v", s, i, v, w[i])
					}
					if g32[i] != 0 {
						t.Fatalf("step %d: gradient not consumed", s)
					}
				}
				for j := 0; j < 2; j++ {
					if got := wv.At(0, j); math.Abs(got-w[3+j]) > 1e-12 {
						t.Fatalf("step %d: float64 w[%d] = %v, want %v", s, j, got, w[3+j])
					}
				}
			}
		})
	}
}

func TestOptimizerErrors(t *testing.T) {
	if _, err := NewOptimizer("adagrad", 1); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("unknown name: %v", err)
	}
	if o, err := NewOptimizer("ADAM", 1); err != nil || o.Name() != "adam" {
		t.Errorf("upper case: %v", err)
	}
	p := newParam[float32]("p", []int{2}, 2)
	q := newParam[float32]("q", []int{3}, 3)
	bad := []struct {
		name string
		set  func(o *Optimizer)
		opt  string
	}{
		{"lr", func(o *Optimizer) { o.LR = -1 }, "adam"},
		{"lr inf", func(o *Optimizer) { o.LR = math.Inf(1) }, "adamw"},
		{"weight decay", func(o *Optimizer) { o.WeightDecay = -0.1 }, "sgd"},
		{"weight decay nan", func(o *Optimizer) { o.WeightDecay = math.NaN() }, "adamw"},
		{"nesterov without momentum", func(o *Optimizer) { o.Nesterov = true }, "sgd"},
		{"nesterov with dampening", func(o *Optimizer) { o.Nesterov, o.Momentum, o.Dampening = true, 0.9, 0.1 }, "sgd"},
		{"dampening inf", func(o *Optimizer) { o.Momentum, o.Dampening = 0.9, math.Inf(-1) }, "sgd"},
		{"rmsprop momentum", func(o *Optimizer) { o.Momentum = math.NaN() }, "rmsprop"},
		{"beta1", func(o *Optimizer) { o.Beta1 = -0.1 }, "adamw"},
		{"lr nan", func(o *Optimizer) { o.LR = math.NaN() }, "sgd"},
		{"beta", func(o *Optimizer) { o.Beta2 = 1 }, "adam"},
		{"eps", func(o *Optimizer) { o.Eps = -1 }, "rmsprop"},
		{"alpha", func(o *Optimizer) { o.Alpha = 1.5 }, "rmsprop"},
		{"momentum", func(o *Optimizer) { o.Momentum = -0.1 }, "sgd"},
	}
	for _, tc := range bad {
		o, err := NewOptimizer(tc.opt, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		tc.set(o)
		if err := o.Step([]*Param{p}); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	o, _ := NewOptimizer("adam", 0.1)
	if err := o.Step(nil); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("no params: %v", err)
	}
	if err := o.Step([]*Param{nil}); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("nil param: %v", err)
	}
	if err := o.Step([]*Param{p}); err != nil {
		t.Fatal(err)
	}
	if err := o.Step([]*Param{p, q}); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("more params: %v", err)
	}
	if err := o.Step([]*Param{q}); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("other shape: %v", err)
	}
	// The settings are read at every step (a scheduler changes LR); a
	// rate of 0 is torch's legal no-op.
	o.LR = 0
	before, _ := p.Float32s()
	w0 := before[0]
	if err := o.Step([]*Param{p}); err != nil || before[0] != w0 {
		t.Errorf("LR 0: %v, w %v -> %v", err, w0, before[0])
	}
	o.LR = 1
	if err := o.Step([]*Param{p}); err != nil {
		t.Errorf("changed settings: %v", err)
	}
	if _, err := NewSolverOptimizer(nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil solver: %v", err)
	}
	s, err := NewSolverOptimizer(G.NewVanillaSolver(G.WithLearnRate(0.5)))
	if err != nil {
		t.Fatal(err)
	}
	v, g := p.Float32s()
	v[0], g[0] = 1, 1
	if err := s.Step([]*Param{p}); err != nil || v[0] != 0.5 {
		t.Errorf("vanilla solver: %v, w = %v", err, v[0])
	}
	// NewDenseParam.
	for _, tc := range []struct {
		name       string
		value, grd *mat.Dense
	}{
		{"nil", nil, mat.NewDense(1, 1, nil)},
		{"dims", mat.NewDense(2, 2, nil), mat.NewDense(2, 3, nil)},
		{"view", mat.NewDense(3, 3, nil).Slice(0, 2, 0, 2).(*mat.Dense), mat.NewDense(2, 2, nil)},
	} {
		if _, err := NewDenseParam(tc.name, tc.value, tc.grd); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("NewDenseParam %s: %v", tc.name, err)
		}
	}
}

// StepParams updates a loss's parameters exactly as wrapping them with
// NewDenseParam and calling Step does, keeping the solver's state across
// calls, and refuses a changed parameter list.
func TestStepParams(t *testing.T) {
	for _, name := range OptimizerNames {
		t.Run(name, func(t *testing.T) {
			a := mat.NewDense(2, 3, []float64{0.5, -1, 2, 0.25, 0, -0.75})
			b := mat.NewDense(1, 2, []float64{1, -1})
			ps := []*losses.Param{{Name: "A", Value: a}, {Name: "B", Value: b}}
			// The reference: wrapped by hand, as the trainer used to.
			ra, rb := mat.DenseCopyOf(a), mat.DenseCopyOf(b)
			ga, gb := mat.NewDense(2, 3, nil), mat.NewDense(1, 2, nil)
			pa, _ := NewDenseParam("A", ra, ga)
			pb, _ := NewDenseParam("B", rb, gb)
			ref, _ := NewOptimizer(name, 0.05)
			opt, _ := NewOptimizer(name, 0.05)
			for s := 0; s < 4; s++ {
				sa := mat.NewDense(2, 3, []float64{0.3 - 0.1*float64(s), -0.2, 1.5, 0.05 * float64(s), -1, 0.5})
				var sb *mat.Dense // untouched (nil) at even steps
				if s%2 == 1 {
					sb = mat.NewDense(1, 2, []float64{float64(s), -0.5})
				}
				ga.Copy(sa)
				gb.Zero()
				if sb != nil {
					gb.Copy(sb)
				}
				if err := ref.Step([]*Param{pa, pb}); err != nil {
					t.Fatal(err)
				}
				if err := opt.StepParams(ps, []*mat.Dense{sa, sb}); err != nil {
					t.Fatal(err)
				}
				if !mat.Equal(a, ra) || !mat.Equal(b, rb) {
					t.Fatalf("step %d: StepParams gave %v %v, Step %v %v", s, mat.Formatted(a), mat.Formatted(b), mat.Formatted(ra), mat.Formatted(rb))
				}
				// The gradients are copied, not consumed.
				if sa.At(0, 1) != -0.2 {
					t.Fatal("StepParams changed the caller's gradient")
				}
			}
		})
	}

	a := mat.NewDense(1, 2, nil)
	ps := []*losses.Param{{Name: "A", Value: a}}
	g := []*mat.Dense{mat.NewDense(1, 2, []float64{1, 1})}
	opt, _ := NewOptimizer("adam", 0.1)
	bad := []struct {
		name   string
		params []*losses.Param
		grads  []*mat.Dense
		want   error
	}{
		{"no parameters", nil, nil, gometric.ErrShape},
		{"gradient count", ps, nil, gometric.ErrShape},
		{"nil parameter", []*losses.Param{nil}, g, gometric.ErrShape},
		{"empty parameter", []*losses.Param{{Name: "E"}}, g, gometric.ErrShape},
	}
	for _, tc := range bad {
		if err := opt.StepParams(tc.params, tc.grads); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := opt.StepParams(ps, g); err != nil {
		t.Fatal(err)
	}
	after := []struct {
		name   string
		params []*losses.Param
		grads  []*mat.Dense
		want   error
	}{
		{"gradient shape", ps, []*mat.Dense{mat.NewDense(2, 1, nil)}, gometric.ErrShape},
		{"NaN gradient", ps, []*mat.Dense{mat.NewDense(1, 2, []float64{0, math.NaN()})}, gometric.ErrNonFinite},
		{"other matrix", []*losses.Param{{Name: "A", Value: mat.NewDense(1, 2, nil)}}, g, gometric.ErrSetting},
		{"more parameters", append(ps, &losses.Param{Name: "B", Value: mat.NewDense(1, 1, nil)}), append(g, nil), gometric.ErrSetting},
	}
	for _, tc := range after {
		if err := opt.StepParams(tc.params, tc.grads); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// An optimizer steps either an encoder's parameters or a loss's.
	p := newParam[float32]("p", []int{2}, 2)
	if err := opt.Step([]*Param{p}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Step after StepParams: %v", err)
	}
	enc, _ := NewOptimizer("adam", 0.1)
	if err := enc.Step([]*Param{p}); err != nil {
		t.Fatal(err)
	}
	if err := enc.StepParams(ps, g); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("StepParams after Step: %v", err)
	}
	var _ losses.ParamOptimizer = opt
}
