package tuples

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
// Pairs and Triplets are read by several goroutines at once, through
// their methods and through the functions that take them.
func TestConcurrencyClaims(t *testing.T) {
	labels := []int{0, 0, 1, 1, 2, 0}
	p, err := AllPairs(labels, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := AllTriplets(labels, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	read := func(tu Tuples) func(t *testing.T) {
		return func(t *testing.T) {
			wantW, err := Weights(tu, len(labels), false)
			if err != nil {
				t.Fatal(err)
			}
			wantT, err := ToTriplets(tu, labels, nil, true, AllPerAnchor, nil)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 20, func(int) error {
				if err := tu.Validate(len(labels), len(labels)); err != nil {
					return err
				}
				w, err := Weights(tu, len(labels), false)
				if err != nil || !reflect.DeepEqual(w, wantW) {
					return fmt.Errorf("%T: Weights %v", tu, err)
				}
				got, err := ToTriplets(tu, labels, nil, true, AllPerAnchor, nil)
				if err != nil || !reflect.DeepEqual(got, wantT) || len(Anchors(tu)) == 0 {
					return fmt.Errorf("%T: ToTriplets %v", tu, err)
				}
				if _, err := RemoveSelfComparisons(tu, []int{1, 2}, len(labels), false); err != nil {
					return err
				}
				// The process-wide generator (a nil *rand.Rand) is safe
				// for concurrent use.
				r, err := RandomTriplets(labels, nil, true, 2, nil, nil)
				if err != nil || r.Validate(len(labels), len(labels)) != nil {
					return fmt.Errorf("RandomTriplets with a nil rng: %v", err)
				}
				return nil
			})
		}
	}
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Pairs", Run: read(p)},
		{Type: "Triplets", Run: read(tr)},
		{Type: "Tuples", Run: func(t *testing.T) { read(p)(t); read(tr)(t) }},
	})
}
