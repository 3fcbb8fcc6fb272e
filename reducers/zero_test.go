package reducers_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/reducers"
)

// zeroCase is a sub-loss and batch on which every reducer does something.
func zeroCase() (reducers.SubLoss, reducers.Stream, reducers.Batch) {
	vals := []float64{1, 0, 2, 0.5}
	l := reducers.SubLoss{Name: "loss", Values: vals, Indices: [][]int{{0, 1, 0, 1}}, Kind: reducers.Element, HasDivisor: true, Divisor: 3}
	s := reducers.Stream{Name: "loss", Kind: reducers.Element, Len: len(vals), HasDivisor: true, Divisor: 3,
		Each: func(yield func([]float64, int) error) error { return yield(vals, 0) }}
	return l, s, reducers.Batch{N: 2, Labels: []int{0, 0}}
}

// TestZeroValues checks every exported reducer type: its zero value either
// gives the results of New<Name>() (ReduceOne and, for a StreamPlanner,
// the streamed reduction) or is refused with an error wrapping
// gometric.ErrSetting that names the constructor.
func TestZeroValues(t *testing.T) {
	l, s, b := zeroCase()
	type zeroValueCase struct {
		zero, made  reducers.Reducer
		constructor string // "": the zero value is the default
	}
	cases := []zeroValueCase{
		{&reducers.Mean{}, reducers.NewMean(), ""},
		{&reducers.Sum{}, reducers.NewSum(), ""},
		{&reducers.AvgNonZero{}, reducers.NewAvgNonZero(), ""},
		{&reducers.Divisor{}, reducers.NewDivisor(), ""},
		{&reducers.PerAnchor{}, reducers.NewPerAnchor(), ""},
		{&reducers.Multiple{}, reducers.NewMultiple(nil), ""},
		{&reducers.DoNothing{}, reducers.NewDoNothing(), ""},
		{&reducers.Threshold{}, reducers.NewThreshold(0, 1.5), "NewThreshold"},
		{&reducers.Threshold{Low: 0, High: 1.5}, reducers.NewThreshold(0, 1.5), "NewThreshold"},
		{&reducers.ClassWeighted{}, reducers.NewClassWeighted([]float64{2}), "NewClassWeighted"},
	}
	for _, r := range reducerTypes {
		if !slices.ContainsFunc(cases, func(c zeroValueCase) bool { return reflect.TypeOf(c.zero) == reflect.TypeOf(r) }) {
			t.Errorf("no zero-value case for %T", r)
		}
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%#v", tc.zero), func(t *testing.T) {
			zv, zg, zerr := tc.zero.ReduceOne(l, b)
			mv, mg, merr := tc.made.ReduceOne(l, b)
			if tc.constructor != "" {
				if !errors.Is(zerr, gometric.ErrSetting) || !strings.Contains(zerr.Error(), tc.constructor) {
					t.Errorf("ReduceOne: %v, want an ErrSetting naming %s", zerr, tc.constructor)
				}
				if merr != nil {
					t.Errorf("ReduceOne of the constructor's value: %v", merr)
				}
				if _, ok, err := reducers.PlanStream(tc.zero, s, b); ok && (!errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.constructor)) {
					t.Errorf("PlanStream: %v, want an ErrSetting naming %s", err, tc.constructor)
				}
				for m, err := range testkit.Refused(t, tc.zero) {
					if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.constructor) {
						t.Errorf("%s without inputs: %v, want an ErrSetting naming %s", m, err, tc.constructor)
					}
				}
				return
			}
			if fmt.Sprint(zv, zg, zerr) != fmt.Sprint(mv, mg, merr) {
				t.Errorf("ReduceOne %v %v %v, constructor's %v %v %v", zv, zg, zerr, mv, mg, merr)
			}
			zs, _, zok, zerr := reducers.ReduceStream(tc.zero, s, b)
			ms, _, mok, merr := reducers.ReduceStream(tc.made, s, b)
			if zs != ms || zok != mok || (zerr == nil) != (merr == nil) {
				t.Errorf("ReduceStream %v %v %v, constructor's %v %v %v", zs, zok, zerr, ms, mok, merr)
			}
		})
	}
}

// reducerTypes are nil pointers of every exported reducer type; the data
// types are those of TestZeroData. TestAPIConventions checks the list
// against the source, so a new type cannot be forgotten.
var reducerTypes = []reducers.Reducer{
	(*reducers.Mean)(nil), (*reducers.Sum)(nil), (*reducers.AvgNonZero)(nil), (*reducers.Divisor)(nil),
	(*reducers.Threshold)(nil), (*reducers.ClassWeighted)(nil), (*reducers.PerAnchor)(nil),
	(*reducers.Multiple)(nil), (*reducers.DoNothing)(nil),
}

// TestAPIConventions: every exported struct type is a reducer of
// reducerTypes (covered by TestZeroValues and TestNilReceivers) or a data
// type of TestZeroData, and every type's doc says whether it is safe for
// concurrent use.
func TestAPIConventions(t *testing.T) {
	names := []string{"Band", "Batch", "Output", "Stream", "StreamPlan", "SubLoss"}
	for _, r := range reducerTypes {
		names = append(names, reflect.TypeOf(r).Elem().Name())
	}
	testkit.CheckListed(t, ".", names)
	testkit.CheckConcurrencyDocs(t, ".")
}

// TestNilReceivers checks that every method of every exported reducer type
// returns an error wrapping gometric.ErrSetting for a nil receiver, as do
// the package functions given one, and that a nil *DoNothing is not a
// pass-through.
func TestNilReceivers(t *testing.T) {
	l, s, b := zeroCase()
	for _, r := range reducerTypes {
		t.Run(fmt.Sprintf("%T", r), func(t *testing.T) {
			for m, err := range testkit.NilReceiver(t, reflect.TypeOf(r)) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "nil receiver") {
					t.Errorf("%s: %v", m, err)
				}
			}
			if _, _, ok, err := reducers.ReduceStream(r, s, b); ok && !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("ReduceStream: %v", err)
			}
			if _, err := reducers.Reduce(r, []reducers.SubLoss{l}, b); !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("Reduce: %v", err)
			}
		})
	}
	if reducers.Passthrough((*reducers.DoNothing)(nil)) {
		t.Error("a nil *DoNothing is a pass-through")
	}
}

// TestConcurrentUse reduces with every reducer from several goroutines at
// once (run with -race): each result must be the one of a lone call.
func TestConcurrentUse(t *testing.T) {
	l, s, b := zeroCase()
	for _, nr := range append(allReducers(), named{"Threshold/inf", reducers.NewThreshold(math.Inf(-1), 1)}) {
		lb := b
		lb.Labels = []int{1, 3}
		want, err := reducers.Reduce(nr.r, []reducers.SubLoss{l}, lb)
		if err != nil {
			t.Fatal(err)
		}
		wantS, _, _, err := reducers.ReduceStream(nr.r, s, lb)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Concurrently(t, 8, 20, func(int) error {
			got, err := reducers.Reduce(nr.r, []reducers.SubLoss{l}, lb)
			if err != nil || got.Loss != want.Loss {
				return fmt.Errorf("%s: Reduce %v, %v", nr.name, got.Loss, err)
			}
			v, _, _, err := reducers.ReduceStream(nr.r, s, lb)
			if err != nil || v != wantS {
				return fmt.Errorf("%s: ReduceStream %v, %v", nr.name, v, err)
			}
			return nil
		})
	}
}

// TestZeroData checks the zero values of the data types: a zero SubLoss is
// PML's literal zero loss (0, no gradient) for every reducer but Divisor,
// which needs a divisor; a zero Stream reduces to 0; a zero Band is 0
// everywhere; a zero StreamPlan streams nothing; a zero Output holds a loss
// of 0.
func TestZeroData(t *testing.T) {
	for _, nr := range allReducers() {
		if nr.name == "Divisor" {
			continue
		}
		v, g, err := nr.r.ReduceOne(reducers.SubLoss{}, reducers.Batch{})
		if err != nil || v != 0 || len(g) != 0 {
			t.Errorf("%s: zero SubLoss gives %v, %v, %v", nr.name, v, g, err)
		}
		if v, _, ok, err := reducers.ReduceStream(nr.r, reducers.Stream{}, reducers.Batch{}); ok && (err != nil || v != 0) {
			t.Errorf("%s: zero Stream gives %v, %v", nr.name, v, err)
		}
	}
	if _, _, err := reducers.NewDivisor().ReduceOne(reducers.SubLoss{}, reducers.Batch{}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Divisor of a zero SubLoss: %v", err)
	}
	if (reducers.Band{}).At(0.5) != 0 || (reducers.Band{}).At(-1) != 0 {
		t.Error("the zero Band is not 0")
	}
	if _, _, err := (reducers.StreamPlan{}).ReduceBand(reducers.Stream{}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("ReduceBand of the zero StreamPlan: %v", err)
	}
	if out := (reducers.Output{}); out.Loss != 0 || out.Parts != nil {
		t.Errorf("zero Output %+v", out)
	}
}
