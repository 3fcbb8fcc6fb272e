package check

import (
	"errors"
	"io"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
)

func TestChecks(t *testing.T) {
	nan := mat.NewDense(2, 2, []float64{1, 2, math.NaN(), 4})
	tests := []struct {
		name     string
		err      error
		sentinel error
	}{
		{"nil", Matrix("c", "x", nil), gometric.ErrShape},
		{"empty", Matrix("c", "x", &mat.Dense{}), gometric.ErrShape},
		{"nan", Matrix("c", "x", nan), gometric.ErrNonFinite},
		{"ok", Matrix("c", "x", mat.NewDense(1, 1, []float64{1})), nil},
		{"cols", SameCols("c", "a", "b", mat.NewDense(1, 2, nil), mat.NewDense(1, 3, nil)), gometric.ErrShape},
		{"shape", SameShape("c", "a", "b", mat.NewDense(1, 2, nil), mat.NewDense(2, 2, nil)), gometric.ErrShape},
		{"dims", Dims("c", "a", mat.NewDense(1, 2, nil), 2, 2), gometric.ErrShape},
		{"floats", Floats("c", "v", []float64{1, math.Inf(1)}), gometric.ErrNonFinite},
		{"labels", Labels("c", "labels", []int{1}, 2), gometric.ErrLabels},
		{"indices", Indices("c", "idx", []int{0, 5}, 3), gometric.ErrIndex},
		{"setting", Settingf("c", "p = %v", 0.5), gometric.ErrSetting},
	}
	for _, tc := range tests {
		if tc.sentinel == nil {
			if tc.err != nil {
				t.Errorf("%s: %v", tc.name, tc.err)
			}
			continue
		}
		if !errors.Is(tc.err, tc.sentinel) || !strings.HasPrefix(tc.err.Error(), "c: ") {
			t.Errorf("%s: %v, want a \"c: \" error wrapping %v", tc.name, tc.err, tc.sentinel)
		}
	}
}

func TestNonFinite(t *testing.T) {
	for n := 0; n < 11; n++ {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i) - 3.5
		}
		if got := NonFinite(xs); got != -1 {
			t.Errorf("n=%d all finite: %d", n, got)
		}
		for pos := 0; pos < n; pos++ {
			for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
				ys := append([]float64(nil), xs...)
				ys[pos] = bad
				if pos+2 < n {
					ys[pos+2] = math.NaN()
				}
				if got := NonFinite(ys); got != pos {
					t.Errorf("n=%d %v at %d: got %d", n, bad, pos, got)
				}
			}
		}
	}
	if NonFinite([]float64{math.MaxFloat64, -math.MaxFloat64, 0, math.SmallestNonzeroFloat64, 1}) != -1 {
		t.Error("extreme finite values flagged")
	}
}

func TestNil(t *testing.T) {
	var f *os.File
	var r io.Reader = f
	var m map[string]int
	cases := []struct {
		v    any
		want bool
	}{
		{nil, true}, {r, true}, {m, true}, {[]int(nil), true}, {(func())(nil), true},
		{os.Stdin, false}, {3, false}, {"", false}, {struct{}{}, false}, {[]int{}, false},
	}
	for i, c := range cases {
		if got := Nil(c.v); got != c.want {
			t.Errorf("case %d (%T): Nil = %v, want %v", i, c.v, got, c.want)
		}
	}
}
