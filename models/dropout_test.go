package models

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/fdiff"
	"gorgonia.org/tensor"
)

// quadLossF32 is quadLoss as a LossFunc: L = Σ w·E + ½ΣE².
func quadLossF32(w []float32) LossFunc {
	return func(emb gometric.Matrix) (float32, gometric.Matrix, error) {
		var l float32
		g := gometric.Matrix{Rows: emb.Rows, Cols: emb.Cols, Data: make([]float32, len(emb.Data))}
		for i, v := range emb.Data {
			l += w[i]*v + v*v/2
			g.Data[i] = w[i] + v
		}
		return l, g, nil
	}
}

// mlpRunDigest trains m for steps SGD steps on a fixed batch and returns
// sha256 digests of every number it produced (losses, gradients, input
// gradients, final weights and embeddings) and of its saved weight file.
func mlpRunDigest(t *testing.T, m *MLP, steps int) (run, file string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(21, 22))
	n := 7
	in, e := m.InputShape()[0], m.EmbeddingSize()
	x := gometric.Matrix{Rows: n, Cols: in, Data: randSlice[float32](rng, n*in, 1)}
	loss := quadLossF32(randSlice[float32](rng, n*e, 1))
	opt, err := NewOptimizer("sgd", 0.05)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	put := func(vs ...float32) {
		for _, v := range vs {
			_ = binary.Write(h, binary.LittleEndian, math.Float32bits(v))
		}
	}
	for s := 0; s < steps; s++ {
		var l float32
		if s%2 == 0 {
			l, err = m.TrainStep(x, loss)
		} else {
			var dx gometric.Matrix
			l, dx, err = m.TrainStepInput(x, loss)
			put(dx.Data...)
		}
		if err != nil {
			t.Fatal(err)
		}
		put(l)
		for _, p := range m.Params() {
			_, g := p.Float32s()
			put(g...)
		}
		if err := m.Step(opt); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range m.Params() {
		v, _ := p.Float32s()
		put(v...)
	}
	emb, err := m.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	put(emb.Data...)
	path := filepath.Join(t.TempDir(), "m.gmw")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fh := sha256.Sum256(b)
	return hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(fh[:])
}

func TestMLPDropoutSettings(t *testing.T) {
	tests := []struct {
		p    float64
		want string // "" = valid; else in the error
	}{
		{0, ""},
		{0.5, ""},
		{1e-300, ""},
		{math.Nextafter(1, 0), ""},
		{-0.1, "Dropout -0.1,"},
		{math.Copysign(1e-300, -1), "Dropout -1e-300,"},
		{1, "Dropout 1,"},
		{1.5, "Dropout 1.5,"},
		{math.MaxFloat64, "Dropout 1.7976931348623157e+308,"},
		{math.NaN(), "Dropout NaN,"},
		{math.Inf(1), "Dropout +Inf,"},
		{math.Inf(-1), "Dropout -Inf,"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.p), func(t *testing.T) {
			m, err := NewMLP(MLPConfig{Sizes: []int{4, 3, 2}, Dropout: tc.p})
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := m.Config().Dropout; got != tc.p {
					t.Fatalf("Config().Dropout = %v, want %v", got, tc.p)
				}
				return
			}
			if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "models.") {
				t.Fatalf("err = %v, want ErrSetting naming %q", err, tc.want)
			}
			if m != nil {
				t.Fatal("an MLP with an error")
			}
		})
	}
}

// TestMLPDropoutZeroUnchanged: Dropout 0 is the MLP of before the field,
// number for number and byte for byte. mlpRunDigest gave the same digests
// at the commit before Dropout existed (b1d248e) for MLPConfig{Sizes,
// Seed: 9}; the run digests depend on the GEMM's summation order, so only
// the file of a fresh MLP (initialisation only) is pinned here, and the
// runs are compared with the config written without the field.
func TestMLPDropoutZeroUnchanged(t *testing.T) {
	for _, sizes := range [][]int{{6, 8, 5, 3}, {4, 3}} {
		old, err := NewMLP(MLPConfig{Sizes: sizes, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		zero, err := NewMLP(MLPConfig{Sizes: sizes, Seed: 9, Dropout: 0})
		if err != nil {
			t.Fatal(err)
		}
		if zero.nw.dropout != nil {
			t.Fatal("Dropout 0 made a dropout")
		}
		r1, f1 := mlpRunDigest(t, old, 4)
		r2, f2 := mlpRunDigest(t, zero, 4)
		if r1 != r2 || f1 != f2 {
			t.Fatalf("%v: Dropout 0 differs: run %s/%s file %s/%s", sizes, r1, r2, f1, f2)
		}
	}
	m, err := NewMLP(MLPConfig{Sizes: []int{6, 8, 5, 3}, Seed: 9, Dropout: 0})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gmw")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("ropout")) {
		t.Fatalf("a Dropout 0 file mentions dropout: %q", b[:200])
	}
	fh := sha256.Sum256(b)
	if got, want := hex.EncodeToString(fh[:]), "4e9f7657f0121f1c3ccf0f0a2ca372acea263d4cc911e5385afd6cd0db2684bf"; got != want {
		t.Fatalf("the weight file of a fresh MLP changed: sha256 %s, was %s", got, want)
	}
}

// TestDropoutMaskStatistics runs the ReLU+dropout op on many positive
// values: about p of them are zeroed, the survivors are scaled by exactly
// float32(1)/float32(1−p), the mean (the expectation) is kept, and the
// gradient op masks and scales the same way.
func TestDropoutMaskStatistics(t *testing.T) {
	for _, p := range []float64{0.1, 0.5, 0.9} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			const n, c = 200, 500
			op := newReLUOp[float32](n, c)
			op.withDropout(newDropout(p, 3), 1)
			x := make([]float32, n*c)
			for i := range x {
				x[i] = 1
			}
			out, err := op.Do(tensor.New(tensor.WithShape(n, c), tensor.WithBacking(x)))
			if err != nil {
				t.Fatal(err)
			}
			y := out.Data().([]float32)
			scale := float32(1) / float32(1-p)
			zeros := 0
			var sum float64
			for i, v := range y {
				switch {
				case v == 0:
					zeros++
					if op.keep[i] {
						t.Fatalf("y[%d] = 0 but kept", i)
					}
				case v != scale:
					t.Fatalf("y[%d] = %v, want 0 or %v", i, v, scale)
				case !op.keep[i]:
					t.Fatalf("y[%d] = %v but dropped", i, v)
				}
				sum += float64(v)
			}
			total := float64(n * c)
			sd := math.Sqrt(p * (1 - p) / total)
			if f := float64(zeros) / total; math.Abs(f-p) > 5*sd {
				t.Errorf("zeroed %.4f, want %v ± %.4f", f, p, 5*sd)
			}
			if mean := sum / total; math.Abs(mean-1) > 5*sd/(1-p) {
				t.Errorf("mean %.4f, want 1 (expectation kept)", mean)
			}
			// The gradient: dy·scale where kept, 0 where dropped.
			dy := make([]float32, n*c)
			for i := range dy {
				dy[i] = float32(i%7) - 3
			}
			gop := &reluGradOp[float32]{opBase: newBase("relu.dx"), n: n, c: c, fwd: op}
			dx, err := gop.Do(out, tensor.New(tensor.WithShape(n, c), tensor.WithBacking(dy)))
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range dx.Data().([]float32) {
				want := float32(0)
				if op.keep[i] {
					want = dy[i] * scale
				}
				if g != want {
					t.Fatalf("dx[%d] = %v, want %v", i, g, want)
				}
			}
			// The ReLU still applies: negative inputs stay 0, kept or not.
			for i := range x {
				x[i] = -1
			}
			out, err = op.Do(tensor.New(tensor.WithShape(n, c), tensor.WithBacking(x)))
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range out.Data().([]float32) {
				if v != 0 {
					t.Fatalf("relu+dropout(-1)[%d] = %v", i, v)
				}
			}
		})
	}
}

// dropoutPair returns a batch x (9×6) and a loss weight w drawn from the
// seeds, and two MLPs 6-16-8-3 with the same weights, without dropout and
// with Dropout 0.5.
func dropoutPair(t *testing.T, s1, s2 uint64) (gometric.Matrix, []float32, *MLP, *MLP) {
	t.Helper()
	rng := rand.New(rand.NewPCG(s1, s2))
	x := gometric.Matrix{Rows: 9, Cols: 6, Data: randSlice[float32](rng, 54, 1)}
	w := randSlice[float32](rng, 9*3, 1)
	plain, err := NewMLP(MLPConfig{Sizes: []int{6, 16, 8, 3}, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	drop, err := NewMLP(MLPConfig{Sizes: []int{6, 16, 8, 3}, Seed: 4, Dropout: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	return x, w, plain, drop
}

// TestMLPDropoutEmbedUnaffected: Embed is the network without dropout
// (eval mode) whatever p and however many steps; training draws masks.
func TestMLPDropoutEmbedUnaffected(t *testing.T) {
	x, w, plain, drop := dropoutPair(t, 5, 6)
	want, err := plain.Embed(x)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := plain.TrainStep(x, quadLossF32(w))
	if err != nil {
		t.Fatal(err)
	}
	for step := 0; step < 3; step++ {
		got, err := drop.Embed(x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Data, want.Data) {
			t.Fatalf("step %d: Embed with dropout differs from without", step)
		}
		l, err := drop.TrainStep(x, quadLossF32(w)) // no Step: weights unchanged
		if err != nil {
			t.Fatal(err)
		}
		if l == lp {
			t.Fatalf("step %d: the training loss with dropout 0.5 equals the one without (%v)", step, l)
		}
	}
	if got := drop.nw.dropout.step; got != 3 {
		t.Fatalf("step count %d after 3 steps, want 3", got)
	}
}

// TestDropoutGradientFiniteDifference checks the gradients of a float64
// MLP with dropout against central differences of the training loss with
// the mask held fixed (the step count reset before each evaluation): the
// parameters' and the input's.
func TestDropoutGradientFiniteDifference(t *testing.T) {
	for _, p := range []float64{0.3, 0.7} {
		t.Run(fmt.Sprint(p), func(t *testing.T) {
			nw, err := newMLPNetwork[float64](MLPConfig{Sizes: []int{5, 6, 7, 3}, Seed: 11, Dropout: p})
			if err != nil {
				t.Fatal(err)
			}
			const n = 4
			rng := rand.New(rand.NewPCG(1, 2))
			x := randSlice[float64](rng, n*5, 1)
			loss := quadLoss(randSlice[float64](rng, n*3, 1))
			const step = 17
			nw.dropout.step = step
			_, dx, err := nw.trainStepInput(x, n, loss)
			if err != nil {
				t.Fatal(err)
			}
			got := make([][]float64, len(nw.params))
			for i, p := range nw.params {
				got[i] = slices.Clone(p.grad.Data().([]float64))
			}
			f := func() float64 {
				nw.dropout.step = step
				l, err := nw.trainStep(x, n, loss)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			fd := func(v []float64) []float64 {
				want := make([]float64, len(v))
				const h = 1e-6
				for i := range v {
					old := v[i]
					v[i] = old + h
					fp := f()
					v[i] = old - h
					fm := f()
					v[i] = old
					want[i] = (fp - fm) / (2 * h)
				}
				return want
			}
			for i, p := range nw.params {
				want := fd(p.value.Data().([]float64))
				if err := fdiff.CompareSlices(got[i], want, 1e-5, 1e-7); err != nil {
					t.Errorf("%s: %v", p.name, err)
				}
			}
			if err := fdiff.CompareSlices(dx, fd(x), 1e-5, 1e-7); err != nil {
				t.Errorf("input: %v", err)
			}
			// The mask is not trivial: some activations dropped, some kept.
			var kept, dropped, ops int
			gr := nw.graphs[graphKey{n, true, false, false}]
			for _, nd := range gr.g.AllNodes() {
				if op, ok := nd.Op().(*reluOp[float64]); ok {
					ops++
					if op.drop == nil {
						t.Fatal("a training ReLU without dropout")
					}
					for _, k := range op.keep {
						if k {
							kept++
						} else {
							dropped++
						}
					}
				}
			}
			if ops != 2 || kept == 0 || dropped == 0 {
				t.Fatalf("%d dropout ops, kept %d, dropped %d", ops, kept, dropped)
			}
		})
	}
}

// TestMLPDropoutReproducible: the same Seed gives the same masks and
// training; another Seed, or another step, other masks; a failed step
// does not advance the count.
func TestMLPDropoutReproducible(t *testing.T) {
	cfg := MLPConfig{Sizes: []int{6, 12, 9, 3}, Seed: 9, Dropout: 0.4}
	a, err := NewMLP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewMLP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ra, fa := mlpRunDigest(t, a, 5)
	rb, fb := mlpRunDigest(t, b, 5)
	if ra != rb || fa != fb {
		t.Fatal("the same Seed trained differently")
	}
	// Another seed for the masks only: the same weights, other losses.
	cfg.Seed = 10
	c, err := NewMLP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range c.Params() {
		v, _ := p.Float32s()
		src, _ := a.Params()[i].Float32s()
		copy(v, src)
	}
	a.nw.dropout.step = 0
	rng := rand.New(rand.NewPCG(1, 1))
	x := gometric.Matrix{Rows: 8, Cols: 6, Data: randSlice[float32](rng, 48, 1)}
	loss := quadLossF32(randSlice[float32](rng, 24, 1))
	la, err := a.TrainStep(x, loss)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := c.TrainStep(x, loss)
	if err != nil {
		t.Fatal(err)
	}
	la2, err := a.TrainStep(x, loss)
	if err != nil {
		t.Fatal(err)
	}
	if la == lc || la == la2 {
		t.Fatalf("losses %v (seed 9, step 0), %v (seed 10), %v (seed 9, step 1): masks repeat", la, lc, la2)
	}
	a.nw.dropout.step = 0
	bad := func(gometric.Matrix) (float32, gometric.Matrix, error) {
		return 0, gometric.Matrix{}, gometric.ErrShape
	}
	if _, err := a.TrainStep(x, bad); err == nil {
		t.Fatal("no error")
	}
	if _, _, err := a.TrainStepInput(x, bad); err == nil {
		t.Fatal("no error")
	}
	if l, err := a.TrainStep(x, loss); err != nil || l != la {
		t.Fatalf("after failed steps: loss %v, %v; want %v", l, err, la)
	}
}

// TestMLPDropoutResume: a run saved after some steps and resumed from the
// file (Load into a new MLP, or LoadEncoder) continues with the masks,
// and so the numbers, of an uninterrupted run.
func TestMLPDropoutResume(t *testing.T) {
	cfg := MLPConfig{Sizes: []int{6, 10, 8, 3}, Seed: 2, Dropout: 0.3}
	rng := rand.New(rand.NewPCG(7, 8))
	x := gometric.Matrix{Rows: 5, Cols: 6, Data: randSlice[float32](rng, 30, 1)}
	loss := quadLossF32(randSlice[float32](rng, 15, 1))
	train := func(m *MLP, steps int, losses *[]float32) {
		t.Helper()
		opt, err := NewOptimizer("sgd", 0.1)
		if err != nil {
			t.Fatal(err)
		}
		for s := 0; s < steps; s++ {
			l, err := m.TrainStep(x, loss)
			if err != nil {
				t.Fatal(err)
			}
			*losses = append(*losses, l)
			if err := m.Step(opt); err != nil {
				t.Fatal(err)
			}
		}
	}
	weights := func(m *MLP) (out []float32) {
		for _, p := range m.Params() {
			v, _ := p.Float32s()
			out = append(out, v...)
		}
		return out
	}
	ref, err := NewMLP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var want []float32
	train(ref, 6, &want)

	first, err := NewMLP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var head []float32
	train(first, 3, &head)
	path := filepath.Join(t.TempDir(), "ck.gmw")
	if err := first.Save(path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"dropout_steps":3`)) || !bytes.Contains(b, []byte(`"Dropout":0.3`)) {
		t.Fatalf("header without the dropout and its step count: %q", b[:200])
	}
	resumes := []struct {
		name   string
		resume func() *MLP
	}{
		{"Load", func() *MLP {
			m, err := NewMLP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var scratch []float32
			train(m, 2, &scratch) // a count to be overwritten
			if err := m.Load(path); err != nil {
				t.Fatal(err)
			}
			return m
		}},
		{"LoadEncoder", func() *MLP {
			enc, err := LoadEncoder(path)
			if err != nil {
				t.Fatal(err)
			}
			m := enc.(*MLP)
			if m.Config().Dropout != 0.3 {
				t.Fatalf("LoadEncoder: Dropout %v", m.Config().Dropout)
			}
			return m
		}},
	}
	for _, tc := range resumes {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.resume()
			got := slices.Clone(head)
			train(m, 3, &got)
			if !slices.Equal(got, want) {
				t.Fatalf("losses %v, uninterrupted %v", got, want)
			}
			if !slices.Equal(weights(m), weights(ref)) {
				t.Fatal("weights differ from the uninterrupted run's")
			}
		})
	}
	// Without the step count the masks would repeat: the test can fail.
	m, err := NewMLP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Load(path); err != nil {
		t.Fatal(err)
	}
	m.nw.dropout.step = 0
	got := slices.Clone(head)
	train(m, 3, &got)
	if slices.Equal(got, want) {
		t.Fatal("the step count makes no difference: the test proves nothing")
	}
}

// TestMLPDropoutWeightFile: the config round-trips; files without the
// field (every earlier file) load with Dropout 0 and step 0; a step count
// where no dropout can use it, and a bad Dropout, are refused.
func TestMLPDropoutWeightFile(t *testing.T) {
	dir := t.TempDir()
	withDrop, err := NewMLP(MLPConfig{Sizes: []int{4, 5, 2}, Seed: 1, Dropout: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	dropPath := filepath.Join(dir, "drop.gmw")
	if err := withDrop.Save(dropPath); err != nil {
		t.Fatal(err)
	}
	enc, err := LoadEncoder(dropPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := enc.(*MLP).Config(); got.Dropout != 0.25 || got.Seed != 1 || !slices.Equal(got.Sizes, []int{4, 5, 2}) {
		t.Fatalf("round trip: %+v", got)
	}
	// An old file: no "Dropout", no "dropout_steps".
	oldPath := filepath.Join(dir, "old.gmw")
	old, err := NewMLP(MLPConfig{Sizes: []int{4, 5, 2}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Save(oldPath); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"config":{"Sizes":[4,5,2],"Seed":1},"params"`)) || bytes.Contains(b, []byte("ropout")) {
		t.Fatalf("not the earlier format: %q", b[:120])
	}
	enc, err = LoadEncoder(oldPath)
	if err != nil {
		t.Fatal(err)
	}
	if got := enc.(*MLP).Config(); got.Dropout != 0 || enc.(*MLP).nw.dropout != nil {
		t.Fatalf("old file: %+v", got)
	}
	withDrop.nw.dropout.step = 40
	if err := withDrop.Load(oldPath); err != nil {
		t.Fatal(err)
	}
	if withDrop.Config().Dropout != 0.25 || withDrop.nw.dropout.step != 0 {
		t.Fatalf("Load of an old file: Dropout %v, step %d", withDrop.Config().Dropout, withDrop.nw.dropout.step)
	}
	if err := old.Load(dropPath); err != nil { // another Dropout: accepted
		t.Fatal(err)
	}

	craft := func(name, kind, config string, steps uint64, specs []paramSpec) string {
		h := fileHeader{Kind: kind, Config: json.RawMessage(config), DropoutSteps: steps}
		var vals [][]float32
		for _, s := range specs {
			h.Params = append(h.Params, fileParam{Name: s.name, Shape: s.shape})
			vals = append(vals, make([]float32, shapeLen(s.shape)))
		}
		p := filepath.Join(dir, name)
		if err := writeWeights("test", p, h, vals); err != nil {
			t.Fatal(err)
		}
		return p
	}
	mlpSpec, err := mlpSpecs(MLPConfig{Sizes: []int{4, 5, 2}})
	if err != nil {
		t.Fatal(err)
	}
	convCfg := ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{2}, Embedding: 2}
	convSpec, _, err := convSpecs(convCfg)
	if err != nil {
		t.Fatal(err)
	}
	convJSON, err := json.Marshal(convCfg)
	if err != nil {
		t.Fatal(err)
	}
	conv, err := NewConvNet(convCfg)
	if err != nil {
		t.Fatal(err)
	}
	loadEncoder := func(p string) error { _, err := LoadEncoder(p); return err }
	cases := []struct {
		name string
		load func(path string) error
		path string
	}{
		{"MLP without dropout, LoadEncoder", loadEncoder, craft("a.gmw", "MLP", `{"Sizes":[4,5,2],"Seed":1}`, 5, mlpSpec)},
		{"ConvNet, LoadEncoder", loadEncoder, craft("b.gmw", "ConvNet", string(convJSON), 5, convSpec)},
		{"ConvNet, Load", conv.Load, craft("c.gmw", "ConvNet", string(convJSON), 5, convSpec)},
		{"Dropout 1", loadEncoder, craft("d.gmw", "MLP", `{"Sizes":[4,5,2],"Seed":1,"Dropout":1}`, 0, mlpSpec)},
		{"Dropout -0.5", loadEncoder, craft("e.gmw", "MLP", `{"Sizes":[4,5,2],"Seed":1,"Dropout":-0.5}`, 0, mlpSpec)},
		{"Dropout 1e400", loadEncoder, craft("f.gmw", "MLP", `{"Sizes":[4,5,2],"Seed":1,"Dropout":1e400}`, 0, mlpSpec)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.load(tc.path)
			if !errors.Is(err, gometric.ErrShape) || !errors.Is(err, ErrWeightFile) {
				t.Fatalf("err = %v, want ErrShape and ErrWeightFile", err)
			}
		})
	}
	// A negative or fractional count is not a uint64: the header is refused.
	for _, s := range []string{"-1", "1.5", "18446744073709551616"} {
		var h fileHeader
		if err := json.Unmarshal([]byte(`{"kind":"MLP","dropout_steps":`+s+`}`), &h); err == nil {
			t.Errorf("dropout_steps %s decoded", s)
		}
	}
}

// TestMLPDropoutAllocations: dropout adds no allocation to a training
// step (its mask is kept by the graph, the masking done in the ReLU's
// output).
func TestMLPDropoutAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts; CI runs this without -race")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	x := gometric.Matrix{Rows: 16, Cols: 32, Data: randSlice[float32](rng, 16*32, 1)}
	loss := quadLossF32(randSlice[float32](rng, 16*8, 1))
	allocs := func(p float64) float64 {
		m, err := NewMLP(MLPConfig{Sizes: []int{32, 64, 64, 8}, Seed: 1, Dropout: p})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.TrainStep(x, loss); err != nil { // builds the graph
			t.Fatal(err)
		}
		return testing.AllocsPerRun(20, func() {
			if _, err := m.TrainStep(x, loss); err != nil {
				t.Fatal(err)
			}
		})
	}
	if without, with := allocs(0), allocs(0.5); with > without {
		t.Fatalf("%v allocations per step with dropout, %v without", with, without)
	}
}

// TestMLPEvalMode: in eval mode (torch's model.eval(), what PML's trainers
// do to a frozen embedder) the training step has no dropout: its loss, its
// parameter gradients and its input gradient are those of the same MLP
// without dropout, and no mask is drawn; back in train mode the masks go
// on from where they were.
func TestMLPEvalMode(t *testing.T) {
	x, w, plain, drop := dropoutPair(t, 7, 8)
	lp, dxp, err := plain.TrainStepInput(x, quadLossF32(w))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drop.TrainStep(x, quadLossF32(w)); err != nil { // one mask drawn
		t.Fatal(err)
	}
	if err := drop.SetEvalMode(true); err != nil {
		t.Fatal(err)
	}
	if !drop.EvalMode() || plain.EvalMode() {
		t.Fatalf("EvalMode() = %v, %v, want true, false", drop.EvalMode(), plain.EvalMode())
	}
	for range 2 {
		l, dx, err := drop.TrainStepInput(x, quadLossF32(w))
		if err != nil {
			t.Fatal(err)
		}
		if l != lp || !slices.Equal(dx.Data, dxp.Data) {
			t.Fatalf("eval mode: loss %v and input gradient differ from the MLP without dropout (%v)", l, lp)
		}
		for i, p := range drop.Params() {
			if !slices.Equal(p.grad.Data().([]float32), plain.Params()[i].grad.Data().([]float32)) {
				t.Fatalf("eval mode: the gradient of %s differs from the MLP without dropout", p.Name())
			}
		}
	}
	if got := drop.nw.dropout.step; got != 1 {
		t.Fatalf("step count %d after one train-mode and two eval-mode steps, want 1", got)
	}
	if err := drop.SetEvalMode(false); err != nil {
		t.Fatal(err)
	}
	if l, err := drop.TrainStep(x, quadLossF32(w)); err != nil || l == lp {
		t.Fatalf("train mode again: loss %v (without dropout %v), err %v", l, lp, err)
	}
	var zero MLP
	if zero.SetEvalMode(true) == nil || zero.EvalMode() {
		t.Fatal("the zero MLP accepted SetEvalMode or reports eval mode")
	}
}
