package inference

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

// median returns the median of the entries of m, a threshold that splits
// the pairs roughly in half.
func median(vals []float64) float64 {
	s := append([]float64(nil), vals...)
	for i := range s { // insertion sort: tiny inputs
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[len(s)/2]
}

// TestMatchFinderMatrix checks Mask and Matches against thresholding the
// distance's matrix directly, for distances and similarities, with and
// without a separate ref, including values exactly at the threshold.
func TestMatchFinderMatrix(t *testing.T) {
	lpRaw := distances.NewLp()
	lpRaw.NormalizeEmbeddings = false
	dotRaw := distances.NewDotProductSimilarity()
	dotRaw.NormalizeEmbeddings = false
	lpSq := distances.NewLp()
	lpSq.Power = 2
	tests := []struct {
		name     string
		d        distances.Distance
		inverted bool
		self     bool
	}{
		{"cosine", distances.NewCosineSimilarity(), true, false},
		{"cosine-self", distances.NewCosineSimilarity(), true, true},
		{"nil-is-cosine", nil, true, false},
		{"dot-raw", dotRaw, true, false},
		{"lp", distances.NewLp(), false, false},
		{"lp-raw-self", lpRaw, false, true},
		{"lp-squared", lpSq, false, false},
		{"snr", distances.NewSNR(), false, false},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := testkit.NormalDense(rng, 7, 4)
			var ref *mat.Dense
			if !tc.self {
				ref = testkit.NormalDense(rng, 5, 4)
			}
			d := tc.d
			if d == nil {
				d = distances.NewCosineSimilarity()
			}
			if d.Settings().Inverted != tc.inverted {
				t.Fatalf("Inverted = %v, test assumes %v", d.Settings().Inverted, tc.inverted)
			}
			want, err := d.Matrix(q, ref)
			if err != nil {
				t.Fatal(err)
			}
			r, c := want.Dims()
			thr := median(want.RawMatrix().Data)
			f := NewMatchFinder(tc.d, thr)
			mask, err := f.Mask(q, ref)
			if err != nil {
				t.Fatal(err)
			}
			matches, err := f.Matches(q, ref)
			if err != nil {
				t.Fatal(err)
			}
			if len(mask) != r {
				t.Fatalf("mask has %d rows, want %d", len(mask), r)
			}
			k, count, atThreshold := 0, 0, 0
			for i := range r {
				if len(mask[i]) != c {
					t.Fatalf("mask row %d has %d columns, want %d", i, len(mask[i]), c)
				}
				for j := range c {
					v := want.At(i, j)
					w := v <= thr
					if tc.inverted {
						w = v >= thr
					}
					if v == thr {
						atThreshold++
						if !mask[i][j] {
							t.Errorf("(%d, %d) equals the threshold but is not a match", i, j)
						}
					}
					if mask[i][j] != w {
						t.Errorf("mask[%d][%d] = %v, want %v (value %v, threshold %v)", i, j, mask[i][j], w, v, thr)
					}
					if w {
						count++
						if k >= len(matches) || matches[k] != (Match{Query: i, Ref: j, Value: v}) {
							t.Fatalf("match %d = %+v, want {%d %d %v}", k, matches, i, j, v)
						}
						k++
					}
				}
			}
			if len(matches) != count || atThreshold == 0 || count == 0 || count == r*c {
				t.Errorf("%d matches, want %d; %d at the threshold (want > 0)", len(matches), count, atThreshold)
			}
		})
	}
}

// TestMatchFinderIsMatch checks IsMatch against thresholding the distance's
// pairwise values — which, as in PML, skip normalisation and power.
func TestMatchFinderIsMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := testkit.NormalDense(rng, 9, 3), testkit.NormalDense(rng, 9, 3)
	lpSq := distances.NewLp()
	lpSq.Power = 2
	for _, d := range []distances.Distance{distances.NewCosineSimilarity(), distances.NewLp(), lpSq, distances.NewDotProductSimilarity()} {
		vals, err := d.Pairwise(x, y)
		if err != nil {
			t.Fatal(err)
		}
		thr := median(vals)
		got, err := NewMatchFinder(d, thr).IsMatch(x, y)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			w := v <= thr
			if d.Settings().Inverted {
				w = v >= thr
			}
			if got[i] != w {
				t.Errorf("%T pair %d: %v, want %v (value %v, threshold %v)", d, i, got[i], w, v, thr)
			}
		}
	}
	// PML's CosineSimilarity.pairwise_distance is a plain dot product: rows
	// (1,0) and (2,0) have cosine 1 but "pairwise" 2, and (0.5,0)·(0.5,0) =
	// 0.25 fails a 0.9 threshold although the cosine is 1.
	a := mat.NewDense(2, 2, []float64{1, 0, 0.5, 0})
	b := mat.NewDense(2, 2, []float64{2, 0, 0.5, 0})
	got, err := NewMatchFinder(nil, 0.9).IsMatch(a, b)
	if err != nil {
		t.Fatal(err)
	}
	if !got[0] || got[1] {
		t.Errorf("IsMatch = %v, want [true false] (dot products 2 and 0.25)", got)
	}
}

func TestMatchFinderErrors(t *testing.T) {
	ok := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	nan := mat.NewDense(2, 2, []float64{1, math.NaN(), 0, 1})
	wide := mat.NewDense(2, 3, nil)
	tall := mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 1})
	var nilFinder *MatchFinder
	badP := &distances.Lp{P: 0.5, Power: 1}
	tests := []struct {
		name     string
		run      func() error
		sentinel error
	}{
		{"nil-mask", func() error { _, err := nilFinder.Mask(ok, nil); return err }, gometric.ErrSetting},
		{"nil-ismatch", func() error { _, err := nilFinder.IsMatch(ok, ok); return err }, gometric.ErrSetting},
		{"nil-calibrate", func() error { _, err := nilFinder.Calibrate(ok, ok, []bool{true, false}); return err }, gometric.ErrSetting},
		{"nan-threshold", func() error { _, err := NewMatchFinder(nil, math.NaN()).Matches(ok, nil); return err }, gometric.ErrSetting},
		{"bad-distance", func() error { _, err := NewMatchFinder(badP, 1).Mask(ok, nil); return err }, gometric.ErrSetting},
		{"nan-query", func() error { _, err := NewMatchFinder(nil, 0.5).Mask(nan, ok); return err }, gometric.ErrNonFinite},
		{"nan-ref", func() error { _, err := NewMatchFinder(nil, 0.5).Matches(ok, nan); return err }, gometric.ErrNonFinite},
		{"d-mismatch", func() error { _, err := NewMatchFinder(nil, 0.5).Matches(ok, wide); return err }, gometric.ErrShape},
		{"empty", func() error { _, err := NewMatchFinder(nil, 0.5).Mask(&mat.Dense{}, nil); return err }, gometric.ErrShape},
		{"nil-query", func() error { _, err := NewMatchFinder(nil, 0.5).Mask(nil, nil); return err }, gometric.ErrShape},
		{"pair-rows", func() error { _, err := NewMatchFinder(nil, 0.5).IsMatch(ok, tall); return err }, gometric.ErrShape},
		{"pair-nan", func() error { _, err := NewMatchFinder(nil, 0.5).IsMatch(nan, ok); return err }, gometric.ErrNonFinite},
		{"calibrate-labels", func() error { _, err := NewMatchFinder(nil, 0.5).Calibrate(ok, ok, []bool{true}); return err }, gometric.ErrLabels},
		{"calibrate-no-positive", func() error { _, err := NewMatchFinder(nil, 0.5).Calibrate(ok, ok, []bool{false, false}); return err }, gometric.ErrLabels},
		{"calibrate-shape", func() error { _, err := NewMatchFinder(nil, 0.5).Calibrate(ok, wide, []bool{true, true}); return err }, gometric.ErrShape},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run()
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.sentinel)
			}
			if !strings.HasPrefix(err.Error(), "inference.MatchFinder: ") {
				t.Errorf("error %q does not start with the component", err)
			}
		})
	}
	// A failed calibration leaves the threshold alone.
	f := NewMatchFinder(nil, 0.25)
	if _, err := f.Calibrate(ok, ok, []bool{false, false}); err == nil || f.Threshold != 0.25 {
		t.Errorf("after a failed Calibrate: err %v, Threshold %v, want an error and 0.25", err, f.Threshold)
	}
}

// TestInfiniteThreshold: ±Inf thresholds match everything or nothing.
func TestInfiniteThreshold(t *testing.T) {
	x := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	for _, tc := range []struct {
		thr  float64
		want int
	}{{math.Inf(-1), 4}, {math.Inf(1), 0}} {
		m, err := NewMatchFinder(nil, tc.thr).Matches(x, nil)
		if err != nil || len(m) != tc.want {
			t.Errorf("threshold %v: %d matches (%v), want %d", tc.thr, len(m), err, tc.want)
		}
	}
}
