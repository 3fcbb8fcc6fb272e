package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/fdiff"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// quadLoss is L = Σ w·E + ½ΣE², smooth with gradient w + E.
func quadLoss[T float](w []T) lossFn[T] {
	return func(emb []T, n, e int) (T, []T, error) {
		var l T
		g := make([]T, len(emb))
		for i, v := range emb {
			l += w[i]*v + v*v/2
			g[i] = w[i] + v
		}
		return l, g, nil
	}
}

func randSlice[T float](rng *rand.Rand, n int, scale float64) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = T(scale * rng.NormFloat64())
	}
	return out
}

// TestGradientFiniteDifference checks every parameter gradient of float64
// networks (conv, bias+ReLU, max-pool, flatten, dense; MLP dense+ReLU)
// against central finite differences of the loss computed through the
// inference graph.
func TestGradientFiniteDifference(t *testing.T) {
	tests := []struct {
		name string
		nw   func() (*network[float64], error)
		n    int
	}{
		{"ConvNet", func() (*network[float64], error) {
			// Odd width: the pools drop a column, as torch's floor mode.
			return newConvNetwork[float64](ConvNetConfig{Channels: 2, Height: 6, Width: 5, Blocks: []int{3, 4}, Embedding: 3, Seed: 7})
		}, 3},
		{"ConvNet1", func() (*network[float64], error) {
			return newConvNetwork[float64](ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{2}, Embedding: 2, Seed: 3})
		}, 1},
		{"MLP", func() (*network[float64], error) {
			return newMLPNetwork[float64](MLPConfig{Sizes: []int{5, 4, 6, 3}, Seed: 11})
		}, 4},
		{"Linear", func() (*network[float64], error) {
			return newMLPNetwork[float64](MLPConfig{Sizes: []int{3, 2}, Seed: 2})
		}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nw, err := tc.nw()
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			per := 1
			for _, d := range nw.input {
				per *= d
			}
			x := randSlice[float64](rng, tc.n*per, 1)
			w := randSlice[float64](rng, tc.n*nw.embedding, 1)
			loss := quadLoss(w)
			if _, err := nw.trainStep(x, tc.n, loss); err != nil {
				t.Fatal(err)
			}
			f := func() float64 {
				emb, err := nw.embed(x, tc.n)
				if err != nil {
					t.Fatal(err)
				}
				l, _, _ := loss(emb, tc.n, nw.embedding)
				return l
			}
			for _, p := range nw.params {
				v := p.value.Data().([]float64)
				got := p.grad.Data().([]float64)
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
				if err := fdiff.CompareSlices(got, want, 1e-5, 1e-7); err != nil {
					t.Errorf("%s: %v", p.name, err)
				}
				var norm float64
				for _, g := range got {
					norm += g * g
				}
				if norm == 0 {
					t.Errorf("%s: zero gradient", p.name)
				}
			}
		})
	}
}

// TestFloat32MatchesFloat64 ties the float32 encoders to the float64
// networks of the finite-difference test: same seed, same embeddings and
// gradients up to float32 rounding.
func TestFloat32MatchesFloat64(t *testing.T) {
	cfg := ConvNetConfig{Channels: 1, Height: 12, Width: 10, Blocks: []int{4, 6}, Embedding: 5, Seed: 5}
	n32, err := newConvNetwork[float32](cfg)
	if err != nil {
		t.Fatal(err)
	}
	n64, err := newConvNetwork[float64](cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Make the weights equal exactly (float64 init rounds differently).
	for i, p := range n32.params {
		v64 := n64.params[i].value.Data().([]float64)
		for j, v := range p.value.Data().([]float32) {
			v64[j] = float64(v)
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := 6
	x32 := randSlice[float32](rng, n*120, 1)
	w32 := randSlice[float32](rng, n*5, 1)
	x64, w64 := make([]float64, len(x32)), make([]float64, len(w32))
	for i, v := range x32 {
		x64[i] = float64(v)
	}
	for i, v := range w32 {
		w64[i] = float64(v)
	}
	e32, err := n32.embed(x32, n)
	if err != nil {
		t.Fatal(err)
	}
	e64, err := n64.embed(x64, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := range e32 {
		if math.Abs(float64(e32[i])-e64[i]) > 1e-5+1e-4*math.Abs(e64[i]) {
			t.Fatalf("embedding %d: float32 %v, float64 %v", i, e32[i], e64[i])
		}
	}
	if _, err := n32.trainStep(x32, n, quadLoss(w32)); err != nil {
		t.Fatal(err)
	}
	if _, err := n64.trainStep(x64, n, quadLoss(w64)); err != nil {
		t.Fatal(err)
	}
	for i, p := range n32.params {
		g64 := n64.params[i].grad.Data().([]float64)
		var scale float64
		for _, v := range g64 {
			scale = math.Max(scale, math.Abs(v))
		}
		for j, v := range p.grad.Data().([]float32) {
			if math.Abs(float64(v)-g64[j]) > 1e-4*scale {
				t.Fatalf("%s[%d]: float32 gradient %v, float64 %v", p.name, j, v, g64[j])
			}
		}
	}
}

// TestLossOpDoDiff runs the loss op in Gorgonia's Lisp machine, which uses
// DoDiff instead of SymDiff.
func TestLossOpDoDiff(t *testing.T) {
	g := G.NewGraph()
	ev := tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float64{1, -2, 3, 0.5, 0, -1}))
	e := G.NewTensor(g, tensor.Float64, 2, G.WithShape(2, 3), G.WithValue(ev), G.WithName("e"))
	w := []float64{0.1, 0.2, 0.3, -0.4, 0.5, -0.6}
	op := newLossOp[float64](2, 3)
	op.fn = quadLoss(w)
	if _, err := G.ApplyOp(op, e); err != nil {
		t.Fatal(err)
	}
	vm := G.NewLispMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	gv, err := e.Grad()
	if err != nil {
		t.Fatal(err)
	}
	got := gv.Data().([]float64)
	want := make([]float64, 6)
	for i, v := range ev.Data().([]float64) {
		want[i] = w[i] + v
	}
	if err := fdiff.CompareSlices(got, want, 0, 1e-15); err != nil {
		t.Fatal(err)
	}
}
