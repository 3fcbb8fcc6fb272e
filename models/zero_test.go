package models_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"gonum.org/v1/gonum/mat"
)

// Every method of a nil or zero encoder, optimizer or parameter returns an
// error wrapping ErrSetting (or a zero value where it has no error result)
// and never panics. Every exported struct type is covered (checked against
// the source), and every type's doc says whether it is safe for concurrent
// use.
func TestZeroValuesAndNilReceivers(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"ConvNet", "ConvNetConfig", "MLP", "MLPConfig", "Optimizer", "Param", "ResNet", "ResNetConfig",
		"StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau", // the schedulers: TestSchedulerZeroValues
		"StateTensor"}) // a plain value
	testkit.CheckConcurrencyDocs(t, ".")
	path := filepath.Join(t.TempDir(), "w.gmw")
	x := gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{1, 2}}
	loss := func(e gometric.Matrix) (float32, gometric.Matrix, error) { return 0, e.Clone(), nil }
	opt, _ := models.NewOptimizer("sgd", 0.1)
	encoders := []struct {
		name string
		enc  models.Encoder
		what string
	}{
		{"nil ConvNet", (*models.ConvNet)(nil), "models.ConvNet.%s: nil receiver"},
		{"zero ConvNet", &models.ConvNet{}, "models.ConvNet.%s: not made by NewConvNet"},
		{"nil MLP", (*models.MLP)(nil), "models.MLP.%s: nil receiver"},
		{"zero MLP", &models.MLP{}, "models.MLP.%s: not made by NewMLP"},
	}
	for _, tc := range encoders {
		t.Run(tc.name, func(t *testing.T) {
			// Every method, without arguments.
			var errs map[string]error
			if reflect.ValueOf(tc.enc).IsNil() {
				errs = testkit.NilReceiver(t, reflect.TypeOf(tc.enc))
			} else {
				errs = testkit.Refused(t, tc.enc)
			}
			for method, err := range errs {
				want := strings.Replace(tc.what, "%s", method, 1)
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), want) {
					t.Errorf("%s without arguments: err = %v, want %q… wrapping ErrSetting", method, err, want)
				}
			}
			// The same with arguments.
			_, e1 := tc.enc.Embed(x)
			_, e2 := tc.enc.TrainStep(x, loss)
			calls := []struct {
				method string
				err    error
			}{
				{"Embed", e1},
				{"TrainStep", e2},
				{"Step", tc.enc.Step(opt)},
				{"Save", tc.enc.Save(path)},
				{"Load", tc.enc.Load(path)},
			}
			for _, c := range calls {
				want := strings.Replace(tc.what, "%s", c.method, 1)
				if !errors.Is(c.err, gometric.ErrSetting) || !strings.HasPrefix(c.err.Error(), want) {
					t.Errorf("%s: err = %v, want %q… wrapping ErrSetting", c.method, c.err, want)
				}
			}
			tc.enc.ZeroGrad()
			if tc.enc.InputShape() != nil || tc.enc.EmbeddingSize() != 0 || tc.enc.Params() != nil {
				t.Error("a nil or zero encoder reports a shape or parameters")
			}
		})
	}
	var nilConv *models.ConvNet
	var nilMLP *models.MLP
	if c := nilConv.Config(); c.Channels != 0 || c.Blocks != nil {
		t.Errorf("nil ConvNet config %+v", c)
	}
	if c := nilMLP.Config(); c.Sizes != nil {
		t.Errorf("nil MLP config %+v", c)
	}

	// Configurations: the zero value is refused, naming what to set.
	configs := []struct {
		name string
		make func() error
		text string
	}{
		{"zero ConvNetConfig", func() error { _, err := models.NewConvNet(models.ConvNetConfig{}); return err }, "ReferenceConvNetConfig"},
		{"ConvNetConfig without blocks", func() error {
			_, err := models.NewConvNet(models.ConvNetConfig{Channels: 1, Height: 8, Width: 8, Embedding: 4})
			return err
		}, "0 blocks"},
		{"zero MLPConfig", func() error { _, err := models.NewMLP(models.MLPConfig{}); return err }, "set Sizes"},
		{"MLPConfig with one size", func() error { _, err := models.NewMLP(models.MLPConfig{Sizes: []int{3}}); return err }, "1 sizes"},
	}
	for _, tc := range configs {
		if err := tc.make(); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: err = %v, want ErrSetting mentioning %q", tc.name, err, tc.text)
		}
	}

	// Optimizers.
	enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	lp := []*losses.Param{{Name: "W", Value: mat.NewDense(1, 1, nil)}}
	lg := []*mat.Dense{mat.NewDense(1, 1, nil)}
	optimizers := []struct {
		name string
		opt  *models.Optimizer
		text string
	}{
		{"nil Optimizer", nil, "nil"},
		{"zero Optimizer", &models.Optimizer{}, "not made by NewOptimizer or NewSolverOptimizer"},
		{"Optimizer literal", &models.Optimizer{LR: 0.1, Beta1: 0.9, Beta2: 0.999}, "not made by NewOptimizer"},
	}
	for _, tc := range optimizers {
		var errs map[string]error
		if tc.opt == nil {
			errs = testkit.NilReceiver(t, reflect.TypeOf(tc.opt))
		} else {
			errs = testkit.Refused(t, tc.opt)
		}
		for method, err := range errs {
			if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("%s: %s without arguments: err = %v, want ErrSetting mentioning %q", tc.name, method, err, tc.text)
			}
		}
		for _, err := range []error{tc.opt.Step(enc.Params()), tc.opt.StepParams(lp, lg), enc.Step(tc.opt)} {
			if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("%s: err = %v, want ErrSetting mentioning %q", tc.name, err, tc.text)
			}
		}
		if tc.opt.Name() != "" {
			t.Errorf("%s: name %q", tc.name, tc.opt.Name())
		}
	}

	// Parameters.
	for method, err := range testkit.NilReceiver(t, reflect.TypeFor[*models.Param]()) {
		if !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("nil Param: %s: %v, want ErrSetting", method, err)
		}
	}
	for method, err := range testkit.ZeroValue(t, reflect.TypeFor[*models.Param]()) {
		if !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("zero Param: %s: %v, want ErrSetting", method, err)
		}
	}
	for _, p := range []*models.Param{nil, {}} {
		v, g := p.Float32s()
		if p.Name() != "" || p.Shape() != nil || p.Len() != 0 || p.Value() != nil || v != nil || g != nil {
			t.Errorf("Param %v reports a value", p)
		}
		if _, err := p.Grad(); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("Param %v: Grad err = %v", p, err)
		}
		o, _ := models.NewOptimizer("adam", 0.1)
		if err := o.Step([]*models.Param{p}); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("Step with Param %v: %v", p, err)
		}
	}
}

// Every method of a nil or zero scheduler returns an error wrapping
// ErrSetting (or a zero value where it has no error result) and never
// panics.
func TestSchedulerZeroValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
		what string
	}{
		{"nil StepLR", (*models.StepLR)(nil), "nil receiver"},
		{"zero StepLR", &models.StepLR{}, "not made by NewStepLR"},
		{"nil MultiStepLR", (*models.MultiStepLR)(nil), "nil receiver"},
		{"zero MultiStepLR", &models.MultiStepLR{}, "not made by NewMultiStepLR"},
		{"nil ExponentialLR", (*models.ExponentialLR)(nil), "nil receiver"},
		{"zero ExponentialLR", &models.ExponentialLR{}, "not made by NewExponentialLR"},
		{"nil CosineAnnealingLR", (*models.CosineAnnealingLR)(nil), "nil receiver"},
		{"zero CosineAnnealingLR", &models.CosineAnnealingLR{}, "not made by NewCosineAnnealingLR"},
		{"nil ReduceLROnPlateau", (*models.ReduceLROnPlateau)(nil), "nil receiver"},
		{"zero ReduceLROnPlateau", &models.ReduceLROnPlateau{}, "not made by NewReduceLROnPlateau"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs map[string]error
			if reflect.ValueOf(tc.v).IsNil() {
				errs = testkit.NilReceiver(t, reflect.TypeOf(tc.v))
			} else {
				errs = testkit.Refused(t, tc.v)
			}
			for method, err := range errs {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.what) {
					t.Errorf("%s: err = %v, want ErrSetting mentioning %q", method, err, tc.what)
				}
			}
		})
	}
}
