package models_test

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// quadratic is the loss L = Σ a∘e + ½ Σ e² (gradient a + e), computed in
// float64 from the float32 embeddings; calls counts its runs.
type quadratic struct {
	a     []float64
	calls int
}

func (q *quadratic) fn(emb gometric.Matrix) (float32, gometric.Matrix, error) {
	q.calls++
	grad := gometric.Matrix{Rows: emb.Rows, Cols: emb.Cols, Data: make([]float32, len(emb.Data))}
	var l float64
	for i, v := range emb.Data {
		e := float64(v)
		l += q.a[i]*e + e*e/2
		grad.Data[i] = float32(q.a[i] + e)
	}
	return float32(l), grad, nil
}

// linearGraph is the user's own network: emb = x·w, x n×d and w d×e.
func linearGraph(t *testing.T, n, d, e int) (g *G.ExprGraph, x, w, emb *G.Node, xd, wd []float32) {
	t.Helper()
	g = G.NewGraph()
	xd, wd = make([]float32, n*d), make([]float32, d*e)
	for i := range wd {
		wd[i] = float32(math.Sin(float64(i)+0.5)) / 2
	}
	x = G.NewMatrix(g, tensor.Float32, G.WithShape(n, d), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(n, d), tensor.WithBacking(xd))))
	w = G.NewMatrix(g, tensor.Float32, G.WithShape(d, e), G.WithName("w"), G.WithValue(tensor.New(tensor.WithShape(d, e), tensor.WithBacking(wd))))
	emb = G.Must(G.Mul(x, w))
	return
}

// matmul is a·b in float64 (a r×k, b k×c, row-major float32 inputs or
// float64 ones).
func matmul(a, b []float64, r, k, c int, ta, tb bool) []float64 {
	at := func(i, j int) float64 {
		if ta {
			return a[j*r+i]
		}
		return a[i*k+j]
	}
	bt := func(i, j int) float64 {
		if tb {
			return b[j*k+i]
		}
		return b[i*c+j]
	}
	out := make([]float64, r*c)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			var s float64
			for l := 0; l < k; l++ {
				s += at(i, l) * bt(l, j)
			}
			out[i*c+j] = s
		}
	}
	return out
}

func f64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// The loss node inside a larger expression, T = 2·L + L² + Σe: the loss
// has two consumers and the embeddings two (the loss and the sum). The
// gradients with respect to the weights and the inputs equal the analytic
// ones, dT/de = (2 + 2L)(a + e) + 1, run after run of one tape machine
// with Reset between runs and new inputs each time; the loss function runs
// once per run.
func TestLossNodeInExpression(t *testing.T) {
	const n, d, e = 5, 4, 3
	g, x, w, emb, xd, wd := linearGraph(t, n, d, e)
	q := &quadratic{a: make([]float64, n*e)}
	for i := range q.a {
		q.a[i] = math.Cos(float64(3*i)) / 3
	}
	loss, err := models.LossNode(emb, q.fn)
	if err != nil {
		t.Fatal(err)
	}
	two := G.NewConstant(float32(2))
	total := G.Must(G.Add(G.Must(G.Add(G.Must(G.Mul(two, loss)), G.Must(G.Mul(loss, loss)))), G.Must(G.Sum(emb))))
	grads, err := G.Grad(total, w, x)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	for run := 0; run < 4; run++ {
		for i := range xd {
			xd[i] = float32(math.Sin(float64(i*(run+2)))) + float32(run)/4
		}
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		if q.calls != run+1 {
			t.Fatalf("run %d: the loss function ran %d times in all", run, q.calls)
		}
		// The analytic values, in float64 from the same float32 inputs.
		x64, w64 := f64(xd), f64(wd)
		e64 := matmul(x64, w64, n, d, e, false, false)
		var l, sum float64
		for i, v := range e64 {
			l += q.a[i]*v + v*v/2
			sum += v
		}
		dE := make([]float64, n*e)
		for i, v := range e64 {
			dE[i] = (2+2*l)*(q.a[i]+v) + 1
		}
		dW := matmul(x64, dE, d, n, e, true, false)
		dX := matmul(dE, w64, n, e, d, false, true)
		closeTo(t, fmt.Sprintf("run %d: loss", run), []float32{loss.Value().Data().(float32)}, []float64{l}, 1e-5)
		closeTo(t, fmt.Sprintf("run %d: total", run), []float32{total.Value().Data().(float32)}, []float64{2*l + l*l + sum}, 1e-5)
		closeTo(t, fmt.Sprintf("run %d: dT/dw", run), grads[0].Value().Data().([]float32), dW, 1e-4)
		closeTo(t, fmt.Sprintf("run %d: dT/dx", run), grads[1].Value().Data().([]float32), dX, 1e-4)
		vm.Reset()
	}
}

// In a Lisp machine the node's derivative is DoDiff.
func TestLossNodeLispMachine(t *testing.T) {
	const n, d, e = 3, 2, 2
	g, x, _, emb, xd, wd := linearGraph(t, n, d, e)
	for i := range xd {
		xd[i] = float32(i) - 2.5
	}
	q := &quadratic{a: []float64{1, -1, 0.5, 0, 2, -0.25}}
	loss, err := models.LossNode(emb, q.fn)
	if err != nil {
		t.Fatal(err)
	}
	G.Must(G.Mul(G.NewConstant(float32(3)), loss))
	vm := G.NewLispMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	e64 := matmul(f64(xd), f64(wd), n, d, e, false, false)
	dE := make([]float64, n*e)
	for i, v := range e64 {
		dE[i] = 3 * (q.a[i] + v)
	}
	gx, err := x.Grad()
	if err != nil {
		t.Fatal(err)
	}
	closeTo(t, "dT/dx", gx.Data().([]float32), matmul(dE, f64(wd), n, e, d, false, true), 1e-5)
}

func TestLossNodeErrors(t *testing.T) {
	g := G.NewGraph()
	ok := func(e gometric.Matrix) (float32, gometric.Matrix, error) { return 1, e.Clone(), nil }
	bad := []struct {
		name string
		emb  *G.Node
		fn   models.LossFunc
		want error
	}{
		{"nil node", nil, ok, gometric.ErrSetting},
		{"nil function", G.NewMatrix(g, tensor.Float32, G.WithShape(2, 2)), nil, gometric.ErrSetting},
		{"float64", G.NewMatrix(g, tensor.Float64, G.WithShape(2, 2)), ok, gometric.ErrUnsupported},
		{"vector", G.NewVector(g, tensor.Float32, G.WithShape(4)), ok, gometric.ErrShape},
		{"scalar", G.NewScalar(g, tensor.Float32), ok, gometric.ErrShape},
		{"3-d tensor", G.NewTensor(g, tensor.Float32, 3, G.WithShape(2, 2, 2)), ok, gometric.ErrShape},
	}
	for _, tc := range bad {
		if n, err := models.LossNode(tc.emb, tc.fn); n != nil || !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "models.LossNode: ") {
			t.Errorf("%s: %v, %v; want an error wrapping %v", tc.name, n, err, tc.want)
		}
	}

	// The loss function's failures make the run fail, and never panic.
	// (Gorgonia's machines wrap an op's error in a type without Unwrap, so
	// only the message carries it.)
	boom := errors.New("boom")
	fails := []struct {
		name string
		fn   models.LossFunc
		text string
	}{
		{"error", func(gometric.Matrix) (float32, gometric.Matrix, error) { return 0, gometric.Matrix{}, boom }, "models: loss function: boom"},
		{"gradient shape", func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			return 1, gometric.Matrix{Rows: e.Cols, Cols: e.Rows, Data: e.Data}, nil
		}, "3×2 gradient (6 values) for 2×3 embeddings: " + gometric.ErrShape.Error()},
		{"NaN loss", func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			return float32(math.NaN()), e.Clone(), nil
		}, "loss NaN: " + gometric.ErrNonFinite.Error()},
		{"Inf gradient", func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			gr := e.Clone()
			gr.Data[3] = float32(math.Inf(1))
			return 1, gr, nil
		}, "+Inf at row 1, column 0: " + gometric.ErrNonFinite.Error()},
		{"panic", func(gometric.Matrix) (float32, gometric.Matrix, error) { panic("kaboom") }, "panicked: kaboom"},
	}
	for _, tc := range fails {
		t.Run(tc.name, func(t *testing.T) {
			g := G.NewGraph()
			x := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(2, 3), tensor.WithBacking([]float32{1, 2, 3, 4, 5, 6}))))
			loss, err := models.LossNode(x, tc.fn)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := G.Grad(loss, x); err != nil {
				t.Fatal(err)
			}
			vm := G.NewTapeMachine(g)
			defer vm.Close()
			err = vm.RunAll()
			if err == nil || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want one containing %q", err, tc.text)
			}
		})
	}
}
