package models_test

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/models"
)

// smallResNet is a ResNet-18 on 2×32×32 inputs with 5 classes.
func smallResNet(t testing.TB, mod func(*models.ResNetConfig)) *models.ResNet {
	t.Helper()
	cfg := models.ResNetConfig{Depth: 18, NumClasses: 5, Channels: 2, Height: 32, Width: 32, Seed: 1}
	if mod != nil {
		mod(&cfg)
	}
	m, err := models.NewResNet(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func images(n, c, h, w int, seed uint64) gometric.Matrix {
	x := gometric.Matrix{Rows: n, Cols: c * h * w, Data: make([]float32, n*c*h*w)}
	s := seed*2654435761 + 1
	for i := range x.Data {
		s = s*6364136223846793005 + 1442695040888963407
		x.Data[i] = float32(int64(s>>33)%2000-1000) / 1000
	}
	return x
}

// sumLoss is loss = sum(out·w) with fixed weights w[i] = sin(i).
func sumLoss(e gometric.Matrix) (float32, gometric.Matrix, error) {
	g := gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}
	var l float64
	for i, v := range e.Data {
		g.Data[i] = float32(math.Sin(float64(i)))
		l += float64(v) * float64(g.Data[i])
	}
	return float32(l), g, nil
}

// torchvision's parameter counts (sum(p.numel() for p in
// model.parameters())) and state_dict sizes.
func TestResNetArchitectures(t *testing.T) {
	for _, tc := range []struct {
		depth, classes  int
		params, entries int
		emb             int
	}{
		{18, 1000, 11689512, 122, 1000},
		{34, 1000, 21797672, 218, 1000},
		{50, 1000, 25557032, 320, 1000},
		{101, 1000, 44549160, 626, 1000},
		{18, 0, 11689512 - 513000, 120, 512},
		{50, 0, 25557032 - 2049000, 318, 2048},
	} {
		t.Run(fmt.Sprint(tc.depth, "/", tc.classes), func(t *testing.T) {
			if testing.Short() && tc.depth == 101 {
				t.Skip("-short")
			}
			m, err := models.NewResNet(models.ResNetConfig{Depth: tc.depth, NumClasses: tc.classes, Height: 32, Width: 32})
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, p := range m.Params() {
				total += p.Len()
			}
			if total != tc.params {
				t.Errorf("%d parameter values, torchvision has %d", total, tc.params)
			}
			sd := m.StateDict()
			if len(sd) != tc.entries {
				t.Errorf("%d state_dict entries, torchvision has %d", len(sd), tc.entries)
			}
			for _, k := range []string{"conv1.weight", "bn1.running_var", "layer1.0.conv1.weight", "layer4.1.bn2.num_batches_tracked"} {
				if _, ok := sd[k]; !ok {
					t.Errorf("no %s", k)
				}
			}
			if tc.depth != 18 {
				if _, ok := sd["layer1.0.downsample.1.running_mean"]; tc.depth >= 50 != ok {
					t.Errorf("layer1.0.downsample present = %v", ok)
				}
			}
			if got := m.EmbeddingSize(); got != tc.emb {
				t.Errorf("EmbeddingSize = %d, want %d", got, tc.emb)
			}
			if got := m.InputShape(); !slices.Equal(got, []int{3, 32, 32}) {
				t.Errorf("InputShape = %v", got)
			}
		})
	}
}

func TestNewResNetErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  models.ResNetConfig
		text string
	}{
		{"zero", models.ResNetConfig{}, "Depth = 0"},
		{"depth 152", models.ResNetConfig{Depth: 152}, "Depth = 152"},
		{"depth -1", models.ResNetConfig{Depth: -1}, "Depth = -1"},
		{"negative channels", models.ResNetConfig{Depth: 18, Channels: -3}, "Channels = -3"},
		{"huge channels", models.ResNetConfig{Depth: 18, Channels: 1 << 20}, "Channels"},
		{"huge height", models.ResNetConfig{Depth: 50, Height: math.MaxInt}, "Height"},
		{"negative width", models.ResNetConfig{Depth: 50, Width: math.MinInt}, "Width"},
		{"negative classes", models.ResNetConfig{Depth: 18, NumClasses: -1}, "NumClasses = -1"},
		{"huge classes", models.ResNetConfig{Depth: 18, NumClasses: math.MaxInt}, "NumClasses"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := models.NewResNet(tc.cfg)
			if m != nil || !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.text) || !strings.HasPrefix(err.Error(), "models.NewResNet: ") {
				t.Errorf("err = %v, want ErrSetting mentioning %q", err, tc.text)
			}
		})
	}
	m, err := models.NewResNet(models.ResNetConfig{Depth: 34})
	if err != nil {
		t.Fatal(err)
	}
	if c := m.Config(); c.Channels != 3 || c.Height != 224 || c.Width != 224 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestResNetNilAndZero(t *testing.T) {
	x := images(1, 3, 8, 8, 1)
	opt, _ := models.NewOptimizer("sgd", 0.1)
	path := filepath.Join(t.TempDir(), "w")
	for _, tc := range []struct {
		name string
		m    *models.ResNet
		text string
	}{
		{"nil", nil, "nil receiver"},
		{"zero", &models.ResNet{}, "not made by NewResNet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var errs map[string]error
			if tc.m == nil {
				errs = testkit.NilReceiver(t, reflect.TypeFor[*models.ResNet]())
			} else {
				errs = testkit.Refused(t, tc.m)
			}
			for method, err := range errs {
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "models.ResNet."+method+": "+tc.text) {
					t.Errorf("%s: %v", method, err)
				}
			}
			_, e1 := tc.m.Embed(x)
			_, e2 := tc.m.TrainStep(x, sumLoss)
			_, _, e3 := tc.m.TrainStepInput(x, sumLoss)
			for _, err := range []error{e1, e2, e3, tc.m.Step(opt), tc.m.Save(path), tc.m.Load(path), tc.m.LoadStateDict(models.StateDict{})} {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.text) {
					t.Errorf("err = %v", err)
				}
			}
			tc.m.ZeroGrad()
			if tc.m.InputShape() != nil || tc.m.EmbeddingSize() != 0 || tc.m.Params() != nil || tc.m.StateDict() != nil || tc.m.Config() != (models.ResNetConfig{}) {
				t.Error("a nil or zero ResNet reports something")
			}
		})
	}
}

func TestResNetStepErrors(t *testing.T) {
	m := smallResNet(t, nil)
	good := images(2, 2, 32, 32, 1)
	nan := images(2, 2, 32, 32, 1)
	nan.Data[5] = float32(math.NaN())
	fail := errors.New("loss failed")
	for _, tc := range []struct {
		name string
		x    gometric.Matrix
		loss models.LossFunc
		want error
		text string
	}{
		{"wrong width", images(2, 2, 16, 16, 1), sumLoss, gometric.ErrShape, "want 2048"},
		{"short data", gometric.Matrix{Rows: 2, Cols: 2048, Data: make([]float32, 10)}, sumLoss, gometric.ErrShape, ""},
		{"huge rows", gometric.Matrix{Rows: 1 << 40, Cols: 2048}, sumLoss, gometric.ErrShape, ""},
		{"NaN input", nan, sumLoss, gometric.ErrNonFinite, "sample 0"},
		{"nil loss", good, nil, gometric.ErrSetting, "nil loss"},
		{"one value per channel", images(1, 2, 32, 32, 1), sumLoss, gometric.ErrShape, "BatchNorm"},
		{"loss error", good, func(gometric.Matrix) (float32, gometric.Matrix, error) { return 0, gometric.Matrix{}, fail }, fail, "loss failed"},
		{"wrong gradient", good, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			return 0, gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{1}}, nil
		}, gometric.ErrShape, "gradient"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.TrainStep(tc.x, tc.loss)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) || !strings.HasPrefix(err.Error(), "models.ResNet.TrainStep: ") {
				t.Errorf("err = %v, want %v mentioning %q", err, tc.want, tc.text)
			}
			for _, p := range m.Params() {
				if _, g := p.Float32s(); slices.ContainsFunc(g, func(v float32) bool { return v != 0 }) {
					t.Fatalf("%s has a gradient after a failed step", p.Name())
				}
			}
			if tc.loss != nil {
				if _, err := m.Embed(tc.x); tc.want != fail && !strings.Contains(tc.name, "gradient") && !strings.Contains(tc.name, "channel") && err == nil {
					t.Errorf("Embed accepted the input")
				}
			}
		})
	}
	// A panicking loss panics in the caller's goroutine, and leaves no
	// gradient; the network still trains afterwards.
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v", r)
			}
		}()
		_, _ = m.TrainStep(good, func(gometric.Matrix) (float32, gometric.Matrix, error) { panic("boom") })
	}()
	if _, err := m.TrainStep(good, sumLoss); err != nil {
		t.Fatal(err)
	}
	// With frozen BatchNorm one sample is fine.
	f := smallResNet(t, func(c *models.ResNetConfig) { c.FreezeBatchNorm = true })
	if _, err := f.TrainStep(images(1, 2, 32, 32, 1), sumLoss); err != nil {
		t.Fatal(err)
	}
}

// Training lowers the loss; the step is deterministic; TrainStepInput's
// parameter gradients are TrainStep's; Embed is eval mode (unaffected by
// the batch) while TrainStep updates the running statistics.
func TestResNetTraining(t *testing.T) {
	x := images(4, 2, 32, 32, 2)
	a := smallResNet(t, nil)
	b := smallResNet(t, nil)
	la, err := a.TrainStep(x, sumLoss)
	if err != nil {
		t.Fatal(err)
	}
	lb, dx, err := b.TrainStepInput(x, sumLoss)
	if err != nil {
		t.Fatal(err)
	}
	if la != lb || dx.Rows != 4 || dx.Cols != x.Cols {
		t.Fatalf("losses %v, %v; dx %d×%d", la, lb, dx.Rows, dx.Cols)
	}
	pa, pb := a.Params(), b.Params()
	for i := range pa {
		_, ga := pa[i].Float32s()
		_, gb := pb[i].Float32s()
		if !slices.Equal(ga, gb) {
			t.Fatalf("%s: TrainStep and TrainStepInput differ", pa[i].Name())
		}
	}
	if a.StateDict()["bn1.num_batches_tracked"].Ints[0] != 1 {
		t.Error("num_batches_tracked not counted")
	}
	// Embed of one sample does not depend on the others (eval mode).
	all, err := a.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	one, err := a.Embed(gometric.Matrix{Rows: 1, Cols: x.Cols, Data: x.Data[x.Cols:][:x.Cols]})
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range one.Data {
		if d := math.Abs(float64(v - all.Data[5+j])); d > 1e-4*(1+math.Abs(float64(v))) {
			t.Fatalf("Embed of sample 1 alone differs at %d: %v vs %v", j, v, all.Data[5+j])
		}
	}
	opt, _ := models.NewOptimizer("sgd", 1e-3)
	first := la
	var last float32
	for range 5 {
		if err := a.Step(opt); err != nil {
			t.Fatal(err)
		}
		if last, err = a.TrainStep(x, sumLoss); err != nil {
			t.Fatal(err)
		}
	}
	if !(last < first) {
		t.Errorf("loss went from %v to %v", first, last)
	}
}

// PML's freeze_trunk_batchnorm (BatchNorm modules in eval mode) and
// torch's model.eval() during training (SetEvalMode): the running
// statistics stay; BatchNorm's weight and bias train with the
// convolutions, as PML leaves them in the optimizer.
func TestResNetFreezeBatchNorm(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*models.ResNetConfig)
		eval bool
	}{
		{"FreezeBatchNorm", func(c *models.ResNetConfig) { c.FreezeBatchNorm = true }, false},
		{"SetEvalMode", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := smallResNet(t, tc.cfg)
			if tc.eval {
				if err := m.SetEvalMode(true); err != nil {
					t.Fatal(err)
				}
				if !m.EvalMode() {
					t.Fatal("EvalMode() = false after SetEvalMode(true)")
				}
			}
			before := m.StateDict()
			x := images(3, 2, 32, 32, 3)
			opt, _ := models.NewOptimizer("adam", 1e-2)
			if _, err := m.TrainStep(x, sumLoss); err != nil {
				t.Fatal(err)
			}
			if err := m.Step(opt); err != nil {
				t.Fatal(err)
			}
			after := m.StateDict()
			for k, v := range before {
				same := slices.Equal(v.Data, after[k].Data) && slices.Equal(v.Ints, after[k].Ints)
				stat := strings.Contains(k, "running_") || strings.Contains(k, "num_batches_tracked")
				if stat != same {
					t.Errorf("%s: changed = %v", k, !same)
				}
			}
		})
	}
}

func TestResNetStateDict(t *testing.T) {
	src := smallResNet(t, nil)
	if _, err := src.TrainStep(images(2, 2, 32, 32, 4), sumLoss); err != nil { // running stats move
		t.Fatal(err)
	}
	sd := src.StateDict()
	x := images(3, 2, 32, 32, 5)
	want, _ := src.Embed(x)
	dst := smallResNet(t, func(c *models.ResNetConfig) { c.Seed = 9 })
	if err := dst.LoadStateDict(sd); err != nil {
		t.Fatal(err)
	}
	got, _ := dst.Embed(x)
	if !slices.Equal(got.Data, want.Data) {
		t.Error("the loaded network embeds differently")
	}
	// A trunk without fc takes ImageNet-style dicts with fc.*.
	trunk := smallResNet(t, func(c *models.ResNetConfig) { c.NumClasses = 0 })
	if err := trunk.LoadStateDict(sd); err != nil {
		t.Errorf("fc.* not ignored: %v", err)
	}
	// Old dicts without num_batches_tracked load (as 0).
	old := models.StateDict{}
	for k, v := range sd {
		if !strings.HasSuffix(k, "num_batches_tracked") {
			old[k] = v
		}
	}
	if err := dst.LoadStateDict(old); err != nil {
		t.Errorf("without num_batches_tracked: %v", err)
	}
	if dst.StateDict()["bn1.num_batches_tracked"].Ints[0] != 0 {
		t.Error("num_batches_tracked not 0")
	}
	with := func(f func(models.StateDict)) models.StateDict {
		c := models.StateDict{}
		for k, v := range sd {
			c[k] = v
		}
		f(c)
		return c
	}
	for _, tc := range []struct {
		name string
		sd   models.StateDict
		want error
		text []string
	}{
		{"nil", nil, gometric.ErrShape, []string{"nil state dict"}},
		{"empty", models.StateDict{}, gometric.ErrShape, []string{"missing keys: bn1.bias", "(102 in all)"}},
		{"missing", with(func(c models.StateDict) { delete(c, "layer3.1.conv2.weight") }), gometric.ErrShape, []string{"missing keys: layer3.1.conv2.weight"}},
		{"unexpected", with(func(c models.StateDict) { c["layer5.0.conv1.weight"] = c["conv1.weight"] }), gometric.ErrShape, []string{"unexpected keys: layer5.0.conv1.weight"}},
		{"mis-shaped", with(func(c models.StateDict) { c["fc.bias"] = models.StateTensor{Shape: []int{6}, Data: make([]float32, 6)} }), gometric.ErrShape, []string{"mis-shaped keys: fc.bias: shape [6], want [5]"}},
		{"short data", with(func(c models.StateDict) { c["fc.bias"] = models.StateTensor{Shape: []int{5}, Data: make([]float32, 2)} }), gometric.ErrShape, []string{"fc.bias: 2 float values"}},
		{"ints for floats", with(func(c models.StateDict) {
			c["bn1.weight"] = models.StateTensor{Shape: []int{64}, Ints: make([]int64, 64)}
		}), gometric.ErrShape, []string{"bn1.weight: 0 float values"}},
		{"tracked not scalar", with(func(c models.StateDict) {
			c["bn1.num_batches_tracked"] = models.StateTensor{Shape: []int{2}, Ints: []int64{1, 2}}
		}), gometric.ErrShape, []string{"bn1.num_batches_tracked: shape [2]"}},
		{"NaN", with(func(c models.StateDict) {
			d := slices.Clone(c["conv1.weight"].Data)
			d[7] = float32(math.Inf(-1))
			c["conv1.weight"] = models.StateTensor{Shape: c["conv1.weight"].Shape, Data: d}
		}), gometric.ErrNonFinite, []string{"conv1.weight has -Inf at index 7"}},
		{"all three", with(func(c models.StateDict) {
			delete(c, "bn1.weight")
			c["extra"] = models.StateTensor{Shape: []int{}, Data: []float32{1}}
			c["fc.weight"] = models.StateTensor{Shape: []int{1}, Data: []float32{1}}
		}), gometric.ErrShape, []string{"missing keys: bn1.weight", "unexpected keys: extra", "mis-shaped keys: fc.weight"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := dst.StateDict()
			err := dst.LoadStateDict(tc.sd)
			if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "models.ResNet.LoadStateDict: ") {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("err = %v, want it to mention %q", err, s)
				}
			}
			if !reflect.DeepEqual(before, dst.StateDict()) {
				t.Error("a refused state dict changed the network")
			}
		})
	}
}

func TestResNetSaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.gmw")
	src := smallResNet(t, nil)
	if _, err := src.TrainStep(images(2, 2, 32, 32, 6), sumLoss); err != nil {
		t.Fatal(err)
	}
	if err := src.Save(path); err != nil {
		t.Fatal(err)
	}
	dst := smallResNet(t, func(c *models.ResNetConfig) { c.Seed = 3; c.FreezeBatchNorm = true })
	if err := dst.Load(path); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(src.StateDict(), dst.StateDict()) {
		t.Error("Load did not restore the state")
	}
	other := smallResNet(t, func(c *models.ResNetConfig) { c.NumClasses = 4 })
	if err := other.Load(path); !errors.Is(err, gometric.ErrShape) || !errors.Is(err, models.ErrWeightFile) {
		t.Errorf("another architecture: %v", err)
	}
	conv, _ := models.NewConvNet(models.ReferenceConvNetConfig(1))
	if err := conv.Load(path); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("ConvNet.Load of a ResNet: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated", b[:len(b)/2]},
		{"empty", nil},
		{"flipped", func() []byte { c := slices.Clone(b); c[len(c)/2] ^= 1; return c }()},
		{"trailing", append(slices.Clone(b), 0)},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		before := dst.StateDict()
		if err := dst.Load(p); !errors.Is(err, gometric.ErrShape) || !strings.HasPrefix(err.Error(), "models.ResNet.Load: ") {
			t.Errorf("%s: err = %v", tc.name, err)
		}
		if !reflect.DeepEqual(before, dst.StateDict()) {
			t.Errorf("%s: a refused file changed the network", tc.name)
		}
	}
	if err := dst.Load(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file loaded")
	}
}

// Embed and TrainStep from several goroutines (serialised; run with
// -race).
func TestResNetConcurrentUse(t *testing.T) {
	m := smallResNet(t, nil)
	x := images(2, 2, 32, 32, 7)
	// TrainStep moves the running statistics, so Embed's values change:
	// check shapes only.
	testkit.Concurrently(t, 4, 1, func(g int) error {
		if g%2 == 1 {
			_, err := m.TrainStep(x, sumLoss)
			return err
		}
		e, err := m.Embed(x)
		if err == nil && (e.Rows != 2 || e.Cols != 5) {
			err = errors.New("wrong shape")
		}
		_ = m.StateDict()
		return err
	})
}

// PML's trunk and embedder: a ResNet without fc followed by an MLP,
// chained by TrainStepInput; both get gradients and the embedder's input
// gradient reaches the trunk.
func TestResNetTrunkWithEmbedder(t *testing.T) {
	trunk := smallResNet(t, func(c *models.ResNetConfig) { c.NumClasses = 0 })
	emb, err := models.NewMLP(models.MLPConfig{Sizes: []int{512, 8}, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	x := images(3, 2, 32, 32, 8)
	loss, err := trunk.TrainStep(x, func(h gometric.Matrix) (float32, gometric.Matrix, error) {
		return emb.TrainStepInput(h, sumLoss)
	})
	if err != nil || loss == 0 {
		t.Fatalf("loss %v, err %v", loss, err)
	}
	for _, m := range []models.Encoder{trunk, emb} {
		p := m.Params()[0]
		if _, g := p.Float32s(); !slices.ContainsFunc(g, func(v float32) bool { return v != 0 }) {
			t.Errorf("%s has no gradient", p.Name())
		}
	}
}

// Outputs, gradients and running statistics do not depend on GOMAXPROCS
// (every kernel splits its work in fixed, disjoint pieces).
func TestResNetSameResultAnyProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	x := images(4, 2, 32, 32, 9)
	run := func(procs int) (gometric.Matrix, gometric.Matrix, models.StateDict, [][]float32) {
		runtime.GOMAXPROCS(procs)
		m := smallResNet(t, nil)
		e, err := m.Embed(x)
		if err != nil {
			t.Fatal(err)
		}
		_, dx, err := m.TrainStepInput(x, sumLoss)
		if err != nil {
			t.Fatal(err)
		}
		var gs [][]float32
		for _, p := range m.Params() {
			_, g := p.Float32s()
			gs = append(gs, slices.Clone(g))
		}
		return e, dx, m.StateDict(), gs
	}
	e1, dx1, sd1, g1 := run(1)
	e2, dx2, sd2, g2 := run(4)
	if !slices.Equal(e1.Data, e2.Data) || !slices.Equal(dx1.Data, dx2.Data) || !reflect.DeepEqual(sd1, sd2) || !reflect.DeepEqual(g1, g2) {
		t.Error("results depend on GOMAXPROCS")
	}
}

// models.LoadEncoder reads a ResNet's weight file into a ResNet with the
// same outputs; a file whose header declares a larger architecture than
// its bytes hold is refused before the network is allocated.
func TestLoadEncoderResNet(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.gmw")
	src := smallResNet(t, nil)
	if _, err := src.TrainStep(images(2, 2, 32, 32, 6), sumLoss); err != nil {
		t.Fatal(err)
	}
	if err := src.Save(path); err != nil {
		t.Fatal(err)
	}
	enc, err := models.LoadEncoder(path)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := enc.(*models.ResNet)
	if !ok {
		t.Fatalf("LoadEncoder gave a %T", enc)
	}
	if !reflect.DeepEqual(src.StateDict(), r.StateDict()) || r.Config().Depth != 18 {
		t.Error("LoadEncoder did not restore the ResNet")
	}
	x := images(3, 2, 32, 32, 7)
	a, err := src.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Data, b.Data) {
		t.Error("the loaded ResNet embeds differently")
	}
	// The header of a ResNet-101 with 65536 classes on a ResNet-18's bytes.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.Replace(string(raw), `"Depth":18`, `"Depth":101`, 1)
	forged = strings.Replace(forged, `"NumClasses":5`, `"NumClasses":65536`, 1)
	if forged == string(raw) {
		t.Fatal("the header's configuration was not found to forge")
	}
	fp := filepath.Join(dir, "forged.gmw")
	if err := os.WriteFile(fp, []byte(forged), 0o644); err != nil {
		t.Fatal(err)
	}
	var lerr error
	alloc := testkit.Allocated(func() { _, lerr = models.LoadEncoder(fp) })
	if !errors.Is(lerr, gometric.ErrShape) || !strings.HasPrefix(lerr.Error(), "models.LoadEncoder: ") {
		t.Errorf("forged header: %v", lerr)
	}
	if alloc > 64<<20 {
		t.Errorf("a forged header allocated %d bytes before the refusal", alloc)
	}
}
