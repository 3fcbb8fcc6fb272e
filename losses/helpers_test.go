package losses_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gometric/gometric/internal/fdiff"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/utils/tuples"
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

// resultAndLoss returns loss's result on b and a function that computes
// the loss value again, for finite differences.
func resultAndLoss(t *testing.T, loss losses.Loss, b losses.Batch) (losses.Result, func() float64) {
	t.Helper()
	res, err := loss.Compute(b)
	if err != nil {
		t.Fatal(err)
	}
	return res, func() float64 {
		r, err := loss.Compute(b)
		if err != nil {
			t.Fatal(err)
		}
		return r.Loss
	}
}

// checkParamGrads compares Result.ParamGrads with central finite
// differences of the loss with respect to every parameter.
func checkParamGrads(t *testing.T, loss losses.Learnable, b losses.Batch, rtol, atol float64) {
	t.Helper()
	res, f := resultAndLoss(t, loss, b)
	for _, p := range loss.Params() {
		got := res.ParamGrads[p.Name]
		if got == nil {
			t.Fatalf("no gradient for parameter %q", p.Name)
		}
		num := fdiff.Gradient(f, p.Value, 1e-6)
		if err := fdiff.Compare(got, num, rtol, atol); err != nil {
			t.Errorf("gradient w.r.t. %s: %v", p.Name, err)
		}
	}
}

// checkGrad compares the loss's analytic gradients (embeddings and, when
// b.Ref is set, ref embeddings) with central finite differences.
func checkGrad(t *testing.T, loss losses.Loss, b losses.Batch, rtol, atol float64) {
	t.Helper()
	res, f := resultAndLoss(t, loss, b)
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

// fuzzBytes reads a fuzz input cyclically (0 when it is empty) and maps
// its bytes to values: 255 NaN, 254 +Inf, 253 1e300, 252 −1e-300 and any
// other b (b−128)/16.
type fuzzBytes []byte

func (d fuzzBytes) at(i int) byte {
	if len(d) == 0 {
		return 0
	}
	return d[i%len(d)]
}

func (d fuzzBytes) value(i int) float64 {
	switch b := d.at(i); b {
	case 255:
		return math.NaN()
	case 254:
		return math.Inf(1)
	case 253:
		return 1e300
	case 252:
		return -1e-300
	default:
		return float64(int(b)-128) / 16
	}
}

// fuzzPairBatch decodes the input of the pair losses' fuzz targets into a
// batch (ok is false for empty data): n%12 embeddings of size d%6+1 from
// the bytes (times 1e150, overflow-prone, when mode&8) in classes%5+1
// classes; ref embeddings when mode&1; when mode&2, up to 64 mined pairs,
// possibly out of range — given as the triplets (A1, P, N) when triplets
// is set and mode&16 — without the labels when mode&4.
func fuzzPairBatch(data []byte, n, d, classes, mode uint8, triplets bool) (b losses.Batch, ok bool) {
	rows, cols := int(n%12), int(d%6)+1
	if len(data) == 0 {
		return losses.Batch{}, false
	}
	byteAt := func(i int) byte { return data[i%len(data)] }
	scale := 1.0
	if mode&8 != 0 {
		scale = 1e150 // overflow-prone magnitudes
	}
	emb := &mat.Dense{}
	if rows > 0 {
		emb = mat.NewDense(rows, cols, nil)
		for i := range rows * cols {
			emb.RawMatrix().Data[i] = (float64(byteAt(i)) - 127.5) / 32 * scale
		}
	}
	k := int(classes%5) + 1
	labels := make([]int, rows)
	for i := range labels {
		labels[i] = int(byteAt(i+7)) % k
	}
	b = losses.Batch{Embeddings: emb, Labels: labels}
	if mode&1 != 0 && rows > 0 {
		ref := mat.NewDense(rows/2+1, cols, nil)
		for i := range ref.RawMatrix().Data {
			ref.RawMatrix().Data[i] = (float64(byteAt(3*i+1)) - 127.5) / 16
		}
		b.Ref, b.RefLabels = ref, make([]int, rows/2+1)
		for i := range b.RefLabels {
			b.RefLabels[i] = int(byteAt(i+3)) % k
		}
	}
	if mode&2 != 0 {
		// At most 64 pairs: TupletMargin costs O(P·k).
		p := &tuples.Pairs{}
		for i := 0; i < min(len(data)/4, 64); i++ {
			p.A1 = append(p.A1, int(byteAt(4*i))%(rows+1))
			p.P = append(p.P, int(byteAt(4*i+1))%(rows+1))
			p.A2 = append(p.A2, int(byteAt(4*i+2))%(rows+1))
			p.N = append(p.N, int(byteAt(4*i+3))%(rows+1))
		}
		b.Tuples = p
		if triplets && mode&16 != 0 {
			b.Tuples = &tuples.Triplets{A: p.A1, P: p.P, N: p.N}
		}
		if mode&4 != 0 {
			b.Labels = nil
		}
	}
	return b, true
}
