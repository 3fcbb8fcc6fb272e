package models

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/fdiff"
)

// TestInputGradFiniteDifference checks d(loss)/d(input) of float64
// networks against central finite differences of the loss computed through
// the inference graph, and that the parameter gradients equal TrainStep's.
func TestInputGradFiniteDifference(t *testing.T) {
	tests := []struct {
		name string
		nw   func() (*network[float64], error)
		n    int
	}{
		{"ConvNet", func() (*network[float64], error) {
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
		}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nw, err := tc.nw()
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			per := 1
			for _, d := range nw.input {
				per *= d
			}
			x := randSlice[float64](rng, tc.n*per, 1)
			w := randSlice[float64](rng, tc.n*nw.embedding, 1)
			loss := quadLoss(w)
			l0, err := nw.trainStep(x, tc.n, loss)
			if err != nil {
				t.Fatal(err)
			}
			var want [][]float64
			for _, p := range nw.params {
				want = append(want, slices.Clone(p.grad.Data().([]float64)))
			}
			l1, dx, err := nw.trainStepInput(x, tc.n, loss)
			if err != nil {
				t.Fatal(err)
			}
			if l0 != l1 {
				t.Errorf("loss %v, TrainStep's %v", l1, l0)
			}
			for i, p := range nw.params {
				if err := fdiff.CompareSlices(p.grad.Data().([]float64), want[i], 1e-12, 1e-14); err != nil {
					t.Errorf("%s: the gradient differs from TrainStep's: %v", p.name, err)
				}
			}
			f := func() float64 {
				emb, err := nw.embed(x, tc.n)
				if err != nil {
					t.Fatal(err)
				}
				l, _, _ := loss(emb, tc.n, nw.embedding)
				return l
			}
			fd := make([]float64, len(x))
			const h = 1e-6
			for i := range x {
				old := x[i]
				x[i] = old + h
				fp := f()
				x[i] = old - h
				fm := f()
				x[i] = old
				fd[i] = (fp - fm) / (2 * h)
			}
			if err := fdiff.CompareSlices(dx, fd, 1e-5, 1e-7); err != nil {
				t.Errorf("d(loss)/d(input): %v", err)
			}
		})
	}
}

// TestTrainStepInputFloat32 runs the exported float32 method: the returned
// gradient has the input's shape, and a chained Linear → Linear equals one
// network's gradient by the chain rule (checked on the loss's value).
func TestTrainStepInputFloat32(t *testing.T) {
	enc, err := NewMLP(MLPConfig{Sizes: []int{4, 3}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cn, err := NewConvNet(ConvNetConfig{Channels: 1, Height: 4, Width: 4, Blocks: []int{2}, Embedding: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := gometric.Matrix{Rows: 2, Cols: 16, Data: randSlice[float32](rand.New(rand.NewPCG(1, 1)), 32, 1)}
	sq := func(e gometric.Matrix) (float32, gometric.Matrix, error) {
		var l float32
		g := gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}
		for i, v := range e.Data {
			l += v * v / 2
			g.Data[i] = v
		}
		return l, g, nil
	}
	var inner float32
	l, err := cn.TrainStep(x, func(h gometric.Matrix) (float32, gometric.Matrix, error) {
		li, dh, err := enc.TrainStepInput(h, sq)
		inner = li
		if err == nil && (dh.Rows != h.Rows || dh.Cols != h.Cols || len(dh.Data) != len(h.Data)) {
			t.Errorf("dh is %d×%d (%d), want %d×%d", dh.Rows, dh.Cols, len(dh.Data), h.Rows, h.Cols)
		}
		return li, dh, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if l != inner {
		t.Errorf("chained loss %v, inner %v", l, inner)
	}
	h, _ := cn.Embed(x)
	e, _ := enc.Embed(h)
	want, _, _ := sq(e)
	if d := want - l; d > 1e-4 || d < -1e-4 {
		t.Errorf("chained loss %v, embedded %v", l, want)
	}
	_, dx, err := cn.TrainStepInput(x, sq)
	if err != nil || dx.Rows != 2 || dx.Cols != 16 {
		t.Errorf("ConvNet.TrainStepInput: %d×%d, %v", dx.Rows, dx.Cols, err)
	}
}

// TestTrainStepInputRefused covers nil and zero receivers, a nil loss and
// a bad input.
func TestTrainStepInputRefused(t *testing.T) {
	x := gometric.Matrix{Rows: 1, Cols: 4, Data: make([]float32, 4)}
	m, _ := NewMLP(MLPConfig{Sizes: []int{4, 2}})
	cases := []struct {
		name string
		s    InputGradStepper
		x    gometric.Matrix
		loss LossFunc
		want error
	}{
		{"nil MLP", (*MLP)(nil), x, nil, gometric.ErrSetting},
		{"zero MLP", &MLP{}, x, nil, gometric.ErrSetting},
		{"nil ConvNet", (*ConvNet)(nil), x, nil, gometric.ErrSetting},
		{"zero ConvNet", &ConvNet{}, x, nil, gometric.ErrSetting},
		{"nil loss", m, x, nil, gometric.ErrSetting},
		{"wrong width", m, gometric.Matrix{Rows: 1, Cols: 3, Data: make([]float32, 3)}, func(e gometric.Matrix) (float32, gometric.Matrix, error) { return 0, e, nil }, gometric.ErrShape},
		{"bad gradient", m, x, func(e gometric.Matrix) (float32, gometric.Matrix, error) { return 0, gometric.Matrix{}, nil }, gometric.ErrShape},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := tc.s.TrainStepInput(tc.x, tc.loss)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}
