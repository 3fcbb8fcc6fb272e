package distances_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/testkit"
	"gonum.org/v1/gonum/mat"
)

// methodErrors calls every method of d that returns an error and returns
// those errors, by method name.
func methodErrors(d distances.Distance, q *mat.Dense) map[string]error {
	n, _ := q.Dims()
	g := mat.NewDense(n, n, nil)
	out := map[string]error{}
	_, out["Matrix"] = d.Matrix(q, nil)
	_, _, out["MatrixVJP"] = d.MatrixVJP(q, nil, nil, g)
	_, out["Pairwise"] = d.Pairwise(q, q)
	_, _, out["PairwiseVJP"] = d.PairwiseVJP(q, q, make([]float64, n))
	if o, ok := d.(distances.SessionOpener); ok {
		_, out["OpenSession"] = o.OpenSession(q, nil)
	}
	if b, ok := d.(*distances.Batched); ok {
		out["Each"] = b.Each(q, nil, func(*mat.Dense, int, int) error { return nil })
	}
	return out
}

// distanceTypes are nil pointers of every exported distance type; the
// data types are Entry and Settings. TestAPIConventions checks the list
// against the source, so a new type cannot be forgotten.
var distanceTypes = []distances.Distance{
	(*distances.Lp)(nil), (*distances.CosineSimilarity)(nil), (*distances.DotProductSimilarity)(nil),
	(*distances.SNR)(nil), (*distances.Batched)(nil),
}

// TestAPIConventions: every exported struct type is a distance of
// distanceTypes (covered by TestZeroValues and TestNilReceivers) or a data
// type whose zero value is checked here, and every type's doc says whether
// it is safe for concurrent use.
func TestAPIConventions(t *testing.T) {
	names := []string{"Entry", "Settings"}
	for _, d := range distanceTypes {
		names = append(names, reflect.TypeOf(d).Elem().Name())
	}
	testkit.CheckListed(t, ".", names)
	testkit.CheckConcurrencyDocs(t, ".")
	// The zero Entry adds nothing; the zero Settings is a nil distance's
	// (TestNilReceivers).
	q := mat.NewDense(2, 3, []float64{1, 2, 3, 3, 1, 2})
	s, err := distances.NewSession(distances.NewLp(), q, nil)
	if err != nil {
		t.Fatal(err)
	}
	dq := mat.NewDense(2, 3, nil)
	if err := s.BackwardEntries([]distances.Entry{{}, {}}, dq, nil); err != nil || !mat.Equal(dq, mat.NewDense(2, 3, nil)) {
		t.Errorf("zero Entries add %v, %v; want nothing", mat.Formatted(dq), err)
	}
	s.Release()
}

// TestZeroValues checks every exported distance type: its zero value
// either is PML's default (the results of New<Name>()) or is refused by
// every method with an error wrapping gometric.ErrSetting that names the
// constructor; an incomplete struct literal is refused likewise.
func TestZeroValues(t *testing.T) {
	q := mat.NewDense(3, 4, []float64{1, 2, 3, 4, 4, 3, 2, 1, 0, 1, 0, 2})
	type zeroCase struct {
		zero, made  distances.Distance
		constructor string // "": the zero value is the default
	}
	cases := []zeroCase{
		{&distances.Lp{}, distances.NewLp(), "NewLp"},
		{&distances.Lp{P: 2}, distances.NewLp(), "NewLp"},
		{&distances.Lp{NormalizeEmbeddings: true, Power: 1}, distances.NewLp(), "NewLp"},
		{&distances.DotProductSimilarity{}, distances.NewDotProductSimilarity(), "NewDotProductSimilarity"},
		{&distances.SNR{Power: 1}, distances.NewSNR(), "NewSNR"},
		{&distances.Batched{}, distances.NewBatched(distances.NewLp(), distances.DefaultBatchSize), "NewBatched"},
		{&distances.CosineSimilarity{}, distances.NewCosineSimilarity(), ""},
		{&distances.CosineSimilarity{Power: 1}, distances.NewCosineSimilarity(), ""},
	}
	for _, d := range distanceTypes {
		if !slices.ContainsFunc(cases, func(c zeroCase) bool { return reflect.TypeOf(c.zero) == reflect.TypeOf(d) }) {
			t.Errorf("no zero-value case for %T", d)
		}
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%#v", tc.zero), func(t *testing.T) {
			if tc.constructor == "" {
				if got, want := tc.zero.Settings(), tc.made.Settings(); got != want {
					t.Errorf("Settings %+v, want %+v", got, want)
				}
				got, want := methodErrors(tc.zero, q), methodErrors(tc.made, q)
				for m, err := range got {
					if err != nil || want[m] != nil {
						t.Errorf("%s: %v (made: %v)", m, err, want[m])
					}
				}
				a, _ := tc.zero.Matrix(q, nil)
				b, _ := tc.made.Matrix(q, nil)
				if !mat.Equal(a, b) {
					t.Error("the zero value's matrix differs from the constructor's")
				}
				return
			}
			// Every method refuses the value, given real inputs or none.
			for m, err := range methodErrors(tc.zero, q) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.constructor) {
					t.Errorf("%s: %v, want an ErrSetting naming %s", m, err, tc.constructor)
				}
			}
			for m, err := range testkit.Refused(t, tc.zero) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), tc.constructor) {
					t.Errorf("%s without inputs: %v, want an ErrSetting naming %s", m, err, tc.constructor)
				}
			}
			for m, err := range methodErrors(tc.made, q) {
				if err != nil {
					t.Errorf("%s of the constructor's value: %v", m, err)
				}
			}
			if _, err := distances.NewSession(tc.zero, q, nil); !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("NewSession: %v", err)
			}
		})
	}
	// A constructor's value whose P is set to 0 is reported as such.
	lp := distances.NewLp()
	lp.P = 0
	if _, err := lp.Matrix(q, nil); !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "P = 0") {
		t.Errorf("NewLp with P 0: %v", err)
	}
	// A complete struct literal is accepted: it says what it computes.
	if _, err := (&distances.Lp{P: 2, Power: 1}).Matrix(q, nil); err != nil {
		t.Errorf("complete literal: %v", err)
	}
}

// TestNilReceivers checks that every method of every exported pointer type
// returns an error for a nil receiver (Settings the zero Settings), and
// that the package functions taking a distance refuse a nil one.
func TestNilReceivers(t *testing.T) {
	q := mat.NewDense(2, 3, []float64{1, 2, 3, 3, 1, 2})
	for _, d := range distanceTypes {
		t.Run(fmt.Sprintf("%T", d), func(t *testing.T) {
			for m, err := range testkit.NilReceiver(t, reflect.TypeOf(d)) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "nil receiver") {
					t.Errorf("%s: %v", m, err)
				}
			}
			if _, err := distances.NewSession(d, q, nil); !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("NewSession: %v", err)
			}
			if _, err := distances.NewColumnSession(d, q, mat.NewDense(3, 2, nil)); !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("NewColumnSession: %v", err)
			}
		})
	}
}

// TestOrderHelpers checks Margin, Closer, Smallest and Largest on nil
// distances (no panic, no order: an error) and on rows holding NaN (an
// error naming the first NaN, wherever it is).
func TestOrderHelpers(t *testing.T) {
	for _, d := range []distances.Distance{nil, (*distances.Lp)(nil), (*distances.CosineSimilarity)(nil), &distances.Batched{}, distances.NewBatched(nil, 2)} {
		if m := distances.Margin(d, 1, 2); !math.IsNaN(m) {
			t.Errorf("%T: Margin %v, want NaN", d, m)
		}
		if distances.Closer(d, 1, 2) || distances.Closer(d, 2, 1) {
			t.Errorf("%T: Closer is true", d)
		}
		if v, i, err := distances.Smallest(d, []float64{1, 2}); !math.IsNaN(v) || i != -1 || !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%T: Smallest %v, %d, %v", d, v, i, err)
		}
		if v, i, err := distances.Largest(d, []float64{1, 2}); !math.IsNaN(v) || i != -1 || !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%T: Largest %v, %d, %v", d, v, i, err)
		}
	}
	nan := math.NaN()
	for _, d := range []distances.Distance{distances.NewLp(), distances.NewCosineSimilarity()} {
		for _, tc := range []struct {
			row []float64
			at  int
		}{
			{[]float64{nan, 1, 2}, 0},
			{[]float64{1, nan, 2}, 1},
			{[]float64{1, 2, nan}, 2},
			{[]float64{2, nan, 1, nan}, 1},
		} {
			for name, f := range map[string]func(distances.Distance, []float64) (float64, int, error){"Smallest": distances.Smallest, "Largest": distances.Largest} {
				v, i, err := f(d, tc.row)
				if !math.IsNaN(v) || i != -1 || !errors.Is(err, gometric.ErrNonFinite) || !strings.Contains(err.Error(), fmt.Sprintf("row[%d] is NaN", tc.at)) {
					t.Errorf("%T %s(%v) = %v at %d (%v), want an error naming the NaN at %d", d, name, tc.row, v, i, err, tc.at)
				}
			}
		}
	}
}

// TestConcurrentUse calls every distance from several goroutines at once
// (run with -race): each result must be the one of a lone call.
func TestConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	q, r := testkit.UniformDense(rng, 20, 6), testkit.UniformDense(rng, 12, 6)
	g := testkit.UniformDense(rng, 20, 12)
	for _, d := range []distances.Distance{
		distances.NewLp(), distances.NewCosineSimilarity(), distances.NewDotProductSimilarity(),
		distances.NewSNR(), distances.NewBatched(distances.NewLp(), 5),
	} {
		want, err := d.Matrix(q, r)
		if err != nil {
			t.Fatal(err)
		}
		wantQ, _, err := d.MatrixVJP(q, r, nil, g)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Concurrently(t, 8, 5, func(int) error {
			m, err := d.Matrix(q, r)
			if err != nil || !mat.Equal(m, want) {
				return fmt.Errorf("%T: Matrix %v", d, err)
			}
			s, err := distances.NewSession(d, q, r)
			if err != nil || !mat.Equal(s.Matrix(), want) {
				return fmt.Errorf("%T: session %v", d, err)
			}
			dq, dr := mat.NewDense(20, 6, nil), mat.NewDense(12, 6, nil)
			if err := s.Backward(g, dq, dr); err != nil || !mat.Equal(dq, wantQ) {
				return fmt.Errorf("%T: Backward %v", d, err)
			}
			s.Release()
			return nil
		})
	}
}
