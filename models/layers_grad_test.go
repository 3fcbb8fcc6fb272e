package models

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/fdiff"
	"gonum.org/v1/gonum/mat"
)

// fdCheck compares an analytic gradient of f with respect to x (whose
// backing array f reads) with central finite differences, on at most
// limit entries spread over x.
func fdCheck(t *testing.T, what string, x, analytic []float64, f func() float64, limit int) {
	t.Helper()
	if len(x) != len(analytic) {
		t.Fatalf("%s: %d values, gradient has %d", what, len(x), len(analytic))
	}
	step := max(1, len(x)/limit)
	for lo := 0; lo < len(x); lo += step {
		v := mat.NewDense(1, 1, x[lo:lo+1]) // shares x's memory
		got := fdiff.Gradient(f, v, 1e-6)
		want := mat.NewDense(1, 1, []float64{analytic[lo]})
		if err := fdiff.Compare(want, got, 1e-5, 1e-7); err != nil {
			t.Errorf("%s: entry %d: analytic vs finite differences: %v", what, lo, err)
			return
		}
	}
}

func normals(rng *rand.Rand, n int, scale, offset float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = offset + scale*rng.NormFloat64()
	}
	return out
}

func dot64(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// Every convolution shape of the ResNets (7×7/2 pad 3, 3×3/1 and /2 pad
// 1, 1×1/1 and /2) and some odd ones: the input and weight gradients
// against finite differences, with the batch in one col2im chunk and in
// chunks of one sample.
func TestConv2dGradients(t *testing.T) {
	defer func(b int) { colBudget = b }(colBudget)
	for _, budget := range []int{colBudget, 1} {
		colBudget = budget
		t.Run(fmt.Sprint("budget", budget), testConv2dGradients)
	}
}

func testConv2dGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		cin, cout, k, s, p, n, h, w int
	}{
		{3, 4, 7, 2, 3, 2, 9, 8},
		{2, 3, 3, 1, 1, 2, 5, 6},
		{2, 3, 3, 2, 1, 2, 7, 6},
		{3, 5, 1, 1, 0, 2, 4, 3},
		{3, 5, 1, 2, 0, 2, 5, 4},
		{2, 2, 5, 3, 2, 1, 7, 9},
		{1, 2, 3, 1, 0, 3, 3, 4},
		{2, 3, 3, 1, 1, 3, 4, 5},
		{2, 3, 3, 2, 1, 4, 5, 5},
		{2, 3, 5, 1, 2, 2, 6, 7}, // stride 1: dX by the flipped kernel
		{2, 2, 3, 1, 2, 1, 4, 4}, // padding k−1: the flipped kernel pads 0
		{2, 2, 3, 1, 3, 1, 3, 4}, // padding ≥ k: col2im
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			var pool bufPool[float64]
			l := conv2d[float64]{cin: tc.cin, cout: tc.cout, k: tc.k, stride: tc.s, pad: tc.p,
				w: newParam[float64]("w", []int{tc.cout, tc.cin, tc.k, tc.k}, tc.cout, tc.cin, tc.k, tc.k)}
			copy(l.w.value.Data().([]float64), normals(rng, tc.cout*tc.cin*tc.k*tc.k, 1, 0))
			x := fmap[float64]{c: tc.cin, n: tc.n, h: tc.h, w: tc.w, d: normals(rng, tc.cin*tc.n*tc.h*tc.w, 1, 0)}
			oh, ow := l.outSize(tc.h, tc.w)
			r := normals(rng, tc.cout*tc.n*oh*ow, 1, 0)
			f := func() float64 {
				y := l.forward(x, &pool)
				defer pool.put(y.d)
				return dot64(y.d, r)
			}
			dy := fmap[float64]{c: tc.cout, n: tc.n, h: oh, w: ow, d: append([]float64(nil), r...)}
			dx := l.backward(x, dy, true, &pool)
			gw := append([]float64(nil), l.w.grad.Data().([]float64)...)
			fdCheck(t, "dx", x.d, dx.d, f, 200)
			fdCheck(t, "dW", l.w.value.Data().([]float64), gw, f, 200)
		})
	}
}

// BatchNorm in train mode (batch statistics) and eval mode (running
// statistics), alone or with a residual and a ReLU.
func TestBatchNormGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		batch, relu, res bool
	}{
		{true, false, false}, {true, true, false}, {true, true, true}, {true, false, true},
		{false, false, false}, {false, true, true},
	} {
		t.Run(fmt.Sprintf("%+v", tc), func(t *testing.T) {
			const c, n, h, w = 3, 2, 3, 2
			l := newBatchNorm[float64]("bn", c)
			copy(l.w.value.Data().([]float64), normals(rng, c, 0.5, 1))
			copy(l.b.value.Data().([]float64), normals(rng, c, 0.3, 0))
			copy(l.mean, normals(rng, c, 0.3, 0))
			copy(l.vr, normals(rng, c, 0.1, 1))
			x := fmap[float64]{c: c, n: n, h: h, w: w, d: normals(rng, c*n*h*w, 2, 0.5)}
			var res []float64
			if tc.res {
				res = normals(rng, len(x.d), 1, 0)
			}
			r := normals(rng, len(x.d), 1, 0)
			y := make([]float64, len(x.d))
			f := func() float64 {
				l.forward(x, y, res, tc.relu, tc.batch, false)
				return dot64(y, r)
			}
			f()
			dy := append([]float64(nil), r...)
			if tc.relu {
				reluMask(y, dy)
			}
			dres := append([]float64(nil), dy...)
			l.backward(x, dy, tc.batch, true)
			gw := append([]float64(nil), l.w.grad.Data().([]float64)...)
			gb := append([]float64(nil), l.b.grad.Data().([]float64)...)
			fdCheck(t, "dx", x.d, dy, f, 100)
			fdCheck(t, "dγ", l.w.value.Data().([]float64), gw, f, 100)
			fdCheck(t, "dβ", l.b.value.Data().([]float64), gb, f, 100)
			if tc.res {
				fdCheck(t, "dres", res, dres, f, 100)
			}
		})
	}
}

// Max-pooling 3×3/2 pad 1 and average pooling.
func TestPoolingGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, sz := range [][2]int{{5, 6}, {4, 4}, {1, 3}, {7, 2}} {
		t.Run(fmt.Sprint(sz), func(t *testing.T) {
			x := fmap[float64]{c: 2, n: 2, h: sz[0], w: sz[1]}
			x.d = normals(rng, x.c*x.n*x.h*x.w, 1, 0)
			y := fmap[float64]{c: 2, n: 2, h: (sz[0]-1)/2 + 1, w: (sz[1]-1)/2 + 1}
			y.d = make([]float64, y.c*y.plane())
			arg := make([]int32, len(y.d))
			r := normals(rng, len(y.d), 1, 0)
			f := func() float64 { maxPool3(x, y, arg); return dot64(y.d, r) }
			f()
			dx := make([]float64, len(x.d))
			maxPool3Grad(fmap[float64]{c: y.c, n: y.n, h: y.h, w: y.w, d: r}, dx, x.h*x.w, arg)
			fdCheck(t, "max-pool dx", x.d, dx, f, 200)

			out := make([]float64, x.n*x.c)
			ra := normals(rng, len(out), 1, 0)
			fa := func() float64 { avgPool(x, out); return dot64(out, ra) }
			dxa := fmap[float64]{c: x.c, n: x.n, h: x.h, w: x.w, d: make([]float64, len(x.d))}
			avgPoolGrad(ra, dxa)
			fdCheck(t, "avg-pool dx", x.d, dxa.d, fa, 200)
		})
	}
}

// The whole network (BasicBlock and Bottleneck, with fc and without, with
// frozen BatchNorm — whose weight and bias still train —, train-mode
// BatchNorm for ResNet-18): input and parameter gradients of sum(out·R) against
// finite differences, in float64.
func TestResNetGradients(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, cfg := range []ResNetConfig{
		// Train-mode BatchNorm needs a few values per channel in the last
		// stage (here 3·2·2) for the finite differences to be well
		// conditioned; a Bottleneck network in train mode is not, even
		// so (errors up to 1e-2: TestTorchvisionParity matches torch's
		// float64 gradients of ResNet-50 within 1e-12 instead).
		{Depth: 18, NumClasses: 3, Channels: 2, Height: 33, Width: 40, Seed: 1},
		{Depth: 18, Channels: 1, Height: 8, Width: 10, FreezeBatchNorm: true, Seed: 3},
		{Depth: 50, NumClasses: 2, Channels: 1, Height: 9, Width: 7, FreezeBatchNorm: true, Seed: 4},
	} {
		t.Run(fmt.Sprintf("%+v", cfg), func(t *testing.T) {
			r := newResNet[float64](cfg)
			// Non-trivial BatchNorm parameters and statistics.
			for _, bn := range r.bns {
				copy(bn.w.value.Data().([]float64), normals(rng, bn.c, 0.2, 1))
				copy(bn.b.value.Data().([]float64), normals(rng, bn.c, 0.1, 0))
				copy(bn.mean, normals(rng, bn.c, 0.1, 0))
				copy(bn.vr, normals(rng, bn.c, 0.1, 1))
			}
			const n = 3
			x := normals(rng, n*cfg.Channels*cfg.Height*cfg.Width, 1, 0)
			e := r.embedding()
			rr := normals(rng, n*e, 1, 0)
			f := func() float64 { return dot64(r.forward(x, n, true), rr) }
			f()
			dx := r.backward(append([]float64(nil), rr...), n, true)
			grads := map[string][]float64{}
			for _, p := range r.trainable {
				grads[p.name] = append([]float64(nil), p.grad.Data().([]float64)...)
			}
			fdCheck(t, "dx", x, dx, f, 40)
			checked := 0
			for i, p := range r.trainable {
				if i%7 != 0 && p.name != "fc.weight" {
					continue
				}
				fdCheck(t, p.name, p.value.Data().([]float64), grads[p.name], f, 4)
				checked++
			}
			if cfg.FreezeBatchNorm {
				// PML's freeze_trunk_batchnorm only calls eval(): BatchNorm's
				// weight and bias still train, on the running statistics.
				for _, p := range r.trainable {
					if p.name == "bn1.weight" || p.name == "layer1.0.bn2.bias" {
						fdCheck(t, p.name, p.value.Data().([]float64), grads[p.name], f, 4)
						checked++
					}
				}
			}
			t.Logf("checked dx and %d parameters", checked)
		})
	}
}

// The running sums of BatchNorm: the sums and the centred squares of
// values whose mean is exactly 0, and of lengths around the four chains.
func TestBatchNormSums(t *testing.T) {
	for _, x := range [][]float64{{}, {1}, {-1, 1}, {3, -3, 2, -2, 1}, {1, 2, 3, 4, 5, 6, 7}, {-2, 2, -2, 2, -2, 2, -2, 2}} {
		var s, q, d float64
		for _, v := range x {
			s += v
		}
		mu := 0.0
		if len(x) > 0 {
			mu = s / float64(len(x))
		}
		dy := make([]float64, len(x))
		for i, v := range x {
			q += (v - mu) * (v - mu)
			dy[i] = float64(i) - 1
			d += dy[i] * (v - mu)
		}
		if got := sum4(x, false, 0); got != s {
			t.Errorf("sum4(%v) = %v, want %v", x, got, s)
		}
		if got := sum4(x, true, mu); got != q {
			t.Errorf("sum4(%v, squares about %v) = %v, want %v", x, mu, got, q)
		}
		var sd float64
		for _, v := range dy {
			sd += v
		}
		if gs, gd := dot4(dy, x, mu); gs != sd || gd != d {
			t.Errorf("dot4(%v, %v) = %v, %v, want %v, %v", dy, x, gs, gd, sd, d)
		}
	}
}
