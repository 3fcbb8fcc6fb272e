package samplers

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// concurrentSampler shares s between goroutines (run with -race): with
// the process-wide generator (nil) every goroutine draws a valid epoch of
// the right length; with a *rand.Rand of its own seeded alike, every
// goroutine draws the epoch of a lone call with that seed.
func concurrentSampler(t *testing.T, s any) {
	t.Helper()
	want, err := epochOf(s, newRNG(11))
	if err != nil {
		t.Fatalf("%T: %v", s, err)
	}
	n := 0
	switch v := s.(type) {
	case Sampler:
		n = v.Len()
	case BatchSampler:
		n = v.NumBatches()
	}
	testkit.Concurrently(t, 4, 2, func(int) error {
		e, err := epochOf(s, nil)
		if err != nil || len(e) != len(want) {
			return fmt.Errorf("%T: epoch of %d indices with nil, %v; want %d", s, len(e), err, len(want))
		}
		e, err = epochOf(s, newRNG(11))
		if err != nil || !slices.Equal(e, want) {
			return fmt.Errorf("%T: a goroutine's own generator gives another epoch (%v)", s, err)
		}
		switch v := s.(type) {
		case Sampler:
			if v.Len() != n {
				return fmt.Errorf("%T: Len %d, want %d", s, v.Len(), n)
			}
		case BatchSampler:
			if v.NumBatches() != n {
				return fmt.Errorf("%T: NumBatches %d, want %d", s, v.NumBatches(), n)
			}
		}
		return nil
	})
}

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
func TestConcurrencyClaims(t *testing.T) {
	made := madeSamplers(t)
	one := func(name string) func(t *testing.T) {
		return func(t *testing.T) { concurrentSampler(t, made[name]) }
	}
	cover := NewMPerClass(labelsOf(9, 7, 8, 6, 5), 2)
	cover.BatchSize, cover.CoverAll = 6, true
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "FixedSetOfTriplets", Run: one("FixedSetOfTriplets")},
		{Type: "Hierarchical", Run: one("Hierarchical")},
		{Type: "MPerClass", Run: func(t *testing.T) {
			concurrentSampler(t, made["MPerClass"])
			concurrentSampler(t, cover)
			concurrentSampler(t, NewMPerClass(labelsOf(9, 7, 8, 6, 5), 3))
		}},
		{Type: "TuplesToWeights", Run: one("TuplesToWeights")},
		// The interface's claim is about this package's samplers.
		{Type: "Sampler", Run: func(t *testing.T) {
			for _, name := range []string{"FixedSetOfTriplets", "MPerClass", "TuplesToWeights"} {
				concurrentSampler(t, made[name].(Sampler))
			}
		}},
	})
}
