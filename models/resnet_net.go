package models

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// convBN is a convolution followed by a BatchNorm (and optionally a
// residual addition and a ReLU): the unit every ResNet layer is made of.
// In training it keeps the convolution's output c (for BatchNorm's
// gradient) and its own output y (the next layer's input and the ReLU's
// mask).
type convBN[T float] struct {
	conv conv2d[T]
	bn   *batchNorm[T]
	relu bool
	c, y fmap[T]
}

// forward runs the unit on x, adding res (when not nil) before the ReLU.
func (u *convBN[T]) forward(x fmap[T], res []T, r *resnet[T]) fmap[T] {
	c := u.conv.forward(x, &r.pool)
	if !r.keep {
		u.bn.forward(c, c.d, res, u.relu, r.batchStats, r.batchStats)
		return c
	}
	y := c
	y.d = r.pool.get(len(c.d))
	u.bn.forward(c, y.d, res, u.relu, r.batchStats, r.batchStats)
	u.c, u.y = c, y
	return y
}

// backward takes dy, the gradient of the unit's output after the ReLU's
// mask (which the caller applies), and returns the gradient of its input x
// (when needDX); it consumes dy and releases c.
func (u *convBN[T]) backward(x, dy fmap[T], needDX bool, r *resnet[T]) fmap[T] {
	u.bn.backward(u.c, dy.d, r.batchStats, true)
	dx := u.conv.backward(x, dy, needDX, &r.pool)
	r.pool.put(dy.d)
	r.pool.put(u.c.d)
	u.c = fmap[T]{}
	return dx
}

// resBlock is torchvision's BasicBlock (two 3×3 units) or Bottleneck
// (1×1, 3×3 with the stride, 1×1 with 4× the channels), with its
// downsample (a 1×1 convolution with the stride and a BatchNorm) when the
// shape changes.
type resBlock[T float] struct {
	units []*convBN[T]
	ds    *convBN[T]
	x     fmap[T] // the input (owned by the layer before)
}

func (b *resBlock[T]) forward(x fmap[T], r *resnet[T]) fmap[T] {
	b.x = x
	h := x
	last := len(b.units) - 1
	for i, u := range b.units[:last] {
		nh := u.forward(h, nil, r)
		if !r.keep && i > 0 {
			r.pool.put(h.d)
		}
		h = nh
	}
	idn := x.d
	var ds fmap[T]
	if b.ds != nil {
		ds = b.ds.forward(x, nil, r)
		idn = ds.d
	}
	out := b.units[last].forward(h, idn, r)
	if b.ds != nil {
		r.pool.put(ds.d) // the identity is consumed (in training ds.c is kept)
		b.ds.y = fmap[T]{}
	}
	if !r.keep {
		if last > 0 {
			r.pool.put(h.d)
		}
		r.pool.put(x.d)
		b.x = fmap[T]{}
	}
	return out
}

// backward consumes dout, the gradient of the block's output, releases
// the block's output and activations and returns the gradient of its
// input.
func (b *resBlock[T]) backward(dout fmap[T], r *resnet[T]) fmap[T] {
	last := len(b.units) - 1
	out := b.units[last].y
	reluMask(out.d, dout.d)
	r.pool.put(out.d)
	b.units[last].y = fmap[T]{}
	var did fmap[T]
	t := dout
	t.d = r.pool.get(len(dout.d))
	parallel(len(t.d), len(t.d), func(lo, hi int) { copy(t.d[lo:hi], dout.d[lo:hi]) })
	if b.ds != nil {
		did = b.ds.backward(b.x, t, true, r)
	} else {
		did = t
	}
	g := dout
	for i := last; i >= 0; i-- {
		u := b.units[i]
		if i < last {
			reluMask(u.y.d, g.d)
			r.pool.put(u.y.d)
			u.y = fmap[T]{}
		}
		in := b.x
		if i > 0 {
			in = b.units[i-1].y
		}
		g = u.backward(in, g, true, r)
	}
	parallel(len(g.d), len(g.d), func(lo, hi int) {
		d := g.d[lo:hi]
		for j, v := range did.d[lo:hi] {
			d[j] += v
		}
	})
	r.pool.put(did.d)
	b.x = fmap[T]{}
	return g
}

// resnet is the network behind ResNet, generic so that the
// finite-difference tests run it in float64.
type resnet[T float] struct {
	cfg    ResNetConfig
	stem   *convBN[T]
	blocks []*resBlock[T]
	fcW    *Param // nil without fc
	fcB    *Param
	feat   int // channels of the pooled features (512 or 2048)
	// all holds every parameter in torchvision's order; trainable those
	// that Params returns.
	all, trainable []*Param
	bns            []*batchNorm[T]
	bnNames        []string
	pool           bufPool[T]
	lastN          int
	// State of the current forward pass.
	keep       bool // training: keep the activations for backward
	batchStats bool // BatchNorm in train mode
	eval       bool // training steps in eval mode (EvalModer)
	in, pooled fmap[T]
	arg        []int32
	pooledFeat []T // n×feat
}

// resnetLayers is torchvision's blocks per stage for each depth.
var resnetLayers = map[int][4]int{18: {2, 2, 2, 2}, 34: {3, 4, 6, 3}, 50: {3, 4, 6, 3}, 101: {3, 4, 23, 3}}

func newResNet[T float](cfg ResNetConfig) *resnet[T] {
	r := &resnet[T]{cfg: cfg}
	rng := rand.New(rand.NewPCG(cfg.Seed, seedStream))
	unit := func(prefix, bnName string, cin, cout, k, stride, pad int, relu bool) *convBN[T] {
		w := newParam[T](prefix+".weight", []int{cout, cin, k, k}, cout, cin, k, k)
		// kaiming_normal_(mode="fan_out", nonlinearity="relu")
		std := math.Sqrt(2 / float64(cout*k*k))
		for i, v := 0, w.value.Data().([]T); i < len(v); i++ {
			v[i] = T(std * rng.NormFloat64())
		}
		bn := newBatchNorm[T](bnName, cout)
		r.all = append(r.all, w, bn.w, bn.b)
		r.bns = append(r.bns, bn)
		r.bnNames = append(r.bnNames, bnName)
		return &convBN[T]{conv: conv2d[T]{cin: cin, cout: cout, k: k, stride: stride, pad: pad, w: w}, bn: bn, relu: relu}
	}
	r.stem = unit("conv1", "bn1", cfg.Channels, 64, 7, 2, 3, true)
	bottleneck := cfg.Depth >= 50
	expansion := 1
	if bottleneck {
		expansion = 4
	}
	in := 64
	for s, nb := range resnetLayers[cfg.Depth] {
		planes := 64 << s
		stride := 1
		if s > 0 {
			stride = 2
		}
		for i := range nb {
			p := fmt.Sprintf("layer%d.%d.", s+1, i)
			st := 1
			if i == 0 {
				st = stride
			}
			b := &resBlock[T]{}
			if bottleneck {
				b.units = []*convBN[T]{
					unit(p+"conv1", p+"bn1", in, planes, 1, 1, 0, true),
					unit(p+"conv2", p+"bn2", planes, planes, 3, st, 1, true),
					unit(p+"conv3", p+"bn3", planes, planes*4, 1, 1, 0, true),
				}
			} else {
				b.units = []*convBN[T]{
					unit(p+"conv1", p+"bn1", in, planes, 3, st, 1, true),
					unit(p+"conv2", p+"bn2", planes, planes, 3, 1, 1, true),
				}
			}
			if st != 1 || in != planes*expansion {
				b.ds = unit(p+"downsample.0", p+"downsample.1", in, planes*expansion, 1, st, 0, false)
			}
			in = planes * expansion
			r.blocks = append(r.blocks, b)
		}
	}
	r.feat = in
	if cfg.NumClasses > 0 {
		r.fcW = newParam[T]("fc.weight", []int{cfg.NumClasses, in}, cfg.NumClasses, in)
		r.fcB = newParam[T]("fc.bias", []int{cfg.NumClasses}, cfg.NumClasses)
		initUniform[T](r.fcW, kaimingBound(in), rng)
		initUniform[T](r.fcB, kaimingBound(in), rng)
		r.all = append(r.all, r.fcW, r.fcB)
	}
	r.trainable = r.all
	return r
}

// embedding is the size of the network's output.
func (r *resnet[T]) embedding() int {
	if r.fcW != nil {
		return r.cfg.NumClasses
	}
	return r.feat
}

// forward runs x (n samples, NCHW) and returns the n×E output. With train
// the BatchNorms use batch statistics (unless frozen or in eval mode) and the activations
// are kept for backward.
func (r *resnet[T]) forward(x []T, n int, train bool) []T {
	if n != r.lastN {
		r.pool.reset()
		r.lastN = n
	}
	r.keep = train
	r.batchStats = train && !r.cfg.FreezeBatchNorm && !r.eval
	c, h, w := r.cfg.Channels, r.cfg.Height, r.cfg.Width
	in := fmap[T]{c: c, n: n, h: h, w: w, d: r.pool.get(n * c * h * w)}
	nchwToCNHW(x, n, c, h*w, in.d)
	y1 := r.stem.forward(in, nil, r)
	if train {
		r.in = in
	} else {
		r.pool.put(in.d)
	}
	p := fmap[T]{c: y1.c, n: n, h: (y1.h-1)/2 + 1, w: (y1.w-1)/2 + 1}
	p.d = r.pool.get(p.c * p.plane())
	if len(r.arg) != len(p.d) {
		r.arg = make([]int32, len(p.d))
	}
	maxPool3(y1, p, r.arg)
	if !train {
		r.pool.put(y1.d)
	}
	r.pooled = p
	hcur := p
	for _, b := range r.blocks {
		hcur = b.forward(hcur, r)
	}
	if len(r.pooledFeat) != n*r.feat {
		r.pooledFeat = make([]T, n*r.feat)
	}
	avgPool(hcur, r.pooledFeat)
	if !train {
		r.pool.put(hcur.d)
		r.pooled = fmap[T]{}
	}
	e := r.embedding()
	out := make([]T, n*e)
	if r.fcW == nil {
		copy(out, r.pooledFeat)
		return out
	}
	matmul(false, true, n, e, r.feat, r.pooledFeat, r.feat, r.fcW.value.Data().([]T), r.feat, 0, out, e)
	addRowBias(out, r.fcB.value.Data().([]T), n)
	return out
}

// backward propagates dout (n×E) through the network kept by the last
// training forward, setting every trainable parameter's gradient; it
// returns d/dx (NCHW) when inputGrad, and releases the activations.
func (r *resnet[T]) backward(dout []T, n int, inputGrad bool) []T {
	dfeat := dout
	if r.fcW != nil {
		e := r.cfg.NumClasses
		matmul(true, false, e, r.feat, n, dout, e, r.pooledFeat, r.feat, 0, r.fcW.grad.Data().([]T), r.feat)
		channelSum(dout, n, e, 1, r.fcB.grad.Data().([]T))
		dfeat = make([]T, n*r.feat)
		matmul(false, false, n, r.feat, e, dout, e, r.fcW.value.Data().([]T), r.feat, 0, dfeat, r.feat)
	}
	lastB := r.blocks[len(r.blocks)-1]
	out := lastB.units[len(lastB.units)-1].y
	g := fmap[T]{c: out.c, n: out.n, h: out.h, w: out.w, d: r.pool.get(len(out.d))}
	avgPoolGrad(dfeat, g)
	for i := len(r.blocks) - 1; i >= 0; i-- {
		g = r.blocks[i].backward(g, r)
	}
	r.pool.put(r.pooled.d)
	r.pooled = fmap[T]{}
	y1 := r.stem.y
	dy1 := y1
	dy1.d = r.pool.get(len(y1.d))
	maxPool3Grad(g, dy1.d, y1.h*y1.w, r.arg)
	r.pool.put(g.d)
	reluMask(y1.d, dy1.d)
	r.pool.put(y1.d)
	r.stem.y = fmap[T]{}
	dx := r.stem.backward(r.in, dy1, inputGrad, r)
	var out2 []T
	if inputGrad {
		c, hw := r.cfg.Channels, r.cfg.Height*r.cfg.Width
		out2 = make([]T, n*c*hw)
		cnhwToNCHW(dx.d, n, c, hw, out2)
		r.pool.put(dx.d)
	}
	r.pool.put(r.in.d)
	r.in = fmap[T]{}
	r.keep = false
	return out2
}

// abandon drops the activations of a training forward that will not be
// backpropagated (the loss failed).
func (r *resnet[T]) abandon() {
	r.pool.reset()
	r.in, r.pooled = fmap[T]{}, fmap[T]{}
	r.stem.c, r.stem.y = fmap[T]{}, fmap[T]{}
	for _, b := range r.blocks {
		b.x = fmap[T]{}
		for _, u := range append(b.units, b.ds) {
			if u != nil {
				u.c, u.y = fmap[T]{}, fmap[T]{}
			}
		}
	}
	r.keep = false
}

// smallestPlane is n·h·w of the last stage (the fewest values a
// BatchNorm normalises over) for n samples.
func (r *resnet[T]) smallestPlane(n int) int {
	h, w := r.cfg.Height, r.cfg.Width
	h, w = (h-1)/2+1, (w-1)/2+1 // conv1
	h, w = (h-1)/2+1, (w-1)/2+1 // max-pool
	for range 3 {
		h, w = (h-1)/2+1, (w-1)/2+1
	}
	return n * h * w
}
