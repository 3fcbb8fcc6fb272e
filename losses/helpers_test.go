package losses_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// randLabels returns n labels in [0, classes), each class present when
// n >= classes.
func randLabels(rng *rand.Rand, n, classes int) []int {
	l := make([]int, n)
	for i := range l {
		if i < classes {
			l[i] = i
		} else {
			l[i] = rng.IntN(classes)
		}
	}
	rng.Shuffle(n, func(i, j int) { l[i], l[j] = l[j], l[i] })
	return l
}

// checkGrad compares the loss's analytic gradients (embeddings and, when
// b.Ref is set, ref embeddings) with central finite differences.
func checkGrad(t *testing.T, loss losses.Loss, b losses.Batch, rtol, atol float64) {
	t.Helper()
	res, err := loss.Compute(b)
	if err != nil {
		t.Fatal(err)
	}
	f := func() float64 {
		r, err := loss.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		return r.Loss
	}
	num := fdiff.Gradient(f, b.Embeddings, 1e-6)
	if err := fdiff.Compare(res.Grad, num, rtol, atol); err != nil {
		t.Errorf("gradient w.r.t. embeddings: %v", err)
	}
	if b.Ref != nil {
		if res.RefGrad == nil {
			t.Fatal("no ref gradient")
		}
		numRef := fdiff.Gradient(f, b.Ref, 1e-6)
		if err := fdiff.Compare(res.RefGrad, numRef, rtol, atol); err != nil {
			t.Errorf("gradient w.r.t. ref: %v", err)
		}
	}
}

// checkFinite fails when the result holds a NaN or Inf.
func checkFinite(t *testing.T, res losses.Result) {
	t.Helper()
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		t.Fatalf("loss %v", res.Loss)
	}
	for _, m := range []*mat.Dense{res.Grad, res.RefGrad} {
		if m == nil {
			continue
		}
		r, c := m.Dims()
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				if v := m.At(i, j); math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("gradient (%d,%d) = %v", i, j, v)
				}
			}
		}
	}
}

// checkErr asserts that err wraps sentinel and starts with component.
func checkErr(t *testing.T, err, sentinel error, component string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %q does not wrap %v", err, sentinel)
	}
	if !strings.HasPrefix(err.Error(), component) {
		t.Errorf("error %q does not start with %q", err, component)
	}
}

// with returns l after applying set to it: a loss made by its constructor
// with some settings changed.
func with[L any](l L, set func(L)) L {
	set(l)
	return l
}
