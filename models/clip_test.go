package models

import (
	"errors"
	"math"
	"testing"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
)

func clipParams(t *testing.T) (*Param, *Param, []float32, *mat.Dense) {
	t.Helper()
	p := newParam[float32]("p", []int{2}, 2)
	_, g := p.Float32s()
	g[0], g[1] = 3, -4
	gd := mat.NewDense(1, 1, []float64{12})
	q, err := NewDenseParam("q", mat.NewDense(1, 1, nil), gd)
	if err != nil {
		t.Fatal(err)
	}
	return p, q, g, gd
}

// ClipGradNorm is torch's clip_grad_norm_: the total norm over every
// parameter, each gradient scaled by max/(norm+1e-6) when it exceeds max.
func TestClipGradNorm(t *testing.T) {
	for _, tc := range []struct {
		name          string
		max, normType float64
		total         float64
	}{
		{"2-norm clipped", 6.5, 2, 13},
		{"2-norm kept", 13, 2, 13},
		{"1-norm", 1, 1, 19},
		{"inf-norm", 3, math.Inf(1), 12},
		{"3-norm", 2, 3, math.Cbrt(27 + 64 + 1728)},
		{"max 0", 0, 2, 13},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, q, g, gd := clipParams(t)
			total, err := ClipGradNorm([]*Param{p, q}, tc.max, tc.normType)
			if err != nil || math.Abs(total-tc.total) > 1e-9 {
				t.Fatalf("total %v, %v; want %v", total, err, tc.total)
			}
			coef := min(tc.max/(tc.total+1e-6), 1)
			want := []float64{3 * coef, -4 * coef, 12 * coef}
			got := []float64{float64(g[0]), float64(g[1]), gd.At(0, 0)}
			for i := range want {
				if math.Abs(got[i]-want[i]) > 1e-6*max(1, math.Abs(want[i])) {
					t.Errorf("gradient %d = %v, want %v", i, got[i], want[i])
				}
			}
		})
	}
	p, q, g, _ := clipParams(t)
	g[1] = float32(math.NaN())
	if _, err := ClipGradNorm([]*Param{p, q}, 1, 2); !errors.Is(err, gometric.ErrNonFinite) || g[0] != 3 {
		t.Errorf("NaN gradient: %v, g %v", err, g)
	}
	g[1] = float32(math.Inf(-1))
	if _, err := ClipGradNorm([]*Param{p, q}, 1, math.Inf(1)); !errors.Is(err, gometric.ErrNonFinite) {
		t.Errorf("Inf gradient: %v", err)
	}
	for _, tc := range []struct {
		name          string
		params        []*Param
		max, normType float64
		want          error
	}{
		{"no params", nil, 1, 2, gometric.ErrShape},
		{"nil param", []*Param{nil}, 1, 2, gometric.ErrShape},
		{"zero param", []*Param{{}}, 1, 2, gometric.ErrShape},
		{"max NaN", []*Param{p}, math.NaN(), 2, gometric.ErrSetting},
		{"max -1", []*Param{p}, -1, 2, gometric.ErrSetting},
		{"max Inf", []*Param{p}, math.Inf(1), 2, gometric.ErrSetting},
		{"norm 0", []*Param{p}, 1, 0, gometric.ErrSetting},
		{"norm -Inf", []*Param{p}, 1, math.Inf(-1), gometric.ErrSetting},
		{"norm NaN", []*Param{p}, 1, math.NaN(), gometric.ErrSetting},
	} {
		if _, err := ClipGradNorm(tc.params, tc.max, tc.normType); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// ClipGradValue is torch's clip_grad_value_.
func TestClipGradValue(t *testing.T) {
	p, q, g, gd := clipParams(t)
	if err := ClipGradValue([]*Param{p, q}, 3.5); err != nil {
		t.Fatal(err)
	}
	if g[0] != 3 || g[1] != -3.5 || gd.At(0, 0) != 3.5 {
		t.Errorf("clipped to %v, %v", g, gd.At(0, 0))
	}
	for _, tc := range []struct {
		name   string
		params []*Param
		clip   float64
		want   error
	}{
		{"no params", nil, 1, gometric.ErrShape},
		{"nil param", []*Param{p, nil}, 1, gometric.ErrShape},
		{"clip NaN", []*Param{p}, math.NaN(), gometric.ErrSetting},
		{"clip -1", []*Param{p}, -1, gometric.ErrSetting},
	} {
		if err := ClipGradValue(tc.params, tc.clip); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}
