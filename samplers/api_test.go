package samplers

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// epochOf draws one epoch of a Sampler or a BatchSampler, flattened.
func epochOf(s any, rng *rand.Rand) ([]int, error) {
	switch v := s.(type) {
	case Sampler:
		return v.Epoch(rng)
	case BatchSampler:
		bs, err := v.EpochBatches(rng)
		return slices.Concat(bs...), err
	}
	panic("not a sampler")
}

// madeSamplers returns one sampler of every exported type, made by its
// constructor, keyed by type name.
func madeSamplers(t *testing.T) map[string]any {
	labels := labelsOf(9, 7, 8, 6, 5)
	fixed, err := NewFixedSetOfTriplets(labels, 30, newRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	mpc := NewMPerClass(labels, 2)
	mpc.BatchSize = 6
	ttw := NewTuplesToWeights(indexModel, firstTriplets, labels)
	return map[string]any{
		"FixedSetOfTriplets": fixed,
		"Hierarchical":       NewHierarchical(labels, superOf(labels), 8, 2),
		"MPerClass":          mpc,
		"TuplesToWeights":    ttw,
	}
}

// TestZeroValues checks every exported type of the package (the list is
// read from the source, so a new type cannot be forgotten). No sampler's
// zero value can mean PML's defaults (each needs labels, and some have
// settings for which 0 is legal), so each is refused with an error
// wrapping ErrSetting that names its constructor. Every method of a nil
// pointer returns an error or a zero value without panicking.
func TestZeroValues(t *testing.T) {
	zeros := map[string]any{
		"FixedSetOfTriplets": &FixedSetOfTriplets{},
		"Hierarchical":       &Hierarchical{},
		"MPerClass":          &MPerClass{},
		"TuplesToWeights":    &TuplesToWeights{},
	}
	made := madeSamplers(t)
	var names []string
	for name, z := range zeros {
		names = append(names, name)
		if got := reflect.TypeOf(z).Elem().Name(); got != name || reflect.TypeOf(made[name]) != reflect.TypeOf(z) {
			t.Errorf("case %s holds %T and %T", name, z, made[name])
		}
	}
	testkit.CheckListed(t, ".", names)
	testkit.CheckConcurrencyDocs(t, ".")
	for name, z := range zeros {
		t.Run(name, func(t *testing.T) {
			if _, err := epochOf(made[name], newRNG(1)); err != nil {
				t.Fatalf("made by its constructor: %v", err)
			}
			_, err := epochOf(z, newRNG(1))
			if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "samplers."+name+": ") || !strings.Contains(err.Error(), "New"+name+"(") {
				t.Fatalf("zero value: %v; want an ErrSetting error naming New%s", err, name)
			}
			for method, err := range testkit.ZeroValue(t, reflect.TypeOf(z)) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), "New"+name+"(") {
					t.Errorf("zero value %s: %v; want an ErrSetting error naming New%s", method, err, name)
				}
			}
			for method, err := range testkit.NilReceiver(t, reflect.TypeOf(z)) {
				if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "samplers."+name+": ") {
					t.Errorf("nil receiver %s: %v; want an ErrSetting error naming samplers.%s", method, err, name)
				}
			}
		})
	}
	// Literals with the settings PML requires: MPerClass and its 0 default
	// length are PML's defaults; Hierarchical and TuplesToWeights are
	// refused (0 and false are legal settings of theirs).
	labels := labelsOf(4, 4, 4)
	lit := &MPerClass{Labels: labels, M: 2}
	if lit.Len() != NewMPerClass(labels, 2).Len() {
		t.Errorf("MPerClass literal: Len() = %d, want New's %d", lit.Len(), NewMPerClass(labels, 2).Len())
	}
	if _, err := (&Hierarchical{Labels: [2][]int{labels, superOf(labels)}, BatchSize: 4, SamplesPerClass: 2, BatchesPerSuperTuple: 4, SuperClassesPerBatch: 2, OuterLabel: 1}).EpochBatches(nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("Hierarchical literal: %v, want ErrSetting", err)
	}
	if _, err := (&TuplesToWeights{Model: indexModel, Miner: firstTriplets, Labels: labels}).Epoch(nil); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("TuplesToWeights literal: %v, want ErrSetting", err)
	}
}

// TestNilRand checks the nil *rand.Rand rule: nil means the process-wide
// generator, a fresh epoch at every call, and is safe for concurrent use
// (run with -race), as the samplers are.
func TestNilRand(t *testing.T) {
	for name, s := range madeSamplers(t) {
		t.Run(name, func(t *testing.T) {
			first, err := epochOf(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			differs := false
			for range 5 {
				again, err := epochOf(s, nil)
				if err != nil {
					t.Fatal(err)
				}
				differs = differs || !slices.Equal(first, again)
			}
			if !differs {
				t.Fatal("six epochs drawn with a nil rng are equal; want fresh draws")
			}
			testkit.Concurrently(t, 4, 1, func(int) error {
				e, err := epochOf(s, nil)
				if err != nil || len(e) != len(first) {
					return fmt.Errorf("concurrent epoch: %d indices, %v; want %d", len(e), err, len(first))
				}
				return nil
			})
		})
	}
	if _, err := NewFixedSetOfTriplets(labelsOf(2, 2), 3, nil); err != nil {
		t.Errorf("NewFixedSetOfTriplets with a nil rng: %v", err)
	}
}
