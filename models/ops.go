package models

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sync/atomic"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The layers are Gorgonia ops (gorgonia.Op and gorgonia.SDOp) so that a
// network is an ordinary Gorgonia expression graph, differentiated by
// gorgonia.Grad and run by a tape machine. They are written here rather
// than composed from Gorgonia's generic ops for speed (a conv block is one
// op that writes NCHW directly instead of transposing, with bias, ReLU and
// pool in one pass and no broadcast copies; a step of the reference
// network took 2–3.5× less time than with Gorgonia's Conv2d, Rectify,
// MaxPool2D and BroadcastAdd) and robustness (gorgonia.Mul treats a 1×k
// matrix as a vector; the gradient of Gorgonia's max-pool indexes out of
// range when a window is all NaN or −Inf). Every product goes through the
// BLAS that Gorgonia uses.

var opIDs atomic.Int64

// opBase holds what every op here shares: a name that is unique per op
// instance (so that Gorgonia's hash-consing never merges two stateful
// ops) and the analysis answers of an op that allocates its output.
type opBase struct{ name string }

func newBase(kind string) opBase {
	return opBase{fmt.Sprintf("%s#%d", kind, opIDs.Add(1))}
}

func (o opBase) ReturnsPtr() bool      { return false }
func (o opBase) CallsExtern() bool     { return false }
func (o opBase) OverwritesInput() int  { return -1 }
func (o opBase) WriteHash(h hash.Hash) { _, _ = io.WriteString(h, o.name) }
func (o opBase) String() string        { return o.name }
func (o opBase) Hashcode() uint32      { h := fnv.New32a(); o.WriteHash(h); return h.Sum32() }
func (o opBase) noDiff(n int) []bool   { return make([]bool, n) }
func (o opBase) notDiff() (G.Nodes, error) {
	return nil, errors.New(o.name + " is a gradient op and is not differentiated")
}

// tensorType is Tensor-d a, a the op's type variable.
func tensorType(d int) hm.Type { return G.TensorType{Dims: d, Of: hm.TypeVariable('a')} }

// values extracts the backing slices of tensor inputs.
func values[T float](op string, vs []G.Value, want int) ([][]T, error) {
	if len(vs) != want {
		return nil, fmt.Errorf("%s: %d inputs, want %d", op, len(vs), want)
	}
	out := make([][]T, len(vs))
	for i, v := range vs {
		t, ok := v.(*tensor.Dense)
		if !ok {
			return nil, fmt.Errorf("%s: input %d is %T, want *tensor.Dense", op, i, v)
		}
		d, ok := t.Data().([]T)
		if !ok {
			return nil, fmt.Errorf("%s: input %d holds %T", op, i, t.Data())
		}
		out[i] = d
	}
	return out, nil
}

// newDense allocates a zeroed tensor of shape.
func newDense[T float](shape ...int) (*tensor.Dense, []T) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	buf := make([]T, n)
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(buf)), buf
}

// checkLen reports an input of the wrong size.
func checkLen[T float](op string, x []T, want int) error {
	if len(x) != want {
		return fmt.Errorf("%s: input has %d values, want %d", op, len(x), want)
	}
	return nil
}

// ---- conv block: 3×3 convolution (pad 1) + bias → ReLU → 2×2 max-pool ----

// blockOp is one block of a ConvNet, torch's
//
//	nn.Conv2d(c, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)
//
// on an n×c×h×w input with an out×c×3×3 weight and an out bias, giving
// n×out×(h/2)×(w/2). The convolution is one GEMM, W·col, on the im2col
// matrix col (c·9 × n·h·w), which yields the pre-activations channel by
// channel (out × n·h·w); the bias, ReLU and pool are then one pass that
// writes the output in NCHW order and records each window's argmax. The
// op keeps col and the argmax for its gradient ops.
//
// Pooling takes the first maximum of a window in row-major order and
// propagates NaN, and the ReLU's gradient is 0 where its output is 0, as
// in torch; pooling after the ReLU equals the ReLU of the window's
// maximum, with the same gradient.
type blockOp[T float] struct {
	opBase
	n, c, h, w, out int
	inputGrad       bool // whether d/dinput is needed (not for the first block)
	col, pre        []T
	arg             []int32 // per output value: the argmax's index in its h×w plane
}

func newBlockOp[T float](n, c, h, w, out int, inputGrad bool) *blockOp[T] {
	return &blockOp[T]{opBase: newBase(fmt.Sprintf("convblock(%d×%d×%d×%d→%d)", n, c, h, w, out)),
		n: n, c: c, h: h, w: w, out: out, inputGrad: inputGrad}
}

func (op *blockOp[T]) Arity() int { return 3 }
func (op *blockOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(4), tensorType(4), tensorType(1), tensorType(4))
}
func (op *blockOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.out, op.h / 2, op.w / 2}, nil
}
func (op *blockOp[T]) DiffWRT(int) []bool { return []bool{op.inputGrad, true, true} }

func (op *blockOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 3)
	if err != nil {
		return nil, err
	}
	k, hw := op.c*9, op.h*op.w
	nhw := op.n * hw
	for i, want := range []int{op.n * op.c * hw, op.out * k, op.out} {
		if err := checkLen(op.name, in[i], want); err != nil {
			return nil, err
		}
	}
	oh, ow := op.h/2, op.w/2
	if op.col == nil {
		op.col = make([]T, k*nhw)
		op.pre = make([]T, op.out*nhw)
		op.arg = make([]int32, op.n*op.out*oh*ow)
	}
	im2col3(in[0], op.n, op.c, op.h, op.w, op.col)
	matmul(false, false, op.out, nhw, k, in[1], k, op.col, nhw, 0, op.pre, nhw)
	y, yd := newDense[T](op.n, op.out, oh, ow)
	parallel(op.out*op.n, len(op.pre), func(lo, hi int) {
		for p := lo; p < hi; p++ { // p = co·n + i, a plane of pre
			co, i := p/op.n, p%op.n
			o := (i*op.out + co) * oh * ow
			biasReLUPool(op.pre[p*hw:][:hw], in[2][co], op.h, op.w, yd[o:][:oh*ow], op.arg[o:][:oh*ow])
		}
	})
	return y, nil
}

func (op *blockOp[T]) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dpre, err := G.ApplyOp(&blockGradOp[T]{opBase: newBase("convblock.dpre"), blk: op}, grad, output)
	if err != nil {
		return nil, err
	}
	dW, err := G.ApplyOp(&convWGradOp[T]{opBase: newBase("convblock.dW"), blk: op}, dpre)
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(&blockBiasGradOp[T]{opBase: newBase("convblock.db"), blk: op}, grad, output)
	if err != nil {
		return nil, err
	}
	var dx *G.Node
	if op.inputGrad {
		if dx, err = G.ApplyOp(&convXGradOp[T]{opBase: newBase("convblock.dx"), blk: op}, dpre, inputs[1]); err != nil {
			return nil, err
		}
	}
	return G.Nodes{dx, dW, db}, nil
}

// blockGradOp maps the gradient of a block's output (n×out×oh×ow) to the
// gradient of its pre-activations (out × n·h·w): each output's gradient
// goes to its window's argmax unless the output is 0 (ReLU).
type blockGradOp[T float] struct {
	opBase
	blk *blockOp[T]
}

func (op *blockGradOp[T]) Arity() int { return 2 }
func (op *blockGradOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(4), tensorType(4), tensorType(2))
}
func (op *blockGradOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	b := op.blk
	return tensor.Shape{b.out, b.n * b.h * b.w}, nil
}
func (op *blockGradOp[T]) DiffWRT(n int) []bool { return op.noDiff(n) }
func (op *blockGradOp[T]) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return op.notDiff()
}
func (op *blockGradOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 2)
	if err != nil {
		return nil, err
	}
	b := op.blk
	if b.arg == nil {
		return nil, errors.New(op.name + ": the block has not run")
	}
	for i := range in {
		if err := checkLen(op.name, in[i], len(b.arg)); err != nil {
			return nil, err
		}
	}
	hw, ohw := b.h*b.w, (b.h/2)*(b.w/2)
	d, dd := newDense[T](b.out, b.n*hw)
	parallel(b.out*b.n, len(dd), func(lo, hi int) {
		for p := lo; p < hi; p++ { // p = co·n + i, a plane of dpre
			co, i := p/b.n, p%b.n
			o := (i*b.out + co) * ohw
			poolReLUGrad(in[0][o:][:ohw], in[1][o:][:ohw], b.arg[o:][:ohw], dd[p*hw:][:hw])
		}
	})
	return d, nil
}

// blockBiasGradOp computes a block's bias gradient: per channel, the sum
// of the output gradients where the output is not 0 (the sum of the
// pre-activation gradients, without reading them).
type blockBiasGradOp[T float] struct {
	opBase
	blk *blockOp[T]
}

func (op *blockBiasGradOp[T]) Arity() int { return 2 }
func (op *blockBiasGradOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(4), tensorType(4), tensorType(1))
}
func (op *blockBiasGradOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.blk.out}, nil
}
func (op *blockBiasGradOp[T]) DiffWRT(n int) []bool { return op.noDiff(n) }
func (op *blockBiasGradOp[T]) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return op.notDiff()
}
func (op *blockBiasGradOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 2)
	if err != nil {
		return nil, err
	}
	b := op.blk
	ohw := (b.h / 2) * (b.w / 2)
	for i := range in {
		if err := checkLen(op.name, in[i], b.n*b.out*ohw); err != nil {
			return nil, err
		}
	}
	acc := make([]float64, b.out)
	for p := 0; p < b.n*b.out; p++ {
		var sum float64
		y := in[1][p*ohw:][:ohw]
		for j, g := range in[0][p*ohw:][:ohw] {
			if y[j] != 0 {
				sum += float64(g)
			}
		}
		acc[p%b.out] += sum
	}
	db, dbd := newDense[T](b.out)
	for i, v := range acc {
		dbd[i] = T(v)
	}
	return db, nil
}

// convWGradOp computes the weight gradient dpre·colᵀ.
type convWGradOp[T float] struct {
	opBase
	blk *blockOp[T]
}

func (op *convWGradOp[T]) Arity() int    { return 1 }
func (op *convWGradOp[T]) Type() hm.Type { return hm.NewFnType(tensorType(2), tensorType(4)) }
func (op *convWGradOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.blk.out, op.blk.c, 3, 3}, nil
}
func (op *convWGradOp[T]) DiffWRT(n int) []bool { return op.noDiff(n) }
func (op *convWGradOp[T]) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return op.notDiff()
}
func (op *convWGradOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 1)
	if err != nil {
		return nil, err
	}
	b := op.blk
	k, nhw := b.c*9, b.n*b.h*b.w
	if err := checkLen(op.name, in[0], b.out*nhw); err != nil {
		return nil, err
	}
	if b.col == nil {
		return nil, errors.New(op.name + ": the block has not run")
	}
	dW, dWd := newDense[T](b.out, b.c, 3, 3)
	matmul(false, true, b.out, k, nhw, in[0], nhw, b.col, nhw, 0, dWd, k)
	return dW, nil
}

// convXGradOp computes the input gradient col2im(Wᵀ·dpre).
type convXGradOp[T float] struct {
	opBase
	blk  *blockOp[T]
	dcol []T
}

func (op *convXGradOp[T]) Arity() int { return 2 }
func (op *convXGradOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(4), tensorType(4))
}
func (op *convXGradOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	b := op.blk
	return tensor.Shape{b.n, b.c, b.h, b.w}, nil
}
func (op *convXGradOp[T]) DiffWRT(n int) []bool { return op.noDiff(n) }
func (op *convXGradOp[T]) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return op.notDiff()
}
func (op *convXGradOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 2)
	if err != nil {
		return nil, err
	}
	b := op.blk
	k, nhw := b.c*9, b.n*b.h*b.w
	if err := checkLen(op.name, in[0], b.out*nhw); err != nil {
		return nil, err
	}
	if err := checkLen(op.name, in[1], b.out*k); err != nil {
		return nil, err
	}
	if op.dcol == nil {
		op.dcol = make([]T, k*nhw)
	}
	matmul(true, false, k, nhw, b.out, in[1], k, in[0], nhw, 0, op.dcol, nhw)
	dx, dxd := newDense[T](b.n, b.c, b.h, b.w)
	col2im3(op.dcol, b.n, b.c, b.h, b.w, dxd)
	return dx, nil
}

// ---- ReLU (and dropout) ----

// reluOp is torch's ReLU on an n×c tensor (the MLP's hidden layers),
// followed in an MLP's training graph by torch's Dropout(p) when drop is
// set: the dropout is folded into the ReLU's pass and output, so it costs
// no tensor of its own.
type reluOp[T float] struct {
	opBase
	n, c int
	// drop, layer: the MLP's dropout and this hidden layer's index (1 for
	// the first); nil: no dropout.
	drop  *dropout
	layer int
	keep  []bool // the last mask (true: kept), read by the gradient op
	pcg   rand.PCG
}

func newReLUOp[T float](n, c int) *reluOp[T] {
	return &reluOp[T]{opBase: newBase("relu"), n: n, c: c}
}

// withDropout makes the op apply drop after the ReLU, as hidden layer
// layer (≥ 1).
func (op *reluOp[T]) withDropout(drop *dropout, layer int) {
	op.opBase = newBase(fmt.Sprintf("relu+dropout(%v)", drop.p))
	op.drop, op.layer = drop, layer
}

func (op *reluOp[T]) Arity() int    { return 1 }
func (op *reluOp[T]) Type() hm.Type { return hm.NewFnType(tensorType(2), tensorType(2)) }
func (op *reluOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.c}, nil
}
func (op *reluOp[T]) DiffWRT(int) []bool { return []bool{true} }
func (op *reluOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 1)
	if err != nil {
		return nil, err
	}
	if err := checkLen(op.name, in[0], op.n*op.c); err != nil {
		return nil, err
	}
	y, yd := newDense[T](op.n, op.c)
	relu(in[0], yd)
	if op.drop != nil {
		if op.keep == nil {
			op.keep = make([]bool, len(yd))
		}
		op.drop.seedMask(&op.pcg, op.layer)
		dropoutMask(yd, op.keep, &op.pcg, op.drop.threshold, dropoutScale[T](op.drop.p))
	}
	return y, nil
}
func (op *reluOp[T]) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	gop := &reluGradOp[T]{opBase: newBase("relu.dx"), n: op.n, c: op.c}
	if op.drop != nil {
		gop.fwd = op
	}
	dx, err := G.ApplyOp(gop, output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx}, nil
}

// reluGradOp is dy where y ≠ 0, else 0 (torch's threshold_backward on the
// ReLU's output). After dropout (fwd set) it is dy/(1−p) where the
// element was kept and y ≠ 0, else 0: torch's dropout backward (dy times
// the mask) then threshold_backward; a kept element is nonzero after the
// dropout exactly when it was before (1/(1−p) ≥ 1).
type reluGradOp[T float] struct {
	opBase
	n, c int
	fwd  *reluOp[T] // the forward op, when it applied dropout
}

func (op *reluGradOp[T]) Arity() int { return 2 }
func (op *reluGradOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(2), tensorType(2))
}
func (op *reluGradOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.c}, nil
}
func (op *reluGradOp[T]) DiffWRT(n int) []bool { return op.noDiff(n) }
func (op *reluGradOp[T]) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return op.notDiff()
}
func (op *reluGradOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 2)
	if err != nil {
		return nil, err
	}
	for i := range in {
		if err := checkLen(op.name, in[i], op.n*op.c); err != nil {
			return nil, err
		}
	}
	dx, dxd := newDense[T](op.n, op.c)
	if f := op.fwd; f != nil {
		if len(f.keep) != len(dxd) {
			return nil, errors.New(op.name + ": the dropout has not run")
		}
		dropoutGrad(in[0], in[1], f.keep, dropoutScale[T](f.drop.p), dxd)
		return dx, nil
	}
	reluGrad(in[0], in[1], dxd)
	return dx, nil
}

// dropout is an MLP's dropout: torch's nn.Dropout(p) in training.
type dropout struct {
	p float64
	// threshold is p·2^64: an activation is zeroed when its draw (a
	// uint64) is below it, with probability p.
	threshold uint64
	seed      uint64
	// step counts the MLP's successful training steps: the next step's
	// index. The network's lock guards it.
	step uint64
}

// The constants that make each (layer, step) mask's PCG seed distinct.
const (
	dropoutLayerMul = 0x9e3779b97f4a7c15 // odd: l ↦ l·k is a bijection
	dropoutStream   = 0x64726f706f757420 // "dropout "
)

func newDropout(p float64, seed uint64) *dropout {
	return &dropout{p: p, threshold: uint64(p * 0x1p64), seed: seed}
}

// seedMask seeds pcg for the mask of hidden layer layer at the current
// step: (Seed ^ layer·0x9e3779b97f4a7c15, step ^ 0x64726f706f757420).
func (d *dropout) seedMask(pcg *rand.PCG, layer int) {
	pcg.Seed(d.seed^uint64(layer)*dropoutLayerMul, d.step^dropoutStream)
}

// dropoutScale is 1/(1−p) as torch computes it for a T tensor: 1−p in
// float64, then the division in T.
func dropoutScale[T float](p float64) T { return 1 / T(1-p) }

// dropoutMask applies inverted dropout to y in place: one draw per value
// in order, the value zeroed (multiplied by 0, so NaN stays NaN as in
// torch) when the draw is below threshold, else multiplied by scale;
// keep records which were kept.
func dropoutMask[T float](y []T, keep []bool, pcg *rand.PCG, threshold uint64, scale T) {
	for i := range y {
		k := pcg.Uint64() >= threshold
		keep[i] = k
		if k {
			y[i] *= scale
		} else {
			y[i] *= 0
		}
	}
}

// dropoutGrad sets dx = dy·scale where keep and y ≠ 0, else 0.
func dropoutGrad[T float](y, dy []T, keep []bool, scale T, dx []T) {
	for i, v := range y {
		var g T
		if keep[i] && v != 0 {
			g = dy[i] * scale
		}
		dx[i] = g
	}
}

// channelSumOp sums an n×c×… tensor over every axis but axis 1.
type channelSumOp[T float] struct {
	opBase
	dims    int
	n, c, s int
}

func (op *channelSumOp[T]) Arity() int { return 1 }
func (op *channelSumOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(op.dims), tensorType(1))
}
func (op *channelSumOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.c}, nil
}
func (op *channelSumOp[T]) DiffWRT(n int) []bool { return op.noDiff(n) }
func (op *channelSumOp[T]) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return op.notDiff()
}
func (op *channelSumOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 1)
	if err != nil {
		return nil, err
	}
	if err := checkLen(op.name, in[0], op.n*op.c*op.s); err != nil {
		return nil, err
	}
	out, outd := newDense[T](op.c)
	channelSum(in[0], op.n, op.c, op.s, outd)
	return out, nil
}

// ---- dense layer ----

// linearOp is torch's Linear: y = x·Wᵀ + b for x n×in, W out×in, b out.
type linearOp[T float] struct {
	opBase
	n, in, out int
	inputGrad  bool
}

func newLinearOp[T float](n, in, out int, inputGrad bool) *linearOp[T] {
	return &linearOp[T]{opBase: newBase(fmt.Sprintf("linear(%d→%d)", in, out)), n: n, in: in, out: out, inputGrad: inputGrad}
}

func (op *linearOp[T]) Arity() int { return 3 }
func (op *linearOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(2), tensorType(1), tensorType(2))
}
func (op *linearOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	return tensor.Shape{op.n, op.out}, nil
}
func (op *linearOp[T]) DiffWRT(int) []bool { return []bool{op.inputGrad, true, true} }
func (op *linearOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 3)
	if err != nil {
		return nil, err
	}
	for i, want := range []int{op.n * op.in, op.out * op.in, op.out} {
		if err := checkLen(op.name, in[i], want); err != nil {
			return nil, err
		}
	}
	y, yd := newDense[T](op.n, op.out)
	matmul(false, true, op.n, op.out, op.in, in[0], op.in, in[1], op.in, 0, yd, op.out)
	addRowBias(yd, in[2], op.n)
	return y, nil
}
func (op *linearOp[T]) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	var dx *G.Node
	var err error
	if op.inputGrad {
		if dx, err = G.ApplyOp(&linearGradOp[T]{opBase: newBase("linear.dx"), lin: op, wrt: 0}, grad, inputs[1]); err != nil {
			return nil, err
		}
	}
	dW, err := G.ApplyOp(&linearGradOp[T]{opBase: newBase("linear.dW"), lin: op, wrt: 1}, grad, inputs[0])
	if err != nil {
		return nil, err
	}
	db, err := G.ApplyOp(&channelSumOp[T]{opBase: newBase("linear.db"), dims: 2, n: op.n, c: op.out, s: 1}, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dx, dW, db}, nil
}

// linearGradOp is dy·W (wrt 0, the input gradient, given dy and W) or
// dyᵀ·x (wrt 1, the weight gradient, given dy and x).
type linearGradOp[T float] struct {
	opBase
	lin *linearOp[T]
	wrt int
}

func (op *linearGradOp[T]) Arity() int { return 2 }
func (op *linearGradOp[T]) Type() hm.Type {
	return hm.NewFnType(tensorType(2), tensorType(2), tensorType(2))
}
func (op *linearGradOp[T]) InferShape(...G.DimSizer) (tensor.Shape, error) {
	if op.wrt == 0 {
		return tensor.Shape{op.lin.n, op.lin.in}, nil
	}
	return tensor.Shape{op.lin.out, op.lin.in}, nil
}
func (op *linearGradOp[T]) DiffWRT(n int) []bool { return op.noDiff(n) }
func (op *linearGradOp[T]) SymDiff(G.Nodes, *G.Node, *G.Node) (G.Nodes, error) {
	return op.notDiff()
}
func (op *linearGradOp[T]) Do(vs ...G.Value) (G.Value, error) {
	in, err := values[T](op.name, vs, 2)
	if err != nil {
		return nil, err
	}
	l := op.lin
	if err := checkLen(op.name, in[0], l.n*l.out); err != nil {
		return nil, err
	}
	if op.wrt == 0 {
		if err := checkLen(op.name, in[1], l.out*l.in); err != nil {
			return nil, err
		}
		dx, dxd := newDense[T](l.n, l.in)
		matmul(false, false, l.n, l.in, l.out, in[0], l.out, in[1], l.in, 0, dxd, l.in)
		return dx, nil
	}
	if err := checkLen(op.name, in[1], l.n*l.in); err != nil {
		return nil, err
	}
	dW, dWd := newDense[T](l.out, l.in)
	matmul(true, false, l.out, l.in, l.n, in[0], l.out, in[1], l.in, 0, dWd, l.in)
	return dW, nil
}
