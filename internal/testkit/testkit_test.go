package testkit

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
)

// TestExportedTypes reads the fixture package of testdata/types: exported
// types only, from every non-test file whatever its build tags, with their
// docs (grouped declarations included) and method sets (promoted at any
// depth, shadowed by the shallower, generic receivers included).
func TestExportedTypes(t *testing.T) {
	types := ExportedTypes(t, "testdata/types")
	var names []string
	for _, ty := range types {
		names = append(names, ty.Name)
	}
	if want := []string{"Generic", "Grouped", "Other", "Outer", "Tagged", "Tagged"}; !slices.Equal(names, want) {
		t.Fatalf("types %v, want %v", names, want)
	}
	methods := func(ty Type) []string {
		var out []string
		for _, m := range ty.Methods {
			out = append(out, m.Name)
		}
		return out
	}
	byName := map[string]Type{}
	for _, ty := range types {
		byName[ty.Name] = ty
	}
	outer := byName["Outer"]
	if got, want := methods(outer), []string{"Deep", "Hidden", "Own", "Shadowed"}; !slices.Equal(got, want) || !outer.Struct {
		t.Errorf("Outer: methods %v (struct %v), want %v", got, outer.Struct, want)
	}
	if m, ok := outer.Method("Shadowed"); !ok || fmt.Sprint(m.Type.Params.List[0].Type) != "string" {
		t.Errorf("Outer.Shadowed is not Outer's own: %+v", m)
	}
	if got := methods(byName["Generic"]); !slices.Equal(got, []string{"Get"}) {
		t.Errorf("Generic: methods %v", got)
	}
	if byName["Grouped"].HasMethods() || byName["Grouped"].Struct {
		t.Error("Grouped has methods or is a struct")
	}
	if !strings.Contains(byName["Other"].Doc, "concurrent") || strings.Contains(byName["Grouped"].Doc, "concurrent") {
		t.Errorf("docs of a grouped declaration: %q, %q", byName["Other"].Doc, byName["Grouped"].Doc)
	}
}

// TestChiSquare checks the statistic against a hand computation and the
// quantile against a table value.
func TestChiSquare(t *testing.T) {
	// Expected 25, 25, 50: (20−25)²/25 + (30−25)²/25 + 0 = 2.
	stat, df, err := ChiSquare([]int{20, 30, 50, 0}, []float64{0.25, 0.25, 0.5, 0})
	if stat != 2 || df != 2 || err != nil {
		t.Errorf("ChiSquare = %v, %d, %v; want 2, 2, nil", stat, df, err)
	}
	if _, _, err := ChiSquare([]float64{1, 2, 3}, []float64{0, 0.5, 0.5}); err == nil || !strings.Contains(err.Error(), "category 0") {
		t.Errorf("a drawn category of probability 0: %v", err)
	}
	if q := ChiSquareQuantile(3, 0.999); math.Abs(q-16.266) > 1e-3 {
		t.Errorf("0.999 quantile with 3 df = %v, want 16.266", q)
	}
	CheckChiSquare(t, "uniform", []int{98, 102, 100}, []float64{1. / 3, 1. / 3, 1. / 3}, 1e-4)
}

// TestClose checks the tolerance rule and NaN.
func TestClose(t *testing.T) {
	for _, tc := range []struct {
		got, want, rtol, atol float64
		close                 bool
	}{
		{1, 1, 0, 0, true},
		{1.1, 1, 0, 0.1 + 1e-15, true},
		{1.1, 1, 0.1 + 1e-15, 0, true},
		{1.2, 1, 0.1, 0.05, false},
		{math.NaN(), math.NaN(), 1, 1, false},
		{math.NaN(), 1, 1, 1, false},
		{math.Inf(1), math.Inf(1), 1, 1, false},
	} {
		if got := Close(tc.got, tc.want, tc.rtol, tc.atol); got != tc.close {
			t.Errorf("Close(%v, %v, %v, %v) = %v", tc.got, tc.want, tc.rtol, tc.atol, got)
		}
	}
	if !CloseSlices([]float64{1, 2}, []float64{1, 2 + 1e-13}, 0, 1e-12) || CloseSlices([]float64{1}, []float64{1, 2}, 1, 1) {
		t.Error("CloseSlices")
	}
	if got := MulElem(mat.NewDense(1, 2, []float64{2, 3}), mat.NewDense(1, 2, []float64{4, 5})); !mat.Equal(got, mat.NewDense(1, 2, []float64{8, 15})) {
		t.Errorf("MulElem = %v", mat.Formatted(got))
	}
}

// TestGenerators checks the documented draw order: one draw a value, row
// by row.
func TestGenerators(t *testing.T) {
	draws := func(f func(*rand.Rand) float64, n int) []float64 {
		rng := rand.New(rand.NewPCG(1, 2))
		out := make([]float64, n)
		for i := range out {
			out[i] = f(rng)
		}
		return out
	}
	normal := draws((*rand.Rand).NormFloat64, 6)
	uniform := draws(func(r *rand.Rand) float64 { return 2*r.Float64() - 1 }, 6)
	rng := func() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
	if got := NormalDense(rng(), 2, 3).RawMatrix().Data; !slices.Equal(got, normal) {
		t.Errorf("NormalDense %v, want %v", got, normal)
	}
	if got := UniformDense(rng(), 3, 2).RawMatrix().Data; !slices.Equal(got, uniform) {
		t.Errorf("UniformDense %v, want %v", got, uniform)
	}
	m := NormalMatrix(rng(), 2, 3)
	u := UniformMatrix(rng(), 3, 2)
	for i := range 6 {
		if m.Data[i] != float32(normal[i]) || u.Data[i] != float32(uniform[i]) {
			t.Fatalf("value %d: NormalMatrix %v, UniformMatrix %v; want %v, %v", i, m.Data[i], u.Data[i], normal[i], uniform[i])
		}
	}
	if m.Rows != 2 || m.Cols != 3 || u.Rows != 3 || u.Cols != 2 {
		t.Errorf("shapes %d×%d and %d×%d", m.Rows, m.Cols, u.Rows, u.Cols)
	}
	// Two centres drawn first, then point i of class i%2.
	r := rng()
	cs := NormalCentres(r, 2, 3, 4)
	x, labels := Blobs(r, cs, 4, 0.5)
	for k := range 6 {
		if cs[k/3][k%3] != 4*normal[k] {
			t.Fatalf("centre value %d: %v, want %v", k, cs[k/3][k%3], 4*normal[k])
		}
	}
	if !slices.Equal(labels, []int{0, 1, 0, 1}) || x.Rows != 4 || x.Cols != 3 {
		t.Fatalf("Blobs: labels %v, %d×%d", labels, x.Rows, x.Cols)
	}
	r2 := rng()
	NormalCentres(r2, 2, 3, 4)
	if z := r2.NormFloat64(); x.Data[0] != float32(cs[0][0]+0.5*z) {
		t.Errorf("Blobs value 0: %v, want %v", x.Data[0], float32(cs[0][0]+0.5*z))
	}
	mu := gometric.Matrix{Rows: 2, Cols: 1, Data: []float32{10, -10}}
	y, l32 := Blobs32(rng(), mu, 3, 2)
	for i := range 3 {
		if want := mu.Data[i%2] + float32(2*normal[i]); y.Data[i] != want || l32[i] != i%2 {
			t.Errorf("Blobs32 point %d: %v (class %d), want %v (class %d)", i, y.Data[i], l32[i], want, i%2)
		}
	}
}

// TestRawDataset checks Batch's contract: rows and labels of idx, dst's
// memory reused when large enough, ErrIndex outside the set.
func TestRawDataset(t *testing.T) {
	r := &RawDataset{Dim: 2, Values: []float32{0, 1, float32(math.NaN()), 3, 4, 5}, SampleLabels: []int{7, -1, 7}}
	if r.Len() != 3 || !slices.Equal(r.SampleShape(), []int{2}) || !slices.Equal(r.Labels(), []int{7, -1, 7}) {
		t.Fatalf("Len %d, SampleShape %v, Labels %v", r.Len(), r.SampleShape(), r.Labels())
	}
	dst := gometric.Matrix{Data: make([]float32, 0, 4)}
	b, labels, err := r.Batch([]int{2, 0}, dst)
	if err != nil || b.Rows != 2 || b.Cols != 2 || !slices.Equal(b.Data, []float32{4, 5, 0, 1}) || !slices.Equal(labels, []int{7, 7}) || &b.Data[0] != &dst.Data[:1][0] {
		t.Errorf("Batch = %+v, %v, %v", b, labels, err)
	}
	for _, idx := range [][]int{{3}, {0, -1}} {
		if _, _, err := r.Batch(idx, gometric.Matrix{}); !errors.Is(err, gometric.ErrIndex) {
			t.Errorf("Batch(%v): %v, want ErrIndex", idx, err)
		}
	}
}

// TestSentinels: every root sentinel is recognised through wrapping, and
// nothing else is.
func TestSentinels(t *testing.T) {
	for _, s := range Sentinels {
		if !WrapsSentinel(fmt.Errorf("c: %w", s)) {
			t.Errorf("%v not recognised", s)
		}
	}
	if WrapsSentinel(errors.New("other")) || WrapsSentinel(nil) {
		t.Error("a foreign or nil error recognised")
	}
}

// callee has methods of every kind for NilReceiver and ZeroValue.
type callee struct{ n int }

// Err returns an error for a nil or zero receiver.
func (c *callee) Err(int, ...string) error {
	if c == nil || c.n == 0 {
		return errors.New("refused")
	}
	return nil
}

// Count returns 0 for a nil receiver.
func (c *callee) Count() int {
	if c == nil {
		return 0
	}
	return c.n
}

// TestCallAll: every method is called, variadic ones included, and the
// errors are returned by name.
func TestCallAll(t *testing.T) {
	for name, errs := range map[string]map[string]error{
		"nil":  NilReceiver(t, reflect.TypeFor[*callee]()),
		"zero": ZeroValue(t, reflect.TypeFor[*callee]()),
		"lit":  Refused(t, &callee{}),
	} {
		if len(errs) != 1 || errs["Err"] == nil {
			t.Errorf("%s: errors %v", name, errs)
		}
	}
	if errs := NilReceiver(t, reflect.TypeFor[*callee](), "Err"); len(errs) != 0 {
		t.Errorf("an excepted method's error is returned: %v", errs)
	}
}

// TestConcurrently: every goroutine runs its rounds, numbered.
func TestConcurrently(t *testing.T) {
	var calls atomic.Int64
	var seen [4]atomic.Bool
	Concurrently(t, 4, 5, func(g int) error {
		calls.Add(1)
		seen[g].Store(true)
		return nil
	})
	if calls.Load() != 20 {
		t.Errorf("%d calls, want 20", calls.Load())
	}
	for g := range seen {
		if !seen[g].Load() {
			t.Errorf("goroutine %d did not run", g)
		}
	}
}

// TestRunErrorCases runs a passing table.
func TestRunErrorCases(t *testing.T) {
	RunErrorCases(t, []ErrorCase{
		{Name: "ok", Call: func() error { return nil }},
		{Name: "refused", Call: func() error { return fmt.Errorf("x: use NewX: %w", gometric.ErrSetting) }, Want: gometric.ErrSetting, Ctor: "NewX"},
	})
}
