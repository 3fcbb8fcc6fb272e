// Package randsrc holds the library's one rule for a nil *rand.Rand.
//
// Every component that draws random numbers (random miners, losses with
// random triplets or initial weights, samplers, tuples.RandomTriplets)
// takes a *rand.Rand. A seeded one makes its draws reproducible, and the
// component is then not safe for concurrent use (a *rand.Rand is not). A
// nil one means the process-wide generator of math/rand/v2 (randomly
// seeded, safe for concurrent use): fresh randomness at every call, as
// PML's use of torch's global generator gives.
package randsrc

import "math/rand/v2"

// global is a Source over math/rand/v2's top-level generator.
type global struct{}

func (global) Uint64() uint64 { return rand.Uint64() }

// shared is safe for concurrent use: a rand.Rand has no state of its own
// beyond its Source, and global's is the runtime's.
var shared = rand.New(global{})

// Or returns r, or the process-wide generator when r is nil.
func Or(r *rand.Rand) *rand.Rand {
	if r != nil {
		return r
	}
	return shared
}

// Global reports whether r is the process-wide generator Or returns for
// nil.
func Global(r *rand.Rand) bool { return r == shared }
