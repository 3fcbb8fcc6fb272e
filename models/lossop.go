package models

import (
	"errors"
	"fmt"

	"github.com/chewxy/hm"
	"github.com/gometric/gometric"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// LossFunc computes a loss on a batch of N×E embeddings and its gradient
// d(loss)/d(emb), an N×E matrix. emb is a copy the function may keep or
// change; the gradient is copied before the function is called again. It
// is how a pure-Go loss (the losses package, in float64) enters Gorgonia's
// backpropagation: Encoder.TrainStep and the node of LossNode call it once
// per run, inside the forward pass of the Gorgonia graph.
// losses.Objective.Compute, with the batch's labels bound, is one:
//
//	func(emb gometric.Matrix) (float32, gometric.Matrix, error) { return obj.Compute(emb, labels) }
//
// An encoder or a graph calls it from one goroutine at a time, so it need
// not be safe for concurrent use.
type LossFunc func(emb gometric.Matrix) (loss float32, grad gometric.Matrix, err error)

// lossFn is LossFunc over either element type.
type lossFn[T float] func(emb []T, n, e int) (T, []T, error)

// adapt turns a LossFunc into a lossFn, checking the gradient's shape.
func adapt[T float](loss LossFunc) lossFn[T] {
	return func(emb []T, n, e int) (T, []T, error) {
		l, g, err := loss(gometric.Matrix{Rows: n, Cols: e, Data: toF32(emb)})
		if err != nil {
			return 0, nil, err
		}
		if g.Rows != n || g.Cols != e || len(g.Data) != n*e {
			return 0, nil, fmt.Errorf("the loss function returned a %d×%d gradient (%d values) for %d×%d embeddings: %w", g.Rows, g.Cols, len(g.Data), n, e, gometric.ErrShape)
		}
		return T(l), toT[T](g.Data), nil
	}
}

// LossNode returns a node of emb's graph whose value is fn's loss on emb
// and whose derivative is fn's gradient: it is how a pure-Go loss (a
// losses.Objective, for example) enters a Gorgonia graph of the user's
// own, as PML's loss_func(embeddings, labels) enters a torch graph. emb
// must be a float32 matrix node of known shape N×E (one embedding per
// row); the node is a float32 scalar that can take part in any further
// expression. Every run of the graph calls fn once, in the forward pass,
// and keeps its gradient for the backward pass (gorgonia.Grad or a Lisp
// machine), so the network runs forward once: no second pass, no
// surrogate loss. It is the op that Encoder.TrainStep puts at the root of
// an encoder's training graph.
//
//	emb := gorgonia.Must(gorgonia.Mul(x, w)) // the user's network
//	loss, err := models.LossNode(emb, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
//		return obj.Compute(e, labels) // labels: the current batch's
//	})
//	_, err = gorgonia.Grad(loss, w)
//
// Non-finite embeddings (a float32 overflow in the network) are an error
// and fn is not called. A failure of fn (an error, a gradient of the wrong
// shape, a non-finite loss or gradient, a panic) makes the machine's run return an error whose
// message carries fn's (Gorgonia's machines wrap it in an error type
// without Unwrap, so errors.Is does not see the sentinels through it). The
// node's op is stateful: it belongs to one graph and one machine at a
// time, as an encoder's graph does. Make a LossNode only for a loss the
// expression uses: Gorgonia's Lisp machine differentiates every node of
// the graph, so an unused loss node still adds its gradient to emb.
func LossNode(emb *G.Node, fn LossFunc) (node *G.Node, err error) {
	const c = "models.LossNode"
	if emb == nil {
		return nil, fmt.Errorf("%s: nil embedding node: %w", c, gometric.ErrSetting)
	}
	if fn == nil {
		return nil, fmt.Errorf("%s: nil loss function: %w", c, gometric.ErrSetting)
	}
	defer func() {
		// Gorgonia's accessors and constructors panic on an inconsistent
		// node; that must not escape.
		if r := recover(); r != nil {
			node, err = nil, fmt.Errorf("%s: node %v: %v: %w", c, emb, r, gometric.ErrShape)
		}
	}()
	if dt := emb.Dtype(); dt != tensor.Float32 {
		return nil, fmt.Errorf("%s: node %v holds %v, want float32: %w", c, emb, dt, gometric.ErrUnsupported)
	}
	shape := emb.Shape()
	if len(shape) != 2 || shape[0] < 1 || shape[1] < 1 {
		return nil, fmt.Errorf("%s: node %v has shape %v, want an N×E matrix: %w", c, emb, shape, gometric.ErrShape)
	}
	op := newLossOp[float32](shape[0], shape[1])
	op.fn = adapt[float32](fn)
	node, err = G.ApplyOp(op, emb)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c, err)
	}
	return node, nil
}

// lossOp is the Gorgonia op at the root of a training graph. Its Do calls
// the pure-Go loss on the embeddings and caches d(loss)/d(embeddings); its
// derivative (SymDiff for the tape machine, DoDiff for the Lisp machine)
// returns that cache scaled by the incoming gradient. So one run of the
// graph makes one forward pass, one loss call and one backward pass.
type lossOp[T float] struct {
	opBase
	n, e int
	fn   lossFn[T] // set before each run
	loss T
	grad []T   // d(loss)/d(embeddings) from the last Do
	err  error // the last Do's failure, reported by TrainStep
	// panicked holds what the loss function panicked with: Gorgonia runs
	// ops on its own goroutine, so TrainStep re-panics with it on the
	// caller's.
	panicked any
}

var (
	_ G.SDOp = (*lossOp[float32])(nil)
	_ G.ADOp = (*lossOp[float32])(nil)
	_ G.SDOp = (*blockOp[float32])(nil)
	_ G.SDOp = (*linearOp[float32])(nil)
	_ G.SDOp = (*reluOp[float32])(nil)
)

func newLossOp[T float](n, e int) *lossOp[T] {
	return &lossOp[T]{opBase: newBase("loss"), n: n, e: e}
}

func (op *lossOp[T]) Arity() int { return 1 }
func (op *lossOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(2), hm.TypeVariable('a'))
}
func (op *lossOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}
func (op *lossOp[T]) DiffWRT(int) []bool { return []bool{true} }

// Do runs the loss function and checks what it returns.
func (op *lossOp[T]) Do(vs ...G.Value) (G.Value, error) {
	op.err = op.do(vs)
	if op.err != nil {
		return nil, op.err
	}
	return scalarValue(op.loss), nil
}

func (op *lossOp[T]) do(vs []G.Value) error {
	op.panicked = nil
	if op.fn == nil {
		return errors.New(op.name + ": no loss function")
	}
	in, err := values[T](op.name, vs, 1)
	if err != nil {
		return err
	}
	ne := op.n * op.e
	if err := checkLen(op.name, in[0], ne); err != nil {
		return err
	}
	emb := make([]T, ne)
	copy(emb, in[0])
	if i := firstNonFinite(emb); i >= 0 {
		// Finite inputs and weights can still overflow float32.
		return fmt.Errorf("models: the embeddings have %v at row %d, column %d (float32 overflow: the input or the weights are too large): %w", emb[i], i/op.e, i%op.e, gometric.ErrNonFinite)
	}
	loss, grad, err := op.call(emb)
	if op.panicked != nil {
		return fmt.Errorf("models: the loss function panicked: %v", op.panicked)
	}
	if err != nil {
		return fmt.Errorf("models: loss function: %w", err)
	}
	if len(grad) != ne {
		return fmt.Errorf("models: loss function returned %d gradient values for %d×%d embeddings: %w", len(grad), op.n, op.e, gometric.ErrShape)
	}
	if i := firstNonFinite([]T{loss}); i >= 0 {
		return fmt.Errorf("models: loss function returned loss %v: %w", loss, gometric.ErrNonFinite)
	}
	if i := firstNonFinite(grad); i >= 0 {
		return fmt.Errorf("models: loss function returned gradient %v at row %d, column %d: %w", grad[i], i/op.e, i%op.e, gometric.ErrNonFinite)
	}
	if op.grad == nil {
		op.grad = make([]T, ne)
	}
	copy(op.grad, grad)
	op.loss = loss
	return nil
}

// call runs the loss function, catching a panic.
func (op *lossOp[T]) call(emb []T) (loss T, grad []T, err error) {
	defer func() {
		if r := recover(); r != nil {
			op.panicked = r
		}
	}()
	return op.fn(emb, op.n, op.e)
}

// SymDiff returns d(loss)/d(embeddings) as a node computed from the cache.
// The gradient node reads the loss node, so it runs after the loss.
func (op *lossOp[T]) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	d, err := G.ApplyOp(&lossGradOp[T]{opBase: newBase("loss.dE"), loss: op}, inputs[0], output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// DoDiff adds the cached gradient, scaled by the output's gradient, to the
// embeddings' gradient (automatic differentiation in a Lisp machine).
func (op *lossOp[T]) DoDiff(_ G.ExecutionContext, inputs G.Nodes, output *G.Node) error {
	if len(inputs) != 1 {
		return fmt.Errorf("%s: %d inputs, want 1", op.name, len(inputs))
	}
	if op.grad == nil {
		return errors.New(op.name + ": the loss has not run")
	}
	og, err := output.Grad()
	if err != nil {
		return err
	}
	scale, err := scalarOf[T](og)
	if err != nil {
		return err
	}
	ig, err := inputs[0].Grad()
	if err != nil {
		return err
	}
	d, err := values[T](op.name, []G.Value{ig}, 1)
	if err != nil {
		return err
	}
	if err := checkLen(op.name, d[0], len(op.grad)); err != nil {
		return err
	}
	for i, g := range op.grad {
		d[0][i] += scale * g
	}
	return nil
}

// lossGradOp returns the loss op's cached gradient times the incoming
// (scalar) gradient. Its inputs are the embeddings (for the shape), the
// loss (for the order of execution) and the incoming gradient.
type lossGradOp[T float] struct {
	opBase
	loss *lossOp[T]
}

func (op *lossGradOp[T]) Arity() int { return 3 }
func (op *lossGradOp[T]) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(tensorType(2), a, a, tensorType(2))
}
func (op *lossGradOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.loss.n, op.loss.e}, nil
}
func (op *lossGradOp[T]) DiffWRT(n int) []bool { return op.noDiff(n) }
func (op *lossGradOp[T]) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return op.notDiff()
}
func (op *lossGradOp[T]) Do(vs ...G.Value) (G.Value, error) {
	if len(vs) != 3 {
		return nil, fmt.Errorf("%s: %d inputs, want 3", op.name, len(vs))
	}
	if op.loss.grad == nil {
		return nil, errors.New(op.name + ": the loss has not run")
	}
	scale, err := scalarOf[T](vs[2])
	if err != nil {
		return nil, err
	}
	d, dd := newDense[T](op.loss.n, op.loss.e)
	for i, g := range op.loss.grad {
		dd[i] = scale * g
	}
	return d, nil
}

// scalarValue wraps v as a Gorgonia scalar.
func scalarValue[T float](v T) G.Value {
	if x, ok := any(v).(float32); ok {
		return G.NewF32(x)
	}
	return G.NewF64(float64(v))
}

// scalarOf reads a Gorgonia scalar (or a one-element tensor).
func scalarOf[T float](v G.Value) (T, error) {
	switch x := v.(type) {
	case *G.F32:
		return T(*x), nil
	case *G.F64:
		return T(*x), nil
	case *tensor.Dense:
		if x.Shape().TotalSize() == 1 {
			switch d := x.Data().(type) {
			case []float32:
				return T(d[0]), nil
			case []float64:
				return T(d[0]), nil
			case float32:
				return T(d), nil
			case float64:
				return T(d), nil
			}
		}
	}
	return 0, fmt.Errorf("models: %T is not a scalar", v)
}
