package distances_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/gometric/gometric/distances"
	"gonum.org/v1/gonum/mat"
)

// TestBadInputSweep calls every exported function and method of the
// package with nil, empty and mis-shaped arguments: none may panic, and
// each returns an error (or, for Margin, Closer and Settings, its
// documented zero value).
func TestBadInputSweep(t *testing.T) {
	good := mat.NewDense(3, 2, []float64{1, 2, 3, 4, 5, 7})
	ref := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	threeCols := mat.NewDense(2, 3, nil)
	empty := &mat.Dense{}
	huge := mat.NewDense(1, 2, []float64{math.MaxFloat64, -math.MaxFloat64})
	mats := map[string]*mat.Dense{"nil": nil, "empty": empty, "three columns": threeCols, "huge": huge}
	ds := map[string]distances.Distance{
		"Lp": distances.NewLp(), "Cosine": distances.NewCosineSimilarity(), "Dot": distances.NewDotProductSimilarity(),
		"SNR": distances.NewSNR(), "Batched": distances.NewBatched(distances.NewLp(), 2),
		"nil Lp": (*distances.Lp)(nil), "zero Batched": &distances.Batched{},
	}
	// mayWork marks the calls whose arguments are valid (a 2×3 query
	// alone; a row of ±MaxFloat64, whose normalised rows float64 holds):
	// those only must not panic.
	mayWork := false
	call := func(what string, f func() error) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Errorf("%s: panic %v", what, r)
			}
		}()
		if err := f(); err == nil && !mayWork {
			t.Errorf("%s: no error", what)
		}
	}
	for dn, d := range ds {
		for mn, m := range mats {
			w := fmt.Sprintf("%s %s", dn, mn)
			usable := dn != "nil Lp" && dn != "zero Batched"
			three, big := usable && mn == "three columns", usable && mn == "huge"
			mayWork = three || big
			call(w+" Matrix(m, nil)", func() error { _, err := d.Matrix(m, nil); return err })
			call(w+" NewSession", func() error { _, err := distances.NewSession(d, m, nil); return err })
			mayWork = big
			call(w+" Matrix(good, m)", func() error {
				if m == nil {
					return errNil
				}
				_, err := d.Matrix(good, m)
				return err
			})
			if o, ok := d.(distances.SessionOpener); ok {
				call(w+" OpenSession", func() error { _, err := o.OpenSession(m, ref); return err })
			}
			mayWork = three
			call(w+" NewColumnSession", func() error { _, err := distances.NewColumnSession(d, good, m); return err })
			mayWork = false
			call(w+" MatrixVJP grad", func() error { _, _, err := d.MatrixVJP(good, nil, nil, m); return err })
			call(w+" MatrixVJP m", func() error {
				if m == nil {
					return errNil
				}
				_, _, err := d.MatrixVJP(good, nil, m, mat.NewDense(3, 3, nil))
				return err
			})
			call(w+" Pairwise", func() error { _, err := d.Pairwise(good, m); return err })
			call(w+" PairwiseVJP", func() error { _, _, err := d.PairwiseVJP(m, good, []float64{1, 2, 3}); return err })
		}
		mayWork = false
		call(dn+" PairwiseVJP short grad", func() error { _, _, err := d.PairwiseVJP(good, good, []float64{1}); return err })
		call(dn+" PairwiseVJP nil grad", func() error { _, _, err := d.PairwiseVJP(good, good, nil); return err })
		call(dn+" Smallest nil row", func() error { _, _, err := distances.Smallest(d, nil); return err })
		call(dn+" Largest NaN", func() error { _, _, err := distances.Largest(d, []float64{1, math.NaN()}); return err })
		_ = distances.Margin(d, 1, 2)
		_ = distances.Closer(d, 1, 2)
		_ = d.Settings()
		s, err := distances.NewSession(d, good, ref)
		if err != nil {
			continue
		}
		dq, dr := mat.NewDense(3, 2, nil), mat.NewDense(2, 2, nil)
		for mn, m := range mats {
			call(dn+" Backward gm "+mn, func() error { return s.Backward(m, dq, dr) })
			call(dn+" Backward dq "+mn, func() error { return s.Backward(mat.NewDense(3, 2, nil), m, dr) })
			call(dn+" Backward dr "+mn, func() error { return s.Backward(mat.NewDense(3, 2, nil), dq, m) })
			call(dn+" BackwardEntries dq "+mn, func() error { return s.BackwardEntries([]distances.Entry{{I: 0, J: 0, G: 1}}, m, dr) })
		}
		for _, e := range []distances.Entry{{I: -1}, {I: 3}, {J: 2}, {I: math.MaxInt, J: math.MinInt}} {
			call(fmt.Sprintf("%s BackwardEntries %+v", dn, e), func() error { return s.BackwardEntries([]distances.Entry{e}, dq, dr) })
		}
		s.Release()
		call(dn+" Backward after Release", func() error { return s.Backward(mat.NewDense(3, 2, nil), dq, dr) })
		if s.Matrix() != nil {
			t.Errorf("%s: Matrix after Release is not nil", dn)
		}
	}
	b := distances.NewBatched(distances.NewLp(), 2)
	for mn, m := range mats {
		mayWork = mn == "three columns" || mn == "huge"
		call("Batched.Each "+mn, func() error { return b.Each(m, nil, func(*mat.Dense, int, int) error { return nil }) })
	}
	mayWork = false
	call("NewSession nil distance", func() error { _, err := distances.NewSession(nil, good, nil); return err })
	call("NewColumnSession nil distance", func() error { _, err := distances.NewColumnSession(nil, good, ref); return err })
}

var errNil = fmt.Errorf("skipped: nil ref means ref is query")
