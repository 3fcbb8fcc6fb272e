// Package testkit is the one test-support package of the library: the
// helpers that the tests of several packages share, each existing once.
// Only tests import it (architecture_test.go checks that no other code
// does); it imports no package of the module but the root, so that the
// internal tests of every package may use it.
//
// It holds:
//   - checks of the API conventions (api.go): the exported types of a
//     package listed from its source (with their method sets), so that a
//     table-driven test over them cannot forget a new one; each type's doc
//     saying whether it is safe for concurrent use; every method of a nil
//     pointer, a zero value or an incomplete literal returning an error, or
//     a zero value, without panicking; a runner for tables of calls that
//     must fail with a sentinel naming a constructor; Concurrently, which
//     backs a claim of safety for concurrent use (run with -race);
//   - the claims of safety for concurrent use read from the docs
//     (concurrency.go): SafeTypes, and RunConcurrentCases, which runs a
//     package's table of -race cases after checking that it lists exactly
//     the types whose doc claims safety;
//   - bounds of runaway sizes (bounds.go): extreme label values, an
//     order-preserving relabelling to them, and the bytes a call allocates;
//   - the root sentinel errors and a check that an error wraps one
//     (errors.go);
//   - generators of random data (rand.go): Gaussian and uniform float64
//     (gonum) and float32 (gometric.Matrix) matrices and labelled Gaussian
//     blobs, in a documented draw order so that a seed gives every test the
//     same numbers;
//   - statistics (stats.go): Pearson's chi-square statistic, its quantile
//     and a goodness-of-fit check;
//   - a tolerance comparison (close.go) and an element-wise product;
//   - the CPU time of the process, for benchmarks (cputime_*.go);
//   - RawDataset, a data set of unchecked values for fuzzing (dataset.go),
//     and a writer of CUB-200-2011's directory layout (cub.go).
//
// Finite differences are in internal/fdiff and PML's golden cases in
// internal/pmlcase; they are named by the design and stay apart.
package testkit

import (
	"os"
	"testing"
	"time"
)

// StaleFile writes a small file at path dated an hour back, as a file a
// killed process left behind (the atomic writer removes such temporary
// files of its target, but not ones its own process may be writing).
func StaleFile(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}
