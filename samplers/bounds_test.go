package samplers

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// TestRunawaySettings: an epoch's length follows settings, not the
// dataset, so every setting that sizes an epoch (a length, m, a batch
// size, a number of triplets, a subset size) is bounded by the documented
// limit of 2^24 indices. A refused setting is an error wrapping
// ErrSetting that names the sampler and the value, returned having
// allocated little.
func TestRunawaySettings(t *testing.T) {
	labels := labelsOf(9, 7, 8, 6, 5)
	mpc := func(f func(*MPerClass)) func() error {
		return func() error {
			s := NewMPerClass(labels, 2)
			f(s)
			_, err := s.Epoch(newRNG(1))
			return err
		}
	}
	hier := func(f func(*Hierarchical)) func() error {
		return func() error {
			h := NewHierarchical(labels, superOf(labels), 8, 2)
			f(h)
			_, err := h.EpochBatches(newRNG(1))
			return err
		}
	}
	ttw := func(size int) func() error {
		return func() error {
			s := NewTuplesToWeights(indexModel, firstTriplets, labels)
			s.SubsetSize = size
			_, err := s.Epoch(newRNG(1))
			return err
		}
	}
	batches := func(bs int) func() error {
		return func() error {
			b, err := Batches(NewMPerClass(labels, 2), newRNG(1), bs)
			if err == nil && (len(b) != 1 || len(b[0]) != 100000) {
				return fmt.Errorf("%d batches", len(b))
			}
			return err
		}
	}
	fixed := func(n int) func() error {
		return func() error { _, err := NewFixedSetOfTriplets(labels, n, newRNG(1)); return err }
	}
	cases := []struct {
		name string
		call func() error
		comp string
		text string // the value the error names; "" when the call succeeds
	}{
		{"MPerClass LengthBeforeNewIter 1e9", mpc(func(s *MPerClass) { s.LengthBeforeNewIter = 1e9 }), "MPerClass", "1000000000"},
		{"MPerClass LengthBeforeNewIter MaxInt, batch 10", mpc(func(s *MPerClass) { s.LengthBeforeNewIter, s.BatchSize = math.MaxInt, 10 }), "MPerClass", ""},
		{"MPerClass LengthBeforeNewIter 2^24", mpc(func(s *MPerClass) { s.LengthBeforeNewIter = 1 << 24 }), "", ""},
		{"MPerClass M 1e9", mpc(func(s *MPerClass) { s.M = 1e9 }), "MPerClass", "1000000000"},
		{"MPerClass M MaxInt", mpc(func(s *MPerClass) { s.M = math.MaxInt }), "MPerClass", "9223372036854775807"},
		{"MPerClass CoverAll BatchSize 1e9", mpc(func(s *MPerClass) { s.CoverAll, s.M, s.BatchSize = true, 2e8, 1e9 }), "MPerClass", "200000000"},
		{"MPerClass CoverAll M 1e7", mpc(func(s *MPerClass) { s.CoverAll, s.M, s.BatchSize = true, 1e7, 2e7 }), "MPerClass", "10000000"},
		{"MPerClass CoverAll BatchSize 1e9, M 1", mpc(func(s *MPerClass) { s.CoverAll, s.M, s.BatchSize = true, 1, 1e9 }), "MPerClass", "1000000000"},
		{"FixedSetOfTriplets 1e9", fixed(1e9), "FixedSetOfTriplets", "1000000000"},
		{"FixedSetOfTriplets MaxInt", fixed(math.MaxInt), "FixedSetOfTriplets", "9223372036854775807"},
		{"FixedSetOfTriplets 2^24/3+1", fixed(1<<24/3 + 1), "FixedSetOfTriplets", "5592406"},
		{"Hierarchical BatchSize 1e9", hier(func(h *Hierarchical) { h.BatchSize, h.SamplesPerClass = 1e9, 2 }), "Hierarchical", "1000000000"},
		{"Hierarchical BatchesPerSuperTuple 1e9", hier(func(h *Hierarchical) { h.BatchesPerSuperTuple = 1e9 }), "Hierarchical", "1000000000"},
		{"Hierarchical BatchSize MaxInt-1", hier(func(h *Hierarchical) { h.BatchSize, h.SamplesPerClass = math.MaxInt-1, AllSamples }), "Hierarchical", "9223372036854775806"},
		{"TuplesToWeights SubsetSize 1e9", ttw(1e9), "TuplesToWeights", "1000000000"},
		{"Batches of MaxInt", batches(math.MaxInt), "", ""},
		{"Batches of MaxInt-1", batches(math.MaxInt - 1), "", ""},
		{"Batches of 1e18", batches(1e18), "", ""},
		{"Batches of MaxInt-1 of an epoch of 3", func() error {
			// (3 + batchSize − 1)/batchSize overflowed to −1: a panic in make.
			f, err := NewFixedSetOfTriplets(labels, 1, newRNG(1))
			if err != nil {
				return err
			}
			b, err := Batches(f, newRNG(1), math.MaxInt-1)
			if err == nil && (len(b) != 1 || len(b[0]) != 3) {
				return fmt.Errorf("%d batches", len(b))
			}
			return err
		}, "", ""},
		{"TuplesToWeights SubsetSize MaxInt", ttw(math.MaxInt), "TuplesToWeights", "9223372036854775807"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := testkit.Allocated(func() { err = tc.call() })
			if tc.comp == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "samplers."+tc.comp+": ") || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v; want an ErrSetting error from samplers.%s naming %s", err, tc.comp, tc.text)
			}
			if alloc > 16<<20 {
				t.Errorf("the refused call allocated %d MiB", alloc>>20)
			}
		})
	}
}

// TestExtremeLabels: labels such as 10^18, math.MaxInt and math.MinInt
// give, with the same seed, exactly the epochs of small labels in the same
// order: the samplers group labels, they never index by them.
func TestExtremeLabels(t *testing.T) {
	small := []int{0, 1, 2, 0, 1, 2, 0, 1, 5, 3, 4, 5, 2, 3, 4, 4, 5, 0}
	ext := testkit.Relabel(small, testkit.ExtremeLabels())
	superSmall := []int{0, 0, 1, 0, 0, 1, 0, 0, 2, 1, 2, 2, 1, 1, 2, 2, 2, 0}
	superExt := testkit.Relabel(superSmall, testkit.ExtremeLabels()[1:])
	make := func(labels, super []int) map[string]any {
		fixed, err := NewFixedSetOfTriplets(labels, 20, newRNG(5))
		if err != nil {
			t.Fatal(err)
		}
		mpc := NewMPerClass(labels, 2)
		mpc.BatchSize = 6
		cover := NewMPerClass(labels, 2)
		cover.BatchSize, cover.CoverAll = 6, true
		return map[string]any{
			"FixedSetOfTriplets": fixed,
			"Hierarchical":       NewHierarchical(labels, super, 4, 2),
			"MPerClass":          mpc,
			"MPerClass CoverAll": cover,
			"TuplesToWeights":    NewTuplesToWeights(indexModel, firstTriplets, labels),
		}
	}
	want, got := make(small, superSmall), make(ext, superExt)
	for name, s := range want {
		a, err := epochOf(s, newRNG(9))
		if err != nil {
			t.Fatalf("%s, small labels: %v", name, err)
		}
		b, err := epochOf(got[name], newRNG(9))
		if err != nil {
			t.Fatalf("%s, extreme labels: %v", name, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: extreme labels give the epoch %v, small ones %v", name, b, a)
		}
	}
}
