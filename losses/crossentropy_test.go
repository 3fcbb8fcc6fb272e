package losses_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// naiveCrossEntropy is torch's formula written out (no stabilisation):
// (1−ε)·Σ w_y·nll / Σ w_y + ε/C · Σ_i Σ_c w_c·(−log p_ic) / Σ w_y.
func naiveCrossEntropy(x *mat.Dense, y []int, w []float64, eps float64) float64 {
	n, k := x.Dims()
	wt := func(j int) float64 {
		if w == nil {
			return 1
		}
		return w[j]
	}
	var nll, smooth, total float64
	for i := 0; i < n; i++ {
		s := 0.0
		for j := 0; j < k; j++ {
			s += math.Exp(x.At(i, j))
		}
		for j := 0; j < k; j++ {
			smooth += wt(j) * -math.Log(math.Exp(x.At(i, j))/s)
		}
		nll += wt(y[i]) * -math.Log(math.Exp(x.At(i, y[i]))/s)
		total += wt(y[i])
	}
	return (1-eps)*nll/total + eps/float64(k)*smooth/total
}

// TestCrossEntropy checks the value against torch's formula and the
// gradient against central finite differences, with and without class
// weights and label smoothing.
func TestCrossEntropy(t *testing.T) {
	x := testkit.NormalDense(rand.New(rand.NewPCG(7, 11)), 7, 5)
	x.Scale(3, x)
	y := []int{0, 4, 2, 2, 1, 3, 0}
	for _, tc := range []struct {
		name string
		ce   *losses.CrossEntropy
	}{
		{"default", losses.NewCrossEntropy()},
		{"weights", &losses.CrossEntropy{Weight: []float64{1, 0.5, 2, 0, 3}}},
		{"smoothing", &losses.CrossEntropy{LabelSmoothing: 0.1}},
		{"both", &losses.CrossEntropy{Weight: []float64{1, 0.5, 2, 0.25, 3}, LabelSmoothing: 0.3}},
		{"all smoothing", &losses.CrossEntropy{LabelSmoothing: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			grad := mat.NewDense(7, 5, nil)
			got, err := tc.ce.Compute(x, y, grad)
			if err != nil {
				t.Fatal(err)
			}
			want := naiveCrossEntropy(x, y, tc.ce.Weight, tc.ce.LabelSmoothing)
			if math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Fatalf("loss %v, want %v", got, want)
			}
			noGrad, err := tc.ce.Compute(x, y, nil)
			if err != nil || noGrad != got {
				t.Fatalf("without grad: %v, %v; want %v", noGrad, err, got)
			}
			num := fdiff.Gradient(func() float64 {
				v, err := tc.ce.Compute(x, y, nil)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}, x, 1e-6)
			if err := fdiff.Compare(grad, num, 1e-6, 1e-8); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestCrossEntropyExtreme: logits of ±1e300 give the exact value (no
// overflow, no NaN); logits too far apart for float64 give an error.
func TestCrossEntropyExtreme(t *testing.T) {
	for _, tc := range []struct {
		name   string
		logits []float64
		target int
		eps    float64
		want   float64 // NaN: an error wrapping ErrNonFinite
	}{
		{"right class huge", []float64{1e300, -1e300}, 0, 0, 0},
		{"wrong class huge", []float64{1e300, -1e300}, 1, 0, 2e300},
		{"all huge equal", []float64{1e300, 1e300, 1e300, 1e300}, 2, 0, math.Log(4)},
		{"all tiny equal", []float64{-1e300, -1e300}, 1, 0, math.Log(2)},
		{"smoothing huge", []float64{1e300, -1e300}, 0, 0.5, 0.5 * 2e300 / 2},
		{"max float apart", []float64{math.MaxFloat64, -math.MaxFloat64}, 1, 0, math.NaN()},
		{"smoothing max apart", []float64{math.MaxFloat64, -math.MaxFloat64}, 0, 0.1, math.NaN()},
		{"one class", []float64{1e300}, 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := mat.NewDense(1, len(tc.logits), tc.logits)
			grad := mat.NewDense(1, len(tc.logits), nil)
			ce := &losses.CrossEntropy{LabelSmoothing: tc.eps}
			got, err := ce.Compute(x, []int{tc.target}, grad)
			if math.IsNaN(tc.want) {
				if !errors.Is(err, gometric.ErrNonFinite) {
					t.Fatalf("loss %v, err %v; want an ErrNonFinite error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want && math.Abs(got-tc.want) > 1e-15*math.Abs(tc.want) {
				t.Fatalf("loss %v, want %v", got, tc.want)
			}
			for j, g := range grad.RawRowView(0) {
				if math.IsNaN(g) || math.IsInf(g, 0) {
					t.Fatalf("grad[%d] = %v", j, g)
				}
			}
		})
	}
}

// TestCrossEntropyErrors is the table of inputs Compute refuses.
func TestCrossEntropyErrors(t *testing.T) {
	x := mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6})
	ok := []int{0, 2}
	var nilCE *losses.CrossEntropy
	cases := []struct {
		name    string
		ce      *losses.CrossEntropy
		x, grad *mat.Dense
		y       []int
		want    error
		names   string
	}{
		{"nil receiver", nilCE, x, nil, ok, gometric.ErrSetting, "nil receiver"},
		{"nil logits", losses.NewCrossEntropy(), nil, nil, ok, gometric.ErrShape, ""},
		{"empty logits", losses.NewCrossEntropy(), &mat.Dense{}, nil, ok, gometric.ErrShape, ""},
		{"few targets", losses.NewCrossEntropy(), x, nil, []int{0}, gometric.ErrLabels, "1 targets"},
		{"target -1", losses.NewCrossEntropy(), x, nil, []int{0, -1}, gometric.ErrLabels, "= -1"},
		{"target C", losses.NewCrossEntropy(), x, nil, []int{3, 0}, gometric.ErrLabels, "= 3"},
		{"target MaxInt", losses.NewCrossEntropy(), x, nil, []int{0, math.MaxInt}, gometric.ErrLabels, "9223372036854775807"},
		{"target MinInt", losses.NewCrossEntropy(), x, nil, []int{math.MinInt, 0}, gometric.ErrLabels, "-9223372036854775808"},
		{"NaN logit", losses.NewCrossEntropy(), mat.NewDense(1, 2, []float64{0, math.NaN()}), nil, []int{0}, gometric.ErrNonFinite, "(0, 1)"},
		{"Inf logit", losses.NewCrossEntropy(), mat.NewDense(1, 2, []float64{math.Inf(-1), 0}), nil, []int{0}, gometric.ErrNonFinite, "(0, 0)"},
		{"grad shape", losses.NewCrossEntropy(), x, mat.NewDense(3, 2, nil), ok, gometric.ErrShape, "3×2"},
		{"grad is logits", losses.NewCrossEntropy(), x, x, ok, gometric.ErrSetting, ""},
		{"smoothing -0.1", &losses.CrossEntropy{LabelSmoothing: -0.1}, x, nil, ok, gometric.ErrSetting, "-0.1"},
		{"smoothing 1.5", &losses.CrossEntropy{LabelSmoothing: 1.5}, x, nil, ok, gometric.ErrSetting, "1.5"},
		{"smoothing NaN", &losses.CrossEntropy{LabelSmoothing: math.NaN()}, x, nil, ok, gometric.ErrSetting, "NaN"},
		{"weights length", &losses.CrossEntropy{Weight: []float64{1, 1}}, x, nil, ok, gometric.ErrShape, "2 class weights"},
		{"negative weight", &losses.CrossEntropy{Weight: []float64{1, -1, 1}}, x, nil, ok, gometric.ErrSetting, "Weight[1]"},
		{"Inf weight", &losses.CrossEntropy{Weight: []float64{1, 1, math.Inf(1)}}, x, nil, ok, gometric.ErrSetting, "Weight[2]"},
		{"zero weights", &losses.CrossEntropy{Weight: []float64{0, 1, 0}}, x, nil, ok, gometric.ErrSetting, "sum to 0"},
		{"huge weights", &losses.CrossEntropy{Weight: []float64{math.MaxFloat64, 1, math.MaxFloat64}}, x, nil, ok, gometric.ErrSetting, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := tc.ce.Compute(tc.x, tc.y, tc.grad)
			if !errors.Is(err, tc.want) || v != 0 {
				t.Fatalf("Compute = %v, %v; want an error wrapping %v", v, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "losses.CrossEntropy: ") || !strings.Contains(err.Error(), tc.names) {
				t.Fatalf("error %q does not name losses.CrossEntropy and %q", err, tc.names)
			}
		})
	}
	// The zero value is torch's defaults, as NewCrossEntropy.
	if !reflect.DeepEqual(&losses.CrossEntropy{}, losses.NewCrossEntropy()) {
		t.Fatal("the zero value differs from NewCrossEntropy()")
	}
	for method, err := range testkit.NilReceiver(t, reflect.TypeFor[*losses.CrossEntropy]()) {
		if !strings.HasPrefix(err.Error(), "losses.CrossEntropy: nil receiver") {
			t.Errorf("%s: %v", method, err)
		}
	}
}

// ExampleCrossEntropy is torch.nn.CrossEntropyLoss()(logits, targets)
// with its gradient, as TrainWithClassifier's classifier loss.
func ExampleCrossEntropy() {
	logits := mat.NewDense(2, 3, []float64{
		2, 0, 0,
		0, 0, 1e300, // extreme logits are fine
	})
	grad := mat.NewDense(2, 3, nil)
	loss, err := losses.NewCrossEntropy().Compute(logits, []int{0, 2}, grad)
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.6f\n", loss)
	fmt.Printf("grad row 0 %.4f\n", grad.RawRowView(0))
	// Output:
	// loss 0.119772
	// grad row 0 [-0.1065 0.0533 0.0533]
}
