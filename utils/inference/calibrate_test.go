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
)

type confusion struct{ tp, fp, fn, tn int }

// bruteConfusion thresholds every pair directly.
func bruteConfusion(vals []float64, same []bool, thr float64, inverted bool) confusion {
	var c confusion
	for i, v := range vals {
		match := v <= thr
		if inverted {
			match = v >= thr
		}
		switch {
		case match && same[i]:
			c.tp++
		case match:
			c.fp++
		case same[i]:
			c.fn++
		default:
			c.tn++
		}
	}
	return c
}

func f1Of(c confusion) float64 { return 2 * float64(c.tp) / float64(2*c.tp+c.fp+c.fn) }

// TestCalibrateBruteForce compares Calibrate with trying every candidate
// threshold (every value, plus midpoints and ±Inf, which cannot do
// better) on random data with many ties.
func TestCalibrateBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 300 {
		n := 1 + rng.IntN(40)
		levels := 1 + rng.IntN(12) // few levels: many ties
		vals := make([]float64, n)
		same := make([]bool, n)
		anyPos := false
		for i := range vals {
			vals[i] = float64(rng.IntN(levels))/4 - 1
			if trial%7 == 0 {
				vals[i] = rng.NormFloat64() // no ties
			}
			same[i] = rng.IntN(3) == 0
			anyPos = anyPos || same[i]
		}
		if !anyPos {
			same[rng.IntN(n)] = true
		}
		inverted := trial%2 == 1
		got, err := Calibrate(vals, same, inverted)
		if err != nil {
			t.Fatal(err)
		}
		// Best over the values; ties in F1 go to the fewest predicted matches.
		bestF1, bestPred := -1.0, 0
		var best confusion
		var bestThr float64
		for _, thr := range vals {
			c := bruteConfusion(vals, same, thr, inverted)
			f, pred := f1Of(c), c.tp+c.fp
			if f > bestF1 || (f == bestF1 && pred < bestPred) {
				bestF1, bestPred, best, bestThr = f, pred, c, thr
			}
		}
		if got.F1 != bestF1 || got.Threshold != bestThr || got.Inverted != inverted ||
			got.TP != best.tp || got.FP != best.fp || got.FN != best.fn || got.TN != best.tn {
			t.Fatalf("trial %d (inverted %v): got %+v, want threshold %v F1 %v %+v\nvalues %v\nsame %v",
				trial, inverted, got, bestThr, bestF1, best, vals, same)
		}
		if p := float64(best.tp) / float64(best.tp+best.fp); got.Precision != p {
			t.Fatalf("trial %d: precision %v, want %v", trial, got.Precision, p)
		}
		if r := float64(best.tp) / float64(best.tp+best.fn); got.Recall != r {
			t.Fatalf("trial %d: recall %v, want %v", trial, got.Recall, r)
		}
		if h := 2 * got.Precision * got.Recall / (got.Precision + got.Recall); math.Abs(h-got.F1) > 1e-12 {
			t.Fatalf("trial %d: F1 %v is not the harmonic mean %v", trial, got.F1, h)
		}
		// No threshold at all, not only the values, does better.
		for _, thr := range append(midpoints(vals), math.Inf(-1), math.Inf(1)) {
			if c := bruteConfusion(vals, same, thr, inverted); c.tp > 0 && f1Of(c) > got.F1 {
				t.Fatalf("trial %d: threshold %v gives F1 %v > %v", trial, thr, f1Of(c), got.F1)
			}
		}
	}
}

func midpoints(vals []float64) []float64 {
	var out []float64
	for _, a := range vals {
		for _, b := range vals {
			if a < b {
				out = append(out, a+(b-a)/2)
			}
		}
	}
	return out
}

// TestCalibrateTies: equal values are never split, even where splitting
// them would give a better F1.
func TestCalibrateTies(t *testing.T) {
	// Distances: 0.1 (match), 0.5 (1 match, 3 non-matches), 0.9 (1 match,
	// 4 non-matches). Splitting the 0.5 group would give F1 0.8; as a
	// group, 0.1 and 0.5 both give F1 0.5 (TP 1 FP 0 FN 2; TP 2 FP 3
	// FN 1), 0.9 gives 6/13, so the stricter 0.1 wins.
	vals := []float64{0.5, 0.1, 0.5, 0.9, 0.5, 0.5, 0.9, 0.9, 0.9, 0.9}
	same := []bool{true, true, false, true, false, false, false, false, false, false}
	for _, inverted := range []bool{false, true} {
		v := vals
		if inverted { // the same problem as similarities
			v = make([]float64, len(vals))
			for i, x := range vals {
				v[i] = 1 - x
			}
		}
		got, err := Calibrate(v, same, inverted)
		if err != nil {
			t.Fatal(err)
		}
		want := Calibration{Threshold: v[1], Inverted: inverted, F1: 0.5, Precision: 1, Recall: 1.0 / 3, TP: 1, FP: 0, FN: 2, TN: 7}
		if got != want {
			t.Errorf("inverted %v: got %+v, want %+v", inverted, got, want)
		}
	}
	// -0 and +0 are one value: the pair at -0 cannot be separated from the
	// match at +0 (which would give F1 1).
	got, err := Calibrate([]float64{0, math.Copysign(0, -1), 1, 1}, []bool{true, false, false, false}, false)
	if err != nil {
		t.Fatal(err)
	}
	if got.TP != 1 || got.FP != 1 || got.Threshold != 0 {
		t.Errorf("signed zeros: got %+v, want threshold 0 with TP 1, FP 1", got)
	}
}

func TestCalibrateErrors(t *testing.T) {
	tests := []struct {
		name     string
		vals     []float64
		same     []bool
		sentinel error
	}{
		{"empty", nil, nil, gometric.ErrShape},
		{"count", []float64{1, 2}, []bool{true}, gometric.ErrLabels},
		{"nan", []float64{1, math.NaN()}, []bool{true, false}, gometric.ErrNonFinite},
		{"inf", []float64{math.Inf(1)}, []bool{true}, gometric.ErrNonFinite},
		{"no-positive", []float64{1, 2}, []bool{false, false}, gometric.ErrLabels},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Calibrate(tc.vals, tc.same, false)
			if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "inference.Calibrate: ") {
				t.Fatalf("error %v, want an inference.Calibrate error wrapping %v", err, tc.sentinel)
			}
		})
	}
}

// TestMatchFinderCalibrate: the threshold MatchFinder.Calibrate sets makes
// IsMatch reproduce the reported confusion counts, for a similarity and a
// distance.
func TestMatchFinderCalibrate(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n := 60
	x, y := testkit.NormalDense(rng, n, 5), testkit.NormalDense(rng, n, 5)
	same := make([]bool, n)
	for i := range n {
		if i%3 == 0 { // y_i is a noisy copy of x_i
			same[i] = true
			for j := range 5 {
				y.Set(i, j, x.At(i, j)+0.3*rng.NormFloat64())
			}
		}
	}
	for _, d := range []distances.Distance{nil, distances.NewLp()} {
		f := NewMatchFinder(d, math.NaN()) // replaced
		c, err := f.Calibrate(x, y, same)
		if err != nil {
			t.Fatal(err)
		}
		if f.Threshold != c.Threshold {
			t.Fatalf("Threshold %v, calibration %v", f.Threshold, c.Threshold)
		}
		pred, err := f.IsMatch(x, y)
		if err != nil {
			t.Fatal(err)
		}
		var got confusion
		for i, p := range pred {
			switch {
			case p && same[i]:
				got.tp++
			case p:
				got.fp++
			case same[i]:
				got.fn++
			default:
				got.tn++
			}
		}
		if got != (confusion{c.TP, c.FP, c.FN, c.TN}) || c.F1 < 0.8 {
			t.Errorf("%T: IsMatch gives %+v, calibration %+v (F1 want >= 0.8)", d, got, c)
		}
	}
}
