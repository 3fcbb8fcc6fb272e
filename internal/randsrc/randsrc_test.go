package randsrc

import (
	"math/rand/v2"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
)

func TestOr(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	if Or(r) != r || Global(r) {
		t.Fatal("Or(r) must return r")
	}
	g := Or(nil)
	if g == nil || !Global(g) {
		t.Fatal("Or(nil) must return the global generator")
	}
	// Fresh draws: 8 values are not all equal.
	first, same := g.Uint64(), true
	for range 7 {
		same = same && g.Uint64() == first
	}
	if same {
		t.Fatal("the global generator repeats itself")
	}
}

// The global generator is safe for concurrent use (run with -race).
func TestConcurrent(t *testing.T) {
	testkit.Concurrently(t, 4, 1000, func(int) error {
		_ = Or(nil).IntN(10)
		_ = Or(nil).NormFloat64()
		return nil
	})
}
