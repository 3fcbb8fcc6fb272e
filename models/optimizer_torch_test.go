package models

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// torchOptimizerCase is one case of testdata/torch_optimizers.json
// (scripts/torch_schedulers.py): a 2×3 tensor stepped by torch with a fixed
// gradient sequence, the rate halved before the fourth step.
type torchOptimizerCase struct {
	Name      string
	Optimizer string
	Dtype     string
	Args      map[string]any
	W0        []float64
	Grads     [][]float64
	Lrs       []float64
	Want      [][]float64
}

func loadTorchJSON[T any](t *testing.T, path string) []T {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f struct{ Cases []T }
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return f.Cases
}

// configure sets o's fields from torch's keyword arguments.
func configure(t *testing.T, o *Optimizer, args map[string]any) {
	t.Helper()
	for k, v := range args {
		switch k {
		case "lr":
			o.LR = v.(float64)
		case "momentum":
			o.Momentum = v.(float64)
		case "dampening":
			o.Dampening = v.(float64)
		case "nesterov":
			o.Nesterov = v.(bool)
		case "weight_decay":
			o.WeightDecay = v.(float64)
		case "amsgrad":
			o.AMSGrad = v.(bool)
		case "centered":
			o.Centered = v.(bool)
		case "alpha":
			o.Alpha = v.(float64)
		case "eps":
			o.Eps = v.(float64)
		case "betas":
			b := v.([]any)
			o.Beta1, o.Beta2 = b[0].(float64), b[1].(float64)
		default:
			t.Fatalf("unknown torch argument %q", k)
		}
	}
}

// The optimizers give torch's parameters after every step, to 1e-6 in
// float32 and 1e-12 in float64, with the rate changed mid-way.
func TestOptimizersMatchTorch(t *testing.T) {
	for _, tc := range loadTorchJSON[torchOptimizerCase](t, "testdata/torch_optimizers.json") {
		t.Run(tc.Name, func(t *testing.T) {
			opt, err := NewOptimizer(tc.Optimizer, 1)
			if err != nil {
				t.Fatal(err)
			}
			configure(t, opt, tc.Args)
			var p *Param
			var v32, g32 []float32
			var wv, wg *mat.Dense
			tol := 1e-6
			if tc.Dtype == "float32" {
				p = newParam[float32]("w", []int{2, 3}, 2, 3)
				v32, g32 = p.Float32s()
				for i, x := range tc.W0 {
					v32[i] = float32(x)
				}
			} else {
				tol = 1e-12
				wv, wg = mat.NewDense(2, 3, append([]float64(nil), tc.W0...)), mat.NewDense(2, 3, nil)
				if p, err = NewDenseParam("w", wv, wg); err != nil {
					t.Fatal(err)
				}
			}
			for s, g := range tc.Grads {
				opt.LR = tc.Lrs[s]
				for i, x := range g {
					if g32 != nil {
						g32[i] = float32(x)
					} else {
						wg.Set(i/3, i%3, x)
					}
				}
				if err := opt.Step([]*Param{p}); err != nil {
					t.Fatal(err)
				}
				for i, want := range tc.Want[s] {
					var got float64
					if v32 != nil {
						got = float64(v32[i])
					} else {
						got = wv.At(i/3, i%3)
					}
					if math.Abs(got-want) > tol {
						t.Fatalf("step %d: w[%d] = %.17g, torch %.17g (|Δ| %.3g > %g)", s+1, i, got, want, math.Abs(got-want), tol)
					}
				}
			}
		})
	}
}
