package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/fdiff"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// softplusLoss is L = Σ softplus(a∘e) + ½ Σ e², a smooth non-quadratic
// loss with gradient a∘σ(a∘e) + e, computed in T.
func softplusLoss[T float](a []float64) lossFn[T] {
	return func(emb []T, n, e int) (T, []T, error) {
		var l float64
		g := make([]T, len(emb))
		for i, v := range emb {
			x := a[i] * float64(v)
			l += math.Log1p(math.Exp(x)) + float64(v)*float64(v)/2
			g[i] = T(a[i]/(1+math.Exp(-x)) + float64(v))
		}
		return T(l), g, nil
	}
}

// exprCase is an expression T(e) built on the embeddings e = x·w of a
// float64 graph from one or two loss ops, and the same expression in
// plain Go for the finite differences.
type exprCase struct {
	name string
	// build returns the root; l1 and l2 are loss nodes of e (l2 is a
	// second, independent loss op on the same e).
	build func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node
	// eval is T from the loss values and Σe.
	eval func(l1, l2, sum float64) float64
	// two says that the expression uses l2 (a Lisp machine differentiates
	// every node, so an unused loss node would add its gradient).
	two bool
}

var exprCases = []exprCase{
	{"L (upstream 1)", func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node { return l1 },
		func(l1, l2, sum float64) float64 { return l1 }, false},
	{"3·L", func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node { return G.Must(G.Mul(k(3.0), l1)) },
		func(l1, l2, sum float64) float64 { return 3 * l1 }, false},
	{"2·L + Σe (e has two consumers)", func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node {
		return G.Must(G.Add(G.Must(G.Mul(k(2.0), l1)), G.Must(G.Sum(e))))
	}, func(l1, l2, sum float64) float64 { return 2*l1 + sum }, false},
	{"Σe + 2·L (other operand order)", func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node {
		return G.Must(G.Add(G.Must(G.Sum(e)), G.Must(G.Mul(l1, k(2.0)))))
	}, func(l1, l2, sum float64) float64 { return sum + 2*l1 }, false},
	{"L·Σe (upstream depends on the data)", func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node {
		return G.Must(G.Mul(l1, G.Must(G.Sum(e))))
	}, func(l1, l2, sum float64) float64 { return l1 * sum }, false},
	{"2·L + L² (L has two consumers)", func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node {
		return G.Must(G.Add(G.Must(G.Mul(k(2.0), l1)), G.Must(G.Mul(l1, l1))))
	}, func(l1, l2, sum float64) float64 { return 2*l1 + l1*l1 }, false},
	{"L1 + 3·L2 (two loss ops on e)", func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node {
		return G.Must(G.Add(l1, G.Must(G.Mul(k(3.0), l2))))
	}, func(l1, l2, sum float64) float64 { return l1 + 3*l2 }, true},
	{"0.5·L2 − L1 + Σe", func(e, l1, l2 *G.Node, k func(float64) *G.Node) *G.Node {
		return G.Must(G.Add(G.Must(G.Sub(G.Must(G.Mul(k(0.5), l2)), l1)), G.Must(G.Sum(e))))
	}, func(l1, l2, sum float64) float64 { return 0.5*l2 - l1 + sum }, true},
}

// TestLossOpInExpression puts the loss op inside larger float64
// expressions — upstream gradients other than 1, the embeddings consumed
// by the loss and by other nodes, the loss consumed twice, two loss ops on
// the same embeddings — and checks dT/dw and dT/dx against central finite
// differences of the same expression computed in plain Go, in a tape
// machine (the op's SymDiff and lossGradOp) and in a Lisp machine (its
// DoDiff, which must scale by the upstream gradient and add to, not
// overwrite, the embeddings' gradient). The tape machine runs three times
// with new inputs, so a stale cache would show.
func TestLossOpInExpression(t *testing.T) {
	const n, d, e = 4, 3, 2
	rng := rand.New(rand.NewPCG(17, 18))
	a1, a2 := make([]float64, n*e), make([]float64, n*e)
	for i := range a1 {
		a1[i], a2[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	f1, f2 := softplusLoss[float64](a1), softplusLoss[float64](a2)
	// total is T on x and w in plain Go.
	total := func(c exprCase, x, w *mat.Dense) float64 {
		var emb mat.Dense
		emb.Mul(x, w)
		raw := emb.RawMatrix().Data
		l1, _, _ := f1(raw, n, e)
		l2, _, _ := f2(raw, n, e)
		return c.eval(l1, l2, mat.Sum(&emb))
	}
	for _, c := range exprCases {
		for _, machine := range []string{"tape", "lisp"} {
			t.Run(fmt.Sprintf("%s/%s", c.name, machine), func(t *testing.T) {
				g := G.NewGraph()
				xv := tensor.New(tensor.WithShape(n, d), tensor.WithBacking(make([]float64, n*d)))
				wv := tensor.New(tensor.WithShape(d, e), tensor.WithBacking(make([]float64, d*e)))
				xd, wd := xv.Data().([]float64), wv.Data().([]float64)
				x := G.NewMatrix(g, tensor.Float64, G.WithShape(n, d), G.WithName("x"), G.WithValue(xv))
				w := G.NewMatrix(g, tensor.Float64, G.WithShape(d, e), G.WithName("w"), G.WithValue(wv))
				emb := G.Must(G.Mul(x, w))
				op1, op2 := newLossOp[float64](n, e), newLossOp[float64](n, e)
				op1.fn, op2.fn = f1, f2
				l1, err := G.ApplyOp(op1, emb)
				if err != nil {
					t.Fatal(err)
				}
				var l2 *G.Node
				if c.two {
					if l2, err = G.ApplyOp(op2, emb); err != nil {
						t.Fatal(err)
					}
				}
				root := c.build(emb, l1, l2, func(v float64) *G.Node { return G.NewConstant(v) })
				var grads G.Nodes
				var vm G.VM
				if machine == "tape" {
					if grads, err = G.Grad(root, w, x); err != nil {
						t.Fatal(err)
					}
					vm = G.NewTapeMachine(g)
				} else {
					vm = G.NewLispMachine(g)
				}
				defer vm.Close()
				runs := 3
				if machine == "lisp" {
					runs = 1 // a Lisp machine's gradients accumulate across runs
				}
				for run := range runs {
					for i := range xd {
						xd[i] = rng.NormFloat64()
					}
					for i := range wd {
						wd[i] = rng.NormFloat64() / 2
					}
					if err := vm.RunAll(); err != nil {
						t.Fatal(err)
					}
					var gw, gx []float64
					if machine == "tape" {
						gw, gx = grads[0].Value().Data().([]float64), grads[1].Value().Data().([]float64)
					} else {
						wg, err := w.Grad()
						if err != nil {
							t.Fatal(err)
						}
						xg, err := x.Grad()
						if err != nil {
							t.Fatal(err)
						}
						gw, gx = wg.Data().([]float64), xg.Data().([]float64)
					}
					xm, wm := mat.NewDense(n, d, append([]float64(nil), xd...)), mat.NewDense(d, e, append([]float64(nil), wd...))
					f := func() float64 { return total(c, xm, wm) }
					if got, want := root.Value().Data().(float64), f(); math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
						t.Fatalf("run %d: T = %v, want %v", run, got, want)
					}
					wantW, wantX := fdiff.Gradient(f, wm, 1e-6), fdiff.Gradient(f, xm, 1e-6)
					if err := fdiff.Compare(mat.NewDense(d, e, gw), wantW, 1e-6, 1e-7); err != nil {
						t.Errorf("run %d: dT/dw: %v", run, err)
					}
					if err := fdiff.Compare(mat.NewDense(n, d, gx), wantX, 1e-6, 1e-7); err != nil {
						t.Errorf("run %d: dT/dx: %v", run, err)
					}
					vm.Reset()
				}
			})
		}
	}
}

// TestLossNodeExpressionFloat32 is TestLossOpInExpression through the
// public LossNode on a float32 graph: the LossFunc gets float32
// embeddings and computes in float64, and the graph's gradients must match
// the float64 finite differences of the same expression up to float32
// rounding.
func TestLossNodeExpressionFloat32(t *testing.T) {
	const n, d, e = 4, 3, 2
	rng := rand.New(rand.NewPCG(19, 20))
	a1, a2 := make([]float64, n*e), make([]float64, n*e)
	for i := range a1 {
		a1[i], a2[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	f1, f2 := softplusLoss[float64](a1), softplusLoss[float64](a2)
	lossFunc := func(f lossFn[float64]) LossFunc {
		return func(emb gometric.Matrix) (float32, gometric.Matrix, error) {
			e64 := make([]float64, len(emb.Data))
			for i, v := range emb.Data {
				e64[i] = float64(v)
			}
			l, g, err := f(e64, emb.Rows, emb.Cols)
			return float32(l), gometric.Matrix{Rows: emb.Rows, Cols: emb.Cols, Data: toF32(g)}, err
		}
	}
	total := func(c exprCase, x, w *mat.Dense) float64 {
		var emb mat.Dense
		emb.Mul(x, w)
		raw := emb.RawMatrix().Data
		l1, _, _ := f1(raw, n, e)
		l2, _, _ := f2(raw, n, e)
		return c.eval(l1, l2, mat.Sum(&emb))
	}
	for _, c := range exprCases {
		for _, machine := range []string{"tape", "lisp"} {
			t.Run(fmt.Sprintf("%s/%s", c.name, machine), func(t *testing.T) {
				g := G.NewGraph()
				xd, wd := make([]float32, n*d), make([]float32, d*e)
				for i := range xd {
					xd[i] = float32(rng.NormFloat64())
				}
				for i := range wd {
					wd[i] = float32(rng.NormFloat64() / 2)
				}
				x := G.NewMatrix(g, tensor.Float32, G.WithShape(n, d), G.WithName("x"), G.WithValue(tensor.New(tensor.WithShape(n, d), tensor.WithBacking(xd))))
				w := G.NewMatrix(g, tensor.Float32, G.WithShape(d, e), G.WithName("w"), G.WithValue(tensor.New(tensor.WithShape(d, e), tensor.WithBacking(wd))))
				emb := G.Must(G.Mul(x, w))
				l1, err := LossNode(emb, lossFunc(f1))
				if err != nil {
					t.Fatal(err)
				}
				var l2 *G.Node
				if c.two {
					if l2, err = LossNode(emb, lossFunc(f2)); err != nil {
						t.Fatal(err)
					}
				}
				root := c.build(emb, l1, l2, func(v float64) *G.Node { return G.NewConstant(float32(v)) })
				var grads G.Nodes
				var vm G.VM
				if machine == "tape" {
					if grads, err = G.Grad(root, w, x); err != nil {
						t.Fatal(err)
					}
					vm = G.NewTapeMachine(g)
				} else {
					vm = G.NewLispMachine(g)
				}
				defer vm.Close()
				if err := vm.RunAll(); err != nil {
					t.Fatal(err)
				}
				var gw, gx []float32
				if machine == "tape" {
					gw, gx = grads[0].Value().Data().([]float32), grads[1].Value().Data().([]float32)
				} else {
					wg, err := w.Grad()
					if err != nil {
						t.Fatal(err)
					}
					xg, err := x.Grad()
					if err != nil {
						t.Fatal(err)
					}
					gw, gx = wg.Data().([]float32), xg.Data().([]float32)
				}
				xm, wm := mat.NewDense(n, d, f64(xd)), mat.NewDense(d, e, f64(wd))
				f := func() float64 { return total(c, xm, wm) }
				wantW, wantX := fdiff.Gradient(f, wm, 1e-6), fdiff.Gradient(f, xm, 1e-6)
				if err := fdiff.Compare(mat.NewDense(d, e, f64(gw)), wantW, 1e-4, 1e-4); err != nil {
					t.Errorf("dT/dw: %v", err)
				}
				if err := fdiff.Compare(mat.NewDense(n, d, f64(gx)), wantX, 1e-4, 1e-4); err != nil {
					t.Errorf("dT/dx: %v", err)
				}
			})
		}
	}
}

// f64 widens float32 values.
func f64(xs []float32) []float64 {
	out := make([]float64, len(xs))
	for i, v := range xs {
		out[i] = float64(v)
	}
	return out
}
