package distances_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"gonum.org/v1/gonum/mat"
)

// TestBadInput checks that every kind of bad input gives an error that
// wraps the right sentinel and starts with the component's name.
func TestBadInput(t *testing.T) {
	q := mat.NewDense(3, 4, []float64{1, 2, 3, 4, 4, 3, 2, 1, 0, 1, 0, 1})
	r := mat.NewDense(2, 4, []float64{1, 0, 0, 1, 2, 2, 1, 1})
	withNaN := mat.DenseCopyOf(q)
	withNaN.Set(1, 2, math.NaN())
	withInf := mat.DenseCopyOf(r)
	withInf.Set(0, 3, math.Inf(-1))
	threeCols := mat.NewDense(2, 3, []float64{1, 2, 3, 3, 2, 1})
	oneCol := mat.NewDense(3, 1, []float64{1, 2, 3})
	flat := mat.NewDense(2, 4, []float64{1, 2, 3, 4, 5, 5, 5, 5})
	// The distance between these rows, 2√2·1e308, exceeds float64's range
	// (rows ×1e300 have a distance it can hold: extreme_test.go).
	huge := mat.NewDense(2, 2, []float64{1e308, -1e308, -1e308, 1e308})
	negative := mat.NewDense(2, 2, []float64{1, 0, -1, 0})
	g33, g32 := mat.NewDense(3, 3, nil), mat.NewDense(3, 2, nil)
	gNaN := mat.NewDense(3, 3, nil)
	gNaN.Set(0, 0, math.NaN())

	lp, cos, dot, snr := distances.NewLp(), distances.NewCosineSimilarity(), distances.NewDotProductSimilarity(), distances.NewSNR()
	matrix := func(d distances.Distance, a, b *mat.Dense) func() error {
		return func() error { _, err := d.Matrix(a, b); return err }
	}
	vjp := func(d distances.Distance, a, b, m, g *mat.Dense) func() error {
		return func() error { _, _, err := d.MatrixVJP(a, b, m, g); return err }
	}
	pairwise := func(d distances.Distance, x, y *mat.Dense) func() error {
		return func() error { _, err := d.Pairwise(x, y); return err }
	}
	pairVJP := func(d distances.Distance, x, y *mat.Dense, g []float64) func() error {
		return func() error { _, _, err := d.PairwiseVJP(x, y, g); return err }
	}
	each := func(b *distances.Batched, a, c *mat.Dense, fn func(*mat.Dense, int, int) error) func() error {
		return func() error { return b.Each(a, c, fn) }
	}
	noop := func(*mat.Dense, int, int) error { return nil }
	var nilLp *distances.Lp

	tests := []struct {
		name     string
		call     func() error
		sentinel error
		prefix   string
	}{
		{"nil query", matrix(lp, nil, nil), gometric.ErrShape, "distances.Lp: "},
		{"empty query", matrix(cos, &mat.Dense{}, nil), gometric.ErrShape, "distances.CosineSimilarity: "},
		{"empty ref", matrix(dot, q, &mat.Dense{}), gometric.ErrShape, "distances.DotProductSimilarity: "},
		{"NaN query", matrix(snr, withNaN, nil), gometric.ErrNonFinite, "distances.SNR: "},
		{"Inf ref", matrix(lp, q, withInf), gometric.ErrNonFinite, "distances.Lp: "},
		{"column mismatch", matrix(cos, q, threeCols), gometric.ErrShape, "distances.CosineSimilarity: "},
		{"p < 1", matrix(&distances.Lp{P: 0.5, Power: 1}, q, nil), gometric.ErrSetting, "distances.Lp: "},
		{"p NaN", matrix(&distances.SNR{P: math.NaN(), Power: 1}, q, nil), gometric.ErrSetting, "distances.SNR: "},
		{"p Inf", matrix(&distances.CosineSimilarity{P: math.Inf(1), Power: 1}, q, nil), gometric.ErrSetting, "distances.CosineSimilarity: "},
		{"power 0", matrix(&distances.DotProductSimilarity{P: 2}, q, nil), gometric.ErrSetting, "distances.DotProductSimilarity: "},
		{"power Inf", vjp(&distances.Lp{P: 2, Power: math.Inf(1)}, q, nil, nil, g33), gometric.ErrSetting, "distances.Lp: "},
		{"nil receiver", matrix(nilLp, q, nil), gometric.ErrSetting, "distances.Lp: "},
		{"SNR one column", matrix(snr, oneCol, nil), gometric.ErrShape, "distances.SNR: "},
		{"SNR pairwise one column", pairwise(snr, oneCol, oneCol), gometric.ErrShape, "distances.SNR: "},
		{"SNR zero variance", matrix(&distances.SNR{P: 2, Power: 1}, flat, nil), gometric.ErrNonFinite, "distances.SNR: "},
		{"SNR pairwise zero variance", pairwise(snr, flat, r), gometric.ErrNonFinite, "distances.SNR: "},
		{"SNR VJP zero variance", vjp(snr, flat, nil, nil, mat.NewDense(2, 2, nil)), gometric.ErrNonFinite, "distances.SNR: "},
		{"overflow", matrix(&distances.Lp{P: 2, Power: 1}, huge, nil), gometric.ErrNonFinite, "distances.Lp: "},
		{"negative power of zero", matrix(&distances.Lp{NormalizeEmbeddings: true, P: 2, Power: -1}, q, nil), gometric.ErrNonFinite, "distances.Lp: "},
		{"fractional power of negative", matrix(&distances.DotProductSimilarity{P: 2, Power: 0.5}, negative, nil), gometric.ErrNonFinite, "distances.DotProductSimilarity: "},
		{"grad wrong shape", vjp(lp, q, nil, nil, g32), gometric.ErrShape, "distances.Lp: "},
		{"grad nil", vjp(snr, q, r, nil, nil), gometric.ErrShape, "distances.SNR: "},
		{"grad NaN", vjp(cos, q, nil, nil, gNaN), gometric.ErrNonFinite, "distances.CosineSimilarity: "},
		{"m wrong shape", vjp(dot, q, nil, g32, g33), gometric.ErrShape, "distances.DotProductSimilarity: "},
		{"VJP NaN query", vjp(lp, withNaN, nil, nil, g33), gometric.ErrNonFinite, "distances.Lp: "},
		{"VJP column mismatch", vjp(lp, q, threeCols, nil, g32), gometric.ErrShape, "distances.Lp: "},
		{"pairwise shape mismatch", pairwise(lp, q, r), gometric.ErrShape, "distances.Lp: "},
		{"pairwise NaN", pairwise(dot, withNaN, q), gometric.ErrNonFinite, "distances.DotProductSimilarity: "},
		{"pairwise nil", pairwise(cos, q, nil), gometric.ErrShape, "distances.CosineSimilarity: "},
		{"pairwise grad length", pairVJP(lp, q, q, []float64{1, 2}), gometric.ErrShape, "distances.Lp: "},
		{"pairwise grad NaN", pairVJP(snr, q, q, []float64{1, math.NaN(), 0}), gometric.ErrNonFinite, "distances.SNR: "},
		{"pairwise p < 1", pairVJP(&distances.Lp{P: 0, Power: 1}, q, q, []float64{1, 2, 3}), gometric.ErrSetting, "distances.Lp: "},
		{"batched size 0", each(distances.NewBatched(lp, 0), q, nil, noop), gometric.ErrSetting, "distances.Batched: "},
		{"batched nil distance", matrix(distances.NewBatched(nil, 4), q, nil), gometric.ErrSetting, "distances.Batched: "},
		{"batched nil fn", each(distances.NewBatched(lp, 2), q, nil, nil), gometric.ErrSetting, "distances.Batched: "},
		{"batched NaN", each(distances.NewBatched(lp, 2), withNaN, nil, noop), gometric.ErrNonFinite, "distances.Batched: "},
		{"batched column mismatch", each(distances.NewBatched(lp, 2), q, threeCols, noop), gometric.ErrShape, "distances.Batched: "},
		{"batched inner setting", each(distances.NewBatched(&distances.Lp{P: 2}, 2), q, nil, noop), gometric.ErrSetting, "distances.Batched: "},
		{"batched VJP delegates", vjp(distances.NewBatched(lp, 2), q, nil, nil, g32), gometric.ErrShape, "distances.Lp: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), tc.prefix) {
				t.Errorf("error %q does not start with %q", err, tc.prefix)
			}
		})
	}
}

// TestEachStopsAtFirstError checks that Each returns fn's error unchanged
// and makes no further calls.
func TestEachStopsAtFirstError(t *testing.T) {
	q := mat.NewDense(7, 2, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
	stop := errors.New("stop")
	var starts []int
	err := distances.NewBatched(distances.NewLp(), 3).Each(q, nil, func(_ *mat.Dense, s, e int) error {
		starts = append(starts, s)
		if s == 3 {
			return stop
		}
		return nil
	})
	if err != stop {
		t.Errorf("Each returned %v, want fn's error", err)
	}
	if len(starts) != 2 || starts[0] != 0 || starts[1] != 3 {
		t.Errorf("fn called at starts %v, want [0 3]", starts)
	}
}

// TestMarginAndExtremes checks Margin, Closer, Smallest and Largest against
// PML's margin, smallest_dist and largest_dist for a distance and a
// similarity.
func TestMarginAndExtremes(t *testing.T) {
	row := []float64{0.5, -1, 3, -1, 3}
	tests := []struct {
		d                  distances.Distance
		margin             float64 // Margin(d, 1, 4)
		closer             bool    // Closer(d, 1, 4)
		smallest, largest  float64
		smallIdx, largeIdx int
	}{
		{distances.NewLp(), -3, true, -1, 3, 1, 2},
		{distances.NewSNR(), -3, true, -1, 3, 1, 2},
		{distances.NewCosineSimilarity(), 3, false, 3, -1, 2, 1},
		{distances.NewDotProductSimilarity(), 3, false, 3, -1, 2, 1},
		{distances.NewBatched(distances.NewCosineSimilarity(), 8), 3, false, 3, -1, 2, 1},
	}
	for _, tc := range tests {
		if got := distances.Margin(tc.d, 1, 4); got != tc.margin {
			t.Errorf("%T: Margin(1, 4) = %v, want %v", tc.d, got, tc.margin)
		}
		if got := distances.Closer(tc.d, 1, 4); got != tc.closer {
			t.Errorf("%T: Closer(1, 4) = %v, want %v", tc.d, got, tc.closer)
		}
		if v, i, err := distances.Smallest(tc.d, row); v != tc.smallest || i != tc.smallIdx || err != nil {
			t.Errorf("%T: Smallest = %v at %d (%v), want %v at %d", tc.d, v, i, err, tc.smallest, tc.smallIdx)
		}
		if v, i, err := distances.Largest(tc.d, row); v != tc.largest || i != tc.largeIdx || err != nil {
			t.Errorf("%T: Largest = %v at %d (%v), want %v at %d", tc.d, v, i, err, tc.largest, tc.largeIdx)
		}
		if _, i, err := distances.Smallest(tc.d, nil); i != -1 || !errors.Is(err, gometric.ErrShape) {
			t.Errorf("%T: Smallest of an empty row has index %d, error %v, want -1 and ErrShape", tc.d, i, err)
		}
	}
}

// TestSettings checks the constructors' PML defaults and Settings.
func TestSettings(t *testing.T) {
	tests := []struct {
		d    distances.Distance
		want distances.Settings
	}{
		{distances.NewLp(), distances.Settings{NormalizeEmbeddings: true, P: 2, Power: 1}},
		{distances.NewCosineSimilarity(), distances.Settings{NormalizeEmbeddings: true, P: 2, Power: 1, Inverted: true}},
		{distances.NewDotProductSimilarity(), distances.Settings{NormalizeEmbeddings: true, P: 2, Power: 1, Inverted: true}},
		{distances.NewSNR(), distances.Settings{NormalizeEmbeddings: true, P: 2, Power: 1}},
		{&distances.DotProductSimilarity{P: 3, Power: 2}, distances.Settings{P: 3, Power: 2, Inverted: true}},
		{distances.NewBatched(&distances.Lp{P: 1, Power: 2}, 5), distances.Settings{P: 1, Power: 2}},
	}
	for _, tc := range tests {
		if got := tc.d.Settings(); got != tc.want {
			t.Errorf("%T: Settings() = %+v, want %+v", tc.d, got, tc.want)
		}
	}
}
