package distributed

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

// TestConcurrencyDocs checks that every exported type's doc says whether
// it is safe for concurrent use.
func TestConcurrencyDocs(t *testing.T) {
	testkit.CheckConcurrencyDocs(t, ".")
}

// TestConcurrencyClaims backs the package's claims of safety for concurrent
// use (run with -race): several goroutines of one rank call its Local at
// once; each call is serialized, so the ranks still pair their calls one
// by one (all calls here are the same all-reduce, so any pairing is
// valid).
func TestConcurrencyClaims(t *testing.T) {
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Local", Run: func(t *testing.T) {
			group, err := NewLocalGroup(2)
			if err != nil {
				t.Fatal(err)
			}
			concurrentReduce(t, Communicators(group))
		}},
		{Type: "Communicator", Run: func(t *testing.T) {
			if mpiWorld != nil {
				concurrentReduce(t, []Communicator{mpiWorld})
				return
			}
			group, _ := NewLocalGroup(3)
			concurrentReduce(t, Communicators(group))
		}},
	})
}

// concurrentReduce has 4 goroutines of each rank of group that lives in
// this process all-reduce at once.
func concurrentReduce(t *testing.T, group []Communicator) {
	const calls = 20
	done := make(chan struct{}, len(group))
	for _, c := range group {
		go func() {
			defer func() { done <- struct{}{} }()
			n := float64(c.Size())
			testkit.Concurrently(t, 4, calls/4, func(int) error {
				buf := []float64{1, float64(c.Rank())}
				if err := c.AllReduceFloat64s(buf); err != nil {
					return err
				}
				if want := []float64{n, n * (n - 1) / 2}; !slices.Equal(buf, want) {
					return fmt.Errorf("rank %d: sum %v, want %v", c.Rank(), buf, want)
				}
				return nil
			})
		}()
	}
	for range group {
		<-done
	}
}
