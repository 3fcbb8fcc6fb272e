package models

import (
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// randTensor returns a batch of shape[0] random samples of shape
// shape[1:], one flattened sample per row.
func randTensor(seed uint64, shape ...int) gometric.Matrix {
	rng := rand.New(rand.NewPCG(seed, 99))
	per := 1
	for _, d := range shape[1:] {
		per *= d
	}
	return testkit.NormalMatrix(rng, shape[0], per)
}

func sumSquares(emb gometric.Matrix) (float32, gometric.Matrix, error) {
	var l float32
	g := gometric.Matrix{Rows: emb.Rows, Cols: emb.Cols, Data: make([]float32, len(emb.Data))}
	for i, v := range emb.Data {
		l += v * v / 2
		g.Data[i] = v
	}
	return l, g, nil
}

func TestShapes(t *testing.T) {
	type pshape struct {
		name  string
		shape []int
	}
	tests := []struct {
		name   string
		enc    func() (Encoder, error)
		input  []int
		emb    int
		params []pshape
	}{
		{"reference", func() (Encoder, error) { return NewConvNet(ReferenceConvNetConfig(0)) },
			[]int{1, 28, 28}, 64, []pshape{
				{"conv1.weight", []int{16, 1, 3, 3}}, {"conv1.bias", []int{16}},
				{"conv2.weight", []int{32, 16, 3, 3}}, {"conv2.bias", []int{32}},
				{"fc.weight", []int{64, 1568}}, {"fc.bias", []int{64}}}},
		{"rgb odd", func() (Encoder, error) {
			return NewConvNet(ConvNetConfig{Channels: 3, Height: 9, Width: 7, Blocks: []int{4}, Embedding: 5})
		}, []int{3, 9, 7}, 5, []pshape{
			{"conv1.weight", []int{4, 3, 3, 3}}, {"conv1.bias", []int{4}},
			{"fc.weight", []int{5, 4 * 4 * 3}}, {"fc.bias", []int{5}}}},
		{"mlp", func() (Encoder, error) { return NewMLP(MLPConfig{Sizes: []int{10, 8, 3}}) },
			[]int{10}, 3, []pshape{
				{"fc1.weight", []int{8, 10}}, {"fc1.bias", []int{8}},
				{"fc2.weight", []int{3, 8}}, {"fc2.bias", []int{3}}}},
		{"linear", func() (Encoder, error) { return NewMLP(MLPConfig{Sizes: []int{4, 1}}) },
			[]int{4}, 1, []pshape{{"fc1.weight", []int{1, 4}}, {"fc1.bias", []int{1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := tc.enc()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(enc.InputShape(), tc.input) || enc.EmbeddingSize() != tc.emb {
				t.Fatalf("input %v, embedding %d; want %v, %d", enc.InputShape(), enc.EmbeddingSize(), tc.input, tc.emb)
			}
			ps := enc.Params()
			if len(ps) != len(tc.params) {
				t.Fatalf("%d params, want %d", len(ps), len(tc.params))
			}
			for i, p := range ps {
				if p.Name() != tc.params[i].name || !slices.Equal(p.Shape(), tc.params[i].shape) {
					t.Errorf("param %d: %s %v, want %s %v", i, p.Name(), p.Shape(), tc.params[i].name, tc.params[i].shape)
				}
				v, g := p.Float32s()
				if len(v) != p.Len() || len(g) != p.Len() {
					t.Errorf("%s: %d values, %d grads, want %d", p.Name(), len(v), len(g), p.Len())
				}
			}
			for _, n := range []int{1, 3} {
				x := randTensor(1, append([]int{n}, tc.input...)...)
				e, err := enc.Embed(x)
				if err != nil {
					t.Fatal(err)
				}
				if e.Rows != n || e.Cols != tc.emb || len(e.Data) != n*tc.emb || len(e.Row(n-1)) != tc.emb {
					t.Fatalf("n=%d: embeddings %d×%d with %d values", n, e.Rows, e.Cols, len(e.Data))
				}
				if _, err := enc.TrainStep(x, sumSquares); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestInitialisation checks torch's bounds U(−1/√fan_in, 1/√fan_in) and
// that the draws fill them.
func TestInitialisation(t *testing.T) {
	m, err := NewConvNet(ReferenceConvNetConfig(0))
	if err != nil {
		t.Fatal(err)
	}
	fans := map[string]int{"conv1": 9, "conv2": 16 * 9, "fc": 1568}
	for _, p := range m.Params() {
		bound := 1 / math.Sqrt(float64(fans[strings.Split(p.Name(), ".")[0]]))
		v, _ := p.Float32s()
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, x := range v {
			lo, hi = math.Min(lo, float64(x)), math.Max(hi, float64(x))
		}
		if lo < -bound || hi > bound || (len(v) > 100 && (lo > -0.9*bound || hi < 0.9*bound)) {
			t.Errorf("%s: values in [%v, %v], want U(±%v)", p.Name(), lo, hi, bound)
		}
	}
}

func TestSeedDeterminism(t *testing.T) {
	embed := func(seed uint64) ([]float32, [][]float32) {
		m, err := NewConvNet(ConvNetConfig{Channels: 2, Height: 8, Width: 8, Blocks: []int{3, 4}, Embedding: 6, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		var ws [][]float32
		for _, p := range m.Params() {
			v, _ := p.Float32s()
			ws = append(ws, slices.Clone(v))
		}
		e, err := m.Embed(randTensor(5, 4, 2, 8, 8))
		if err != nil {
			t.Fatal(err)
		}
		return e.Data, ws
	}
	e1, w1 := embed(42)
	e2, w2 := embed(42)
	e3, w3 := embed(43)
	if !slices.Equal(e1, e2) || !slices.EqualFunc(w1, w2, slices.Equal) {
		t.Fatal("same seed, different weights or embeddings")
	}
	if slices.Equal(e1, e3) || slices.Equal(w1[0], w3[0]) {
		t.Fatal("different seeds, same weights")
	}
}

// TestTrainStepSetsGradients checks that gradients are set, not
// accumulated: two steps on one batch give the same gradients, and a
// different batch gives its own.
func TestTrainStepSetsGradients(t *testing.T) {
	m, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 6, Width: 6, Blocks: []int{2}, Embedding: 3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	grads := func() [][]float32 {
		var out [][]float32
		for _, p := range m.Params() {
			_, g := p.Float32s()
			out = append(out, slices.Clone(g))
		}
		return out
	}
	a, b := randTensor(1, 3, 1, 6, 6), randTensor(2, 3, 1, 6, 6)
	la1, err := m.TrainStep(a, sumSquares)
	if err != nil {
		t.Fatal(err)
	}
	ga1 := grads()
	if _, err := m.TrainStep(b, sumSquares); err != nil {
		t.Fatal(err)
	}
	gb := grads()
	la2, err := m.TrainStep(a, sumSquares)
	if err != nil {
		t.Fatal(err)
	}
	ga2 := grads()
	if la1 != la2 || !slices.EqualFunc(ga1, ga2, slices.Equal) {
		t.Fatal("the same batch twice gave different losses or gradients")
	}
	if slices.EqualFunc(ga1, gb, slices.Equal) {
		t.Fatal("different batches gave the same gradients")
	}
	// The loss TrainStep returns is the loss of Embed's embeddings.
	e, err := m.Embed(a)
	if err != nil {
		t.Fatal(err)
	}
	if l, _, _ := sumSquares(e); l != la1 {
		t.Fatalf("TrainStep loss %v, loss of Embed %v", la1, l)
	}
	m.ZeroGrad()
	for _, g := range grads() {
		if slices.ContainsFunc(g, func(v float32) bool { return v != 0 }) {
			t.Fatal("ZeroGrad left a gradient")
		}
	}
	// The parameters are inputs of the graph: running it must not change
	// them.
	before := [][]float32{}
	for _, p := range m.Params() {
		v, _ := p.Float32s()
		before = append(before, slices.Clone(v))
	}
	if _, err := m.TrainStep(a, sumSquares); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		v, _ := p.Float32s()
		if !slices.Equal(v, before[i]) || !slices.Equal(p.value.Shape(), p.shape) {
			t.Fatalf("%s changed while training without a step", p.Name())
		}
	}
}

// TestGraphsShareWeights checks that graphs of different batch sizes (and
// Embed's chunks) use the same weights, before and after a step, and that
// evicted graphs are rebuilt correctly.
func TestGraphsShareWeights(t *testing.T) {
	m, err := NewMLP(MLPConfig{Sizes: []int{3, 4, 2}, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	n := embedChunk + 7
	x := randTensor(3, n, 3)
	check := func(stage string) {
		all, err := m.Embed(x)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{1, 2, 5, 6, 7, 8} { // more sizes than the cache holds
			part, err := m.Embed(gometric.Matrix{Rows: k, Cols: 3, Data: x.Data[3*(n-k):]})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(part.Data, all.Data[2*(n-k):]) {
				t.Fatalf("%s: batch of %d rows differs from the same rows of a batch of %d", stage, k, n)
			}
		}
	}
	check("initial")
	opt, err := NewOptimizer("sgd", 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.TrainStep(gometric.Matrix{Rows: 2, Cols: 3, Data: x.Data[:6]}, sumSquares); err != nil {
		t.Fatal(err)
	}
	before, _ := m.Embed(x)
	if err := m.Step(opt); err != nil {
		t.Fatal(err)
	}
	after, _ := m.Embed(x)
	if slices.Equal(before.Data, after.Data) {
		t.Fatal("a step did not change the embeddings")
	}
	check("after a step")
	if got := len(m.nw.graphs); got > 2*maxCachedGraphs {
		t.Fatalf("%d cached graphs", got)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"no blocks", func() error {
			_, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 8, Width: 8, Embedding: 2})
			return err
		}()},
		{"zero channels", func() error {
			_, err := NewConvNet(ConvNetConfig{Height: 8, Width: 8, Blocks: []int{2}, Embedding: 2})
			return err
		}()},
		{"negative block", func() error {
			_, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 8, Width: 8, Blocks: []int{-2}, Embedding: 2})
			return err
		}()},
		{"too small", func() error {
			_, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 3, Width: 8, Blocks: []int{2, 2}, Embedding: 2})
			return err
		}()},
		{"huge", func() error {
			_, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 1 << 20, Width: 8, Blocks: []int{2}, Embedding: 2})
			return err
		}()},
		{"huge dense", func() error {
			_, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 1 << 15, Width: 1 << 15, Blocks: []int{8}, Embedding: 64})
			return err
		}()},
		{"no embedding", func() error {
			_, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 8, Width: 8, Blocks: []int{2}})
			return err
		}()},
		{"mlp one size", func() error { _, err := NewMLP(MLPConfig{Sizes: []int{4}}); return err }()},
		{"mlp zero size", func() error { _, err := NewMLP(MLPConfig{Sizes: []int{4, 0, 2}}); return err }()},
		{"mlp huge", func() error { _, err := NewMLP(MLPConfig{Sizes: []int{1 << 16, 1 << 16}}); return err }()},
		// Each layer within its limit, the network above 2^28 values.
		{"mlp huge in all", func() error {
			_, err := NewMLP(MLPConfig{Sizes: []int{1 << 14, 1 << 14, 1 << 14, 1 << 14}})
			return err
		}()},
		{"huge convolution", func() error {
			_, err := NewConvNet(ConvNetConfig{Channels: 1 << 16, Height: 2, Width: 2, Blocks: []int{1 << 16}, Embedding: 2})
			return err
		}()},
		{"max sizes", func() error {
			_, err := NewConvNet(ConvNetConfig{Channels: 1 << 16, Height: 1 << 16, Width: 1 << 16, Blocks: []int{1 << 16}, Embedding: 1 << 16})
			return err
		}()},
		{"negative sizes", func() error { _, err := NewMLP(MLPConfig{Sizes: []int{-1, 2}}); return err }()},
		{"min int", func() error { _, err := NewMLP(MLPConfig{Sizes: []int{math.MinInt, math.MaxInt}}); return err }()},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, gometric.ErrSetting) || !strings.HasPrefix(tc.err.Error(), "models.") {
			t.Errorf("%s: %v, want a models error wrapping ErrSetting", tc.name, tc.err)
		}
	}
}

func TestInputErrors(t *testing.T) {
	m, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{2}, Embedding: 2})
	if err != nil {
		t.Fatal(err)
	}
	good := randTensor(1, 2, 1, 4, 4)
	nan := randTensor(1, 2, 1, 4, 4)
	nan.Data[20] = float32(math.NaN())
	tests := []struct {
		name     string
		x        gometric.Matrix
		sentinel error
	}{
		{"no shape", gometric.Matrix{Data: good.Data}, gometric.ErrShape},
		{"wrong width", gometric.Matrix{Rows: 1, Cols: 32, Data: good.Data}, gometric.ErrShape},
		{"wrong size", gometric.Matrix{Rows: 2, Cols: 20, Data: good.Data}, gometric.ErrShape},
		{"zero samples", gometric.Matrix{Rows: 0, Cols: 16}, gometric.ErrShape},
		{"negative samples", gometric.Matrix{Rows: -2, Cols: 16, Data: good.Data}, gometric.ErrShape},
		{"short data", gometric.Matrix{Rows: 3, Cols: 16, Data: good.Data}, gometric.ErrShape},
		{"long data", gometric.Matrix{Rows: 1, Cols: 16, Data: good.Data}, gometric.ErrShape},
		{"huge n", gometric.Matrix{Rows: math.MaxInt / 8, Cols: 16, Data: good.Data}, gometric.ErrShape},
		{"nan", nan, gometric.ErrNonFinite},
	}
	for _, tc := range tests {
		_, err := m.Embed(tc.x)
		if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "models.ConvNet.Embed: ") {
			t.Errorf("%s: Embed: %v, want %v", tc.name, err, tc.sentinel)
		}
		_, err = m.TrainStep(tc.x, sumSquares)
		if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "models.ConvNet.TrainStep: ") {
			t.Errorf("%s: TrainStep: %v, want %v", tc.name, err, tc.sentinel)
		}
	}
	if err := m.Step(nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Step(nil): %v", err)
	}
	if _, err := m.TrainStep(good, nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil loss: %v", err)
	}
	// Bad loss functions: the error comes back, the gradients are 0.
	errLoss := errors.New("loss failed")
	losses := []struct {
		name     string
		fn       LossFunc
		sentinel error
	}{
		{"error", func(gometric.Matrix) (float32, gometric.Matrix, error) { return 0, gometric.Matrix{}, errLoss }, errLoss},
		{"short grad", func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			return 1, gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data)-1)}, nil
		}, gometric.ErrShape},
		{"one-row grad", func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			return 1, gometric.Matrix{Rows: 1, Cols: len(e.Data), Data: make([]float32, len(e.Data))}, nil
		}, gometric.ErrShape},
		{"nan grad", func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			g := gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}
			g.Data[3] = float32(math.Inf(1))
			return 1, g, nil
		}, gometric.ErrNonFinite},
		{"nan loss", func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			return float32(math.NaN()), gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}, nil
		}, gometric.ErrNonFinite},
	}
	for _, tc := range losses {
		if _, err := m.TrainStep(good, sumSquares); err != nil { // non-zero gradients first
			t.Fatal(err)
		}
		_, err := m.TrainStep(good, tc.fn)
		if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "models.ConvNet.TrainStep: ") {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.sentinel)
		}
		for _, p := range m.Params() {
			if _, g := p.Float32s(); slices.ContainsFunc(g, func(v float32) bool { return v != 0 }) {
				t.Errorf("%s: %s has a gradient after a failed step", tc.name, p.Name())
			}
		}
	}
	// A panicking loss function panics in the caller's goroutine.
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the loss function's panic", r)
			}
		}()
		_, _ = m.TrainStep(good, func(gometric.Matrix) (float32, gometric.Matrix, error) { panic("boom") })
	}()
	// The encoder still works after failures.
	if _, err := m.TrainStep(good, sumSquares); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentUse runs Embed and TrainStep from several goroutines (the
// encoder serialises them; run with -race).
func TestConcurrentUse(t *testing.T) {
	m, err := NewMLP(MLPConfig{Sizes: []int{4, 3}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(1, 5, 4)
	want, err := m.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	// Four goroutines embed while four others train.
	testkit.Concurrently(t, 8, 1, func(g int) error {
		if g%2 == 1 {
			_, err := m.TrainStep(x, sumSquares)
			return err
		}
		e, err := m.Embed(x)
		if err == nil && !slices.Equal(e.Data, want.Data) {
			err = errors.New("different embeddings")
		}
		return err
	})
}

// TestSameResultAnyProcs checks that embeddings and gradients do not depend
// on GOMAXPROCS (the kernels split work in fixed, disjoint pieces).
func TestSameResultAnyProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	x := randTensor(3, 8, 1, 28, 28)
	run := func(procs int) ([]float32, [][]float32) {
		runtime.GOMAXPROCS(procs)
		m, err := NewConvNet(ReferenceConvNetConfig(3))
		if err != nil {
			t.Fatal(err)
		}
		e, err := m.Embed(x)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.TrainStep(x, sumSquares); err != nil {
			t.Fatal(err)
		}
		var gs [][]float32
		for _, p := range m.Params() {
			_, g := p.Float32s()
			gs = append(gs, slices.Clone(g))
		}
		return e.Data, gs
	}
	e1, g1 := run(1)
	e4, g4 := run(4)
	if !slices.Equal(e1, e4) || !slices.EqualFunc(g1, g4, slices.Equal) {
		t.Fatal("results depend on GOMAXPROCS")
	}
}

// TestBLASSwitch checks that both BLAS give the same embeddings up to
// rounding and that BLASName follows the switch.
func TestBLASSwitch(t *testing.T) {
	defer UseFastBLAS()
	m, err := NewConvNet(ConvNetConfig{Channels: 2, Height: 10, Width: 10, Blocks: []int{8, 8}, Embedding: 16, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(4, 5, 2, 10, 10)
	UseGonumBLAS()
	if BLASName() != "gonum" {
		t.Fatalf("BLASName() = %q after UseGonumBLAS", BLASName())
	}
	slow, err := m.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	UseFastBLAS()
	if !strings.HasPrefix(BLASName(), "gemm (") {
		t.Fatalf("BLASName() = %q after UseFastBLAS", BLASName())
	}
	fast, err := m.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	for i := range fast.Data {
		if d := math.Abs(float64(fast.Data[i] - slow.Data[i])); d > 1e-5*(1+math.Abs(float64(slow.Data[i]))) {
			t.Fatalf("embedding %d: %v with gemm, %v with gonum", i, fast.Data[i], slow.Data[i])
		}
	}
}
