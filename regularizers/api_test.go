package regularizers_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/regularizers"
	"gonum.org/v1/gonum/mat"
)

// TestZeroValues checks every exported type of the package (the list is
// read from the source, so a new type cannot be forgotten): the zero value
// computes exactly what New<Name> computes, or is refused with an error
// wrapping ErrSetting that names the constructor; Compute on a nil pointer
// returns an error without panicking.
func TestZeroValues(t *testing.T) {
	cases := []struct {
		name     string
		zero     regularizers.Regularizer
		made     regularizers.Regularizer
		defaults bool
	}{
		{"CenterInvariant", &regularizers.CenterInvariant{}, regularizers.NewCenterInvariant(), true},
		{"Lp", &regularizers.Lp{}, regularizers.NewLp(), true},
		{"RegularFace", &regularizers.RegularFace{}, regularizers.NewRegularFace(), true},
		{"SparseCenters", &regularizers.SparseCenters{}, regularizers.NewSparseCenters(3, 2), false},
		{"ZeroMean", &regularizers.ZeroMean{}, regularizers.NewZeroMean(), true},
	}
	var names []string
	for _, tc := range cases {
		names = append(names, tc.name)
		if got := reflect.TypeOf(tc.zero).Elem().Name(); got != tc.name || reflect.TypeOf(tc.made) != reflect.TypeOf(tc.zero) {
			t.Errorf("case %s holds %T and %T", tc.name, tc.zero, tc.made)
		}
	}
	testkit.CheckListed(t, ".", names)
	testkit.CheckConcurrencyDocs(t, ".")

	rng := rand.New(rand.NewPCG(4, 4))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for trial := range 5 {
				x := testkit.NormalDense(rng, 6, 3)
				wantV, wantG, wantErr := tc.made.Compute(x)
				if wantErr != nil {
					t.Fatal(wantErr)
				}
				v, g, err := tc.zero.Compute(x)
				if !tc.defaults {
					if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "New"+tc.name) {
						t.Fatalf("zero value: %v; want an ErrSetting error naming New%s", err, tc.name)
					}
					continue
				}
				if err != nil || v != wantV || !mat.Equal(g, wantG) {
					t.Fatalf("trial %d: zero value gives %v (%v), New%s %v", trial, v, err, tc.name, wantV)
				}
			}
		})
		t.Run(tc.name+"/nil", func(t *testing.T) {
			for method, err := range testkit.NilReceiver(t, reflect.TypeOf(tc.zero)) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "regularizers."+tc.name+": ") {
					t.Errorf("nil receiver %s: %v; want an ErrSetting error naming regularizers.%s", method, err, tc.name)
				}
			}
		})
	}
}

// TestConcurrentCompute backs the documented claim that a regularizer may
// be used by several goroutines at once (run with -race).
func TestConcurrentCompute(t *testing.T) {
	x := mat.NewDense(6, 3, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 0, 1, 2, 2, 1, 0, 1, 1})
	for _, r := range []regularizers.Regularizer{
		regularizers.NewCenterInvariant(), regularizers.NewLp(), regularizers.NewRegularFace(),
		regularizers.NewSparseCenters(3, 2), regularizers.NewZeroMean(),
	} {
		want, wantG, err := r.Compute(x)
		if err != nil {
			t.Fatal(err)
		}
		testkit.Concurrently(t, 4, 1, func(int) error {
			v, g, err := r.Compute(x)
			if err != nil || v != want || !mat.Equal(g, wantG) {
				return fmt.Errorf("%T: concurrent result %v (%v), sequential %v", r, v, err, want)
			}
			return nil
		})
	}
}
