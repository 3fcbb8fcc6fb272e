package models

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/gometric/gometric"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maxCachedGraphs bounds the graphs an encoder keeps per mode (training,
// inference): one per batch size seen, least recently used dropped first.
const maxCachedGraphs = 4

// embedChunk is the largest batch Embed runs through one graph; larger
// batches are embedded in chunks of this size, bounding memory.
const embedChunk = 256

// network is the machinery shared by ConvNet and MLP: the parameters, one
// Gorgonia graph and tape machine per batch size and mode, and the calls
// that run them. T is float32 for the encoders; float64 networks exist for
// the finite-difference tests.
type network[T float] struct {
	mu        sync.Mutex
	saveMu    sync.Mutex // serialises Save, which writes outside mu
	component string     // "models.ConvNet", "models.MLP"
	input     []int      // one sample's shape
	embedding int
	params    []*Param
	// forward builds the network on x (n samples) from the parameter nodes,
	// for training (train: dropout on) or inference. inputGrad asks for
	// d(output)/d(x) to flow back to x (the first layer computes it only
	// then).
	forward func(x *G.Node, p []*G.Node, n int, train, inputGrad bool) (*G.Node, error)
	graphs  map[graphKey]*graph[T]
	tick    int64
	// dropout is an MLP's dropout (nil without): its step counts the
	// successful training steps, the masks' step index.
	dropout *dropout
	// eval: training steps run as torch's eval mode (no dropout); see
	// EvalModer.
	eval bool
}

type graphKey struct {
	n     int
	train bool
	// inputGrad: a training graph that also reads d(loss)/d(input)
	// (TrainStepInput); plain TrainStep graphs do not compute it.
	inputGrad bool
	// eval: a training graph in eval mode (dropout off).
	eval bool
}

// graph is one compiled network for one batch size and mode.
type graph[T float] struct {
	g     *G.ExprGraph
	vm    G.VM
	x     []T           // the input's backing array
	emb   *tensor.Dense // inference: where the embeddings are read into
	loss  *lossOp[T]    // training: the loss op at the root
	dx    *tensor.Dense // TrainStepInput: where d(loss)/d(input) is read into
	reads []*G.Value    // keeps Read targets alive
	used  int64
}

// paramSpec describes one parameter of an architecture.
type paramSpec struct {
	name       string
	shape      []int // torch's shape
	graphShape []int // the shape of its graph node
	fanIn      int
}

func newNetwork[T float](component string, input []int, embedding int, specs []paramSpec, seed uint64,
	// train: a training graph; inputGrad asks for d(output)/d(x) to flow
	// back to x (the first layer computes it only then).
	forward func(x *G.Node, p []*G.Node, n int, train, inputGrad bool) (*G.Node, error)) *network[T] {
	nw := &network[T]{
		component: component,
		input:     slices.Clone(input),
		embedding: embedding,
		forward:   forward,
		graphs:    map[graphKey]*graph[T]{},
	}
	rng := rand.New(rand.NewPCG(seed, seedStream))
	for _, s := range specs {
		p := newParam[T](s.name, s.shape, s.graphShape...)
		initUniform[T](p, kaimingBound(s.fanIn), rng)
		nw.params = append(nw.params, p)
	}
	return nw
}

// unusable is the error of a method called on a nil or zero encoder.
func unusable(method, why string) error {
	return fmt.Errorf("%s: %s: %w", method, why, gometric.ErrSetting)
}

// seedStream is the PCG stream constant of the initialisation RNG.
const seedStream = 0x676f6d6574726963 // "gometric"

func (nw *network[T]) dtype() tensor.Dtype {
	var z T
	if _, ok := any(z).(float32); ok {
		return tensor.Float32
	}
	return tensor.Float64
}

// InputShape returns the shape of one input sample.
func (nw *network[T]) InputShape() []int { return slices.Clone(nw.input) }

// EmbeddingSize returns the size E of an embedding.
func (nw *network[T]) EmbeddingSize() int { return nw.embedding }

// Params returns the parameters in a fixed order (the weight file's).
func (nw *network[T]) Params() []*Param {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	return slices.Clone(nw.params)
}

// ZeroGrad sets every parameter's gradient to 0.
func (nw *network[T]) ZeroGrad() {
	nw.mu.Lock()
	defer nw.mu.Unlock()
	for _, p := range nw.params {
		p.zeroGrad()
	}
}

// Step applies opt to the parameters (opt.Step(Params())); Gorgonia's
// solvers leave the gradients at 0.
func (nw *network[T]) Step(opt *Optimizer) error {
	if opt == nil {
		return fmt.Errorf("%s.Step: nil optimizer: %w", nw.component, gometric.ErrSetting)
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if err := opt.Step(nw.params); err != nil {
		return fmt.Errorf("%s.Step: %w", nw.component, err)
	}
	return nil
}

// checkInput validates a batch of inputs (one flattened sample per row)
// and returns its size.
func (nw *network[T]) checkInput(method string, x gometric.Matrix) (int, error) {
	c := nw.component + "." + method
	per := 1
	for _, d := range nw.input {
		per *= d
	}
	if x.Cols != per {
		return 0, fmt.Errorf("%s: input rows have %d values, want %d (one sample of shape [%s] per row): %w", c, x.Cols, per, shapeString(nw.input), gometric.ErrShape)
	}
	if err := x.CheckShape(c, "input"); err != nil {
		return 0, err
	}
	if i := firstNonFinite(x.Data); i >= 0 {
		return 0, fmt.Errorf("%s: input sample %d has %v at offset %d: %w", c, i/per, x.Data[i], i%per, gometric.ErrNonFinite)
	}
	return x.Rows, nil
}

func shapeString(s []int) string {
	out := ""
	for i, d := range s {
		if i > 0 {
			out += " "
		}
		out += fmt.Sprint(d)
	}
	return out
}

// graphFor returns the cached graph for n samples and mode, building it
// (and dropping the least recently used one) if needed.
func (nw *network[T]) graphFor(n int, train, inputGrad bool) (*graph[T], error) {
	nw.tick++
	key := graphKey{n, train, inputGrad, train && nw.eval}
	if gr, ok := nw.graphs[key]; ok {
		gr.used = nw.tick
		return gr, nil
	}
	gr, err := nw.build(n, train, inputGrad, key.eval)
	if err != nil {
		return nil, fmt.Errorf("%s: building the graph for %d samples: %w", nw.component, n, err)
	}
	count, oldest := 0, graphKey{}
	var oldestUse int64 = -1
	for k, g := range nw.graphs {
		if k.train != train || k.inputGrad != inputGrad || k.eval != key.eval {
			continue
		}
		count++
		if oldestUse < 0 || g.used < oldestUse {
			oldest, oldestUse = k, g.used
		}
	}
	if count >= maxCachedGraphs {
		_ = nw.graphs[oldest].vm.Close()
		delete(nw.graphs, oldest)
	}
	gr.used = nw.tick
	nw.graphs[key] = gr
	return gr, nil
}

// build makes the graph for n samples: the network, then either the loss
// op, its gradient with respect to every parameter (gorgonia.Grad) and a
// read of each gradient into its Param, or a read of the embeddings.
func (nw *network[T]) build(n int, train, inputGrad, eval bool) (gr *graph[T], err error) {
	defer func() {
		// Gorgonia's node constructors panic on inconsistent input; the
		// shapes here are checked, but a panic must not escape.
		if r := recover(); r != nil {
			gr, err = nil, fmt.Errorf("gorgonia: %v", r)
		}
	}()
	dt := nw.dtype()
	g := G.NewGraph()
	shape := append([]int{n}, nw.input...)
	xv, xd := newDense[T](shape...)
	x := G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithValue(xv), G.WithName("x"))
	pn := make([]*G.Node, len(nw.params))
	for i, p := range nw.params {
		s := p.value.Shape()
		pn[i] = G.NewTensor(g, dt, len(s), G.WithShape(s...), G.WithValue(p.value), G.WithName(p.name))
	}
	inputGrad = inputGrad && train
	out, err := nw.forward(x, pn, n, train && !eval, inputGrad)
	if err != nil {
		return nil, err
	}
	gr = &graph[T]{g: g, x: xd}
	if train {
		gr.loss = newLossOp[T](n, nw.embedding)
		loss, err := G.ApplyOp(gr.loss, out)
		if err != nil {
			return nil, err
		}
		wrt := pn
		if inputGrad {
			wrt = append(slices.Clone(pn), x)
		}
		grads, err := G.Grad(loss, wrt...)
		if err != nil {
			return nil, err
		}
		if inputGrad {
			gr.dx, _ = newDense[T](shape...)
			into := new(G.Value)
			*into = gr.dx
			G.Read(grads[len(pn)], into)
			gr.reads = append(gr.reads, into)
			grads = grads[:len(pn)]
		}
		for i, gn := range grads {
			into := new(G.Value)
			*into = nw.params[i].grad
			G.Read(gn, into)
			gr.reads = append(gr.reads, into)
		}
	} else {
		gr.emb, _ = newDense[T](n, nw.embedding)
		into := new(G.Value)
		*into = gr.emb
		G.Read(out, into)
		gr.reads = append(gr.reads, into)
	}
	gr.vm = G.NewTapeMachine(g)
	return gr, nil
}

// run executes a graph on the input data and resets its machine, so that
// nothing carries over to the next run.
func (gr *graph[T]) run(x []T) error {
	copy(gr.x, x)
	defer gr.vm.Reset()
	return gr.vm.RunAll()
}

// embed runs the inference graph for x (n samples).
func (nw *network[T]) embed(x []T, n int) ([]T, error) {
	per := len(x) / n
	out := make([]T, 0, n*nw.embedding)
	for lo := 0; lo < n; lo += embedChunk {
		hi := min(n, lo+embedChunk)
		gr, err := nw.graphFor(hi-lo, false, false)
		if err != nil {
			return nil, err
		}
		if err := gr.run(x[lo*per : hi*per]); err != nil {
			return nil, fmt.Errorf("%s.Embed: %w", nw.component, err)
		}
		out = append(out, gr.emb.Data().([]T)...)
	}
	return out, nil
}

// trainStep runs the training graph: forward, loss, backward; every
// parameter's gradient is set (not accumulated) to this batch's.
func (nw *network[T]) trainStep(x []T, n int, fn lossFn[T]) (T, error) {
	_, l, err := nw.trainStepGraph(x, n, fn, false)
	return l, err
}

// trainStepGraph is trainStep on the graph with or without the input's
// gradient; it returns the graph it ran.
func (nw *network[T]) trainStepGraph(x []T, n int, fn lossFn[T], inputGrad bool) (*graph[T], T, error) {
	method := "TrainStep"
	if inputGrad {
		method = "TrainStepInput"
	}
	if fn == nil {
		return nil, 0, fmt.Errorf("%s.%s: nil loss function: %w", nw.component, method, gometric.ErrSetting)
	}
	gr, err := nw.graphFor(n, true, inputGrad)
	if err != nil {
		return nil, 0, err
	}
	gr.loss.fn = fn
	gr.loss.err, gr.loss.panicked = nil, nil
	defer func() { gr.loss.fn = nil }()
	if err := gr.run(x); err != nil {
		if p := gr.loss.panicked; p != nil {
			for _, p := range nw.params {
				p.zeroGrad()
			}
			gr.loss.panicked = nil
			panic(p)
		}
		// The gradients may be half written: clear them.
		for _, p := range nw.params {
			p.zeroGrad()
		}
		if gr.loss.err != nil {
			return nil, 0, fmt.Errorf("%s.%s: %w", nw.component, method, gr.loss.err)
		}
		return nil, 0, fmt.Errorf("%s.%s: %w", nw.component, method, err)
	}
	if gr.loss.err != nil {
		return nil, 0, fmt.Errorf("%s.%s: %w", nw.component, method, gr.loss.err)
	}
	if nw.dropout != nil && !nw.eval {
		nw.dropout.step++ // the next step's masks
	}
	return gr, gr.loss.loss, nil
}

// Embed returns the N×E embeddings of x, an N×prod(InputShape) batch
// (inference: no gradient). An embedding that overflows float32 is an
// error wrapping gometric.ErrNonFinite, never a returned ±Inf or NaN.
func (nw *network[T]) Embed(x gometric.Matrix) (gometric.Matrix, error) {
	n, err := nw.checkInput("Embed", x)
	if err != nil {
		return gometric.Matrix{}, err
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	out, err := nw.embed(toT[T](x.Data), n)
	if err != nil {
		return gometric.Matrix{}, err
	}
	if i := firstNonFinite(out); i >= 0 {
		// Finite inputs and weights can still overflow float32.
		return gometric.Matrix{}, fmt.Errorf("%s.Embed: the embedding of sample %d has %v at %d (float32 overflow: the input or the weights are too large): %w",
			nw.component, i/nw.embedding, out[i], i%nw.embedding, gometric.ErrNonFinite)
	}
	return gometric.Matrix{Rows: n, Cols: nw.embedding, Data: toF32(out)}, nil
}

// TrainStep runs one forward pass of x, an N×prod(InputShape) batch,
// calls loss on the embeddings and backpropagates its gradient, all in one
// run of the training graph. On success every parameter's gradient holds
// d(loss)/d(parameter) for this batch (set, not accumulated) and the loss
// is returned; apply it with Step. On failure the gradients are 0. If loss
// panics, TrainStep panics with the same value (on the caller's goroutine;
// Gorgonia runs the graph on its own).
func (nw *network[T]) TrainStep(x gometric.Matrix, loss LossFunc) (float32, error) {
	n, err := nw.checkInput("TrainStep", x)
	if err != nil {
		return 0, err
	}
	if loss == nil {
		return 0, fmt.Errorf("%s.TrainStep: nil loss function: %w", nw.component, gometric.ErrSetting)
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	fn := adapt[T](loss)
	l, err := nw.trainStep(toT[T](x.Data), n, fn)
	return float32(l), err
}

// toT converts float32 data to T (no copy for float32).
func toT[T float](xs []float32) []T {
	if v, ok := any(xs).([]T); ok {
		return v
	}
	out := make([]T, len(xs))
	for i, v := range xs {
		out[i] = T(v)
	}
	return out
}

// toF32 converts T data to float32 (no copy for float32).
func toF32[T float](xs []T) []float32 {
	if v, ok := any(xs).([]float32); ok {
		return v
	}
	out := make([]float32, len(xs))
	for i, v := range xs {
		out[i] = float32(v)
	}
	return out
}
