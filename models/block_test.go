package models

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// torchBlock is a direct transcription of torch's semantics for
// Conv2d(3, padding=1) → ReLU → MaxPool2d(2) and its backward pass, loop by
// loop, in float64.
type torchBlock struct {
	n, c, h, w, out int
	x, wt, b        []float64
	pre, r, y       []float64 // pre-activation, ReLU output, pooled output
	idx             []int     // argmax within each output's input plane
}

func (t *torchBlock) xAt(i, ci, y, x int) float64 {
	if y < 0 || y >= t.h || x < 0 || x >= t.w {
		return 0
	}
	return t.x[((i*t.c+ci)*t.h+y)*t.w+x]
}

func (t *torchBlock) forward() {
	hw, oh, ow := t.h*t.w, t.h/2, t.w/2
	t.pre = make([]float64, t.n*t.out*hw)
	t.r = make([]float64, len(t.pre))
	for i := 0; i < t.n; i++ {
		for co := 0; co < t.out; co++ {
			for y := 0; y < t.h; y++ {
				for x := 0; x < t.w; x++ {
					s := t.b[co]
					for ci := 0; ci < t.c; ci++ {
						for ky := 0; ky < 3; ky++ {
							for kx := 0; kx < 3; kx++ {
								s += t.wt[((co*t.c+ci)*3+ky)*3+kx] * t.xAt(i, ci, y+ky-1, x+kx-1)
							}
						}
					}
					k := (i*t.out+co)*hw + y*t.w + x
					t.pre[k] = s
					t.r[k] = s
					if s <= 0 { // torch.relu: NaN stays NaN
						t.r[k] = 0
					}
				}
			}
		}
	}
	t.y = make([]float64, t.n*t.out*oh*ow)
	t.idx = make([]int, len(t.y))
	for p := 0; p < t.n*t.out; p++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				maxval, maxidx := math.Inf(-1), 2*oy*t.w+2*ox
				for y := 2 * oy; y < 2*oy+2; y++ {
					for x := 2 * ox; x < 2*ox+2; x++ {
						v := t.r[p*hw+y*t.w+x]
						if v > maxval || math.IsNaN(v) {
							maxval, maxidx = v, y*t.w+x
						}
					}
				}
				t.y[p*oh*ow+oy*ow+ox] = maxval
				t.idx[p*oh*ow+oy*ow+ox] = maxidx
			}
		}
	}
}

// backward returns d/dpre (n×out×h×w), dW, db and dx for output gradient dy.
func (t *torchBlock) backward(dy []float64) (dpre, dW, db, dx []float64) {
	hw, ohw := t.h*t.w, (t.h/2)*(t.w/2)
	dr := make([]float64, len(t.r))
	for p := 0; p < t.n*t.out; p++ {
		for j := 0; j < ohw; j++ {
			dr[p*hw+t.idx[p*ohw+j]] += dy[p*ohw+j]
		}
	}
	dpre = make([]float64, len(dr))
	for k, g := range dr {
		if !(t.r[k] <= 0) { // threshold_backward(grad, result, 0)
			dpre[k] = g
		}
	}
	dW = make([]float64, len(t.wt))
	db = make([]float64, t.out)
	dx = make([]float64, len(t.x))
	for i := 0; i < t.n; i++ {
		for co := 0; co < t.out; co++ {
			for y := 0; y < t.h; y++ {
				for x := 0; x < t.w; x++ {
					g := dpre[(i*t.out+co)*hw+y*t.w+x]
					db[co] += g
					for ci := 0; ci < t.c; ci++ {
						for ky := 0; ky < 3; ky++ {
							for kx := 0; kx < 3; kx++ {
								sy, sx := y+ky-1, x+kx-1
								if sy < 0 || sy >= t.h || sx < 0 || sx >= t.w {
									continue
								}
								wi := ((co*t.c+ci)*3+ky)*3 + kx
								dW[wi] += g * t.xAt(i, ci, sy, sx)
								dx[((i*t.c+ci)*t.h+sy)*t.w+sx] += g * t.wt[wi]
							}
						}
					}
				}
			}
		}
	}
	return dpre, dW, db, dx
}

func dense64(data []float64, shape ...int) *tensor.Dense {
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

func sameFloats(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestBlockMatchesTorch compares a conv block's ops with torch's loops on
// small integers, where every sum is exact and ties (in the pool, at the
// ReLU's 0) are everywhere, and with a NaN input.
func TestBlockMatchesTorch(t *testing.T) {
	for _, tc := range []struct {
		name string
		nan  bool
	}{{"integers", false}, {"nan", true}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(10, 20))
			tb := &torchBlock{n: 2, c: 2, h: 5, w: 7, out: 3}
			ints := func(n, lo, hi int) []float64 {
				out := make([]float64, n)
				for i := range out {
					out[i] = float64(lo + rng.IntN(hi-lo+1))
				}
				return out
			}
			tb.x = ints(tb.n*tb.c*tb.h*tb.w, -2, 2)
			tb.wt = ints(tb.out*tb.c*9, -1, 1)
			tb.b = ints(tb.out, -1, 1)
			if tc.nan {
				for i := range tb.wt { // gonum's GEMM may skip 0·NaN
					if tb.wt[i] == 0 {
						tb.wt[i] = 1
					}
				}
				tb.x[17] = math.NaN()
			}
			tb.forward()
			op := newBlockOp[float64](tb.n, tb.c, tb.h, tb.w, tb.out, true)
			yv, err := op.Do(dense64(tb.x, tb.n, tb.c, tb.h, tb.w), dense64(tb.wt, tb.out, tb.c, 3, 3), dense64(tb.b, tb.out))
			if err != nil {
				t.Fatal(err)
			}
			sameFloats(t, "y", yv.Data().([]float64), tb.y)
			ties := 0
			for _, v := range tb.y {
				if v == 0 {
					ties++
				}
			}
			if !tc.nan && (ties == 0 || ties == len(tb.y)) {
				t.Fatalf("%d of %d outputs are 0: the test does not exercise the ReLU", ties, len(tb.y))
			}

			dy := ints(len(tb.y), -3, 3)
			dpre, dW, db, dx := tb.backward(dy)
			gop := &blockGradOp[float64]{opBase: newBase("g"), blk: op}
			dpv, err := gop.Do(dense64(dy, tb.n, tb.out, tb.h/2, tb.w/2), yv)
			if err != nil {
				t.Fatal(err)
			}
			// dpre is channel-major (out × n·h·w): reorder torch's.
			hw := tb.h * tb.w
			want := make([]float64, len(dpre))
			for i := 0; i < tb.n; i++ {
				for co := 0; co < tb.out; co++ {
					copy(want[(co*tb.n+i)*hw:][:hw], dpre[(i*tb.out+co)*hw:][:hw])
				}
			}
			sameFloats(t, "dpre", dpv.Data().([]float64), want)
			if tc.nan {
				return
			}
			dWv, err := (&convWGradOp[float64]{opBase: newBase("w"), blk: op}).Do(dpv)
			if err != nil {
				t.Fatal(err)
			}
			sameFloats(t, "dW", dWv.Data().([]float64), dW)
			dbv, err := (&blockBiasGradOp[float64]{opBase: newBase("b"), blk: op}).Do(dense64(dy, tb.n, tb.out, tb.h/2, tb.w/2), yv)
			if err != nil {
				t.Fatal(err)
			}
			sameFloats(t, "db", dbv.Data().([]float64), db)
			dxv, err := (&convXGradOp[float64]{opBase: newBase("x"), blk: op}).Do(dpv, dense64(tb.wt, tb.out, tb.c, 3, 3))
			if err != nil {
				t.Fatal(err)
			}
			sameFloats(t, "dx", dxv.Data().([]float64), dx)
		})
	}
}

// TestOpInputErrors checks that the ops reject inputs of the wrong size or
// type with errors instead of panicking.
func TestOpInputErrors(t *testing.T) {
	blk := newBlockOp[float32](1, 1, 4, 4, 2, true)
	lin := newLinearOp[float32](2, 3, 4, true)
	short := tensor.New(tensor.WithShape(3), tensor.WithBacking([]float32{1, 2, 3}))
	f64 := dense64([]float64{1, 2, 3}, 3)
	ops := []struct {
		name string
		op   G.Op
		n    int
	}{
		{"block", blk, 3},
		{"blockGrad", &blockGradOp[float32]{opBase: newBase("g"), blk: blk}, 2},
		{"blockBias", &blockBiasGradOp[float32]{opBase: newBase("bb"), blk: blk}, 2},
		{"convW", &convWGradOp[float32]{opBase: newBase("w"), blk: blk}, 1},
		{"convX", &convXGradOp[float32]{opBase: newBase("x"), blk: blk}, 2},
		{"relu", newReLUOp[float32](2, 2), 1},
		{"reluGrad", &reluGradOp[float32]{opBase: newBase("r"), n: 2, c: 2}, 2},
		{"channelSum", &channelSumOp[float32]{opBase: newBase("c"), dims: 2, n: 2, c: 2, s: 1}, 1},
		{"linear", lin, 3},
		{"linearGrad", &linearGradOp[float32]{opBase: newBase("l"), lin: lin}, 2},
		{"loss", newLossOp[float32](2, 2), 1},
		{"lossGrad", &lossGradOp[float32]{opBase: newBase("lg"), loss: newLossOp[float32](2, 2)}, 3},
	}
	for _, tc := range ops {
		shorts := []G.Value{short, short, short}[:tc.n]
		f64s := []G.Value{f64, f64, f64}[:tc.n]
		for _, args := range [][]G.Value{nil, shorts, f64s, {G.NewF32(1)}} {
			if _, err := tc.op.Do(args...); err == nil {
				t.Errorf("%s: Do(%d args) succeeded", tc.name, len(args))
			}
		}
	}
}
