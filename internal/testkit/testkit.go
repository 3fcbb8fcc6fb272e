// Package testkit is the one test-support package of the library: the
// helpers that the tests of several packages share, each existing once.
// Only tests import it (architecture_test.go checks that no other code
// does); it imports no package of the module but the root, so that the
// internal tests of every package may use it.
//
// It holds:
//   - checks of the API conventions (api.go): the exported types of a
//     package listed from its source, so that a table-driven test over them
//     cannot forget a new one; each type's doc saying whether it is safe
//     for concurrent use; every method of a nil pointer or of a zero value
//     returning an error, or a zero value, without panicking; a runner for
//     tables of calls that must fail with a sentinel naming a constructor;
//   - the root sentinel errors and a check that an error wraps one;
//   - generators of random data (rand.go): Gaussian and uniform float64
//     (gonum) and float32 (gometric.Matrix) matrices, labelled Gaussian
//     blobs, in a documented draw order so that a seed gives the same
//     numbers to every test;
//   - statistics (stats.go): Pearson's chi-square statistic and quantile;
//   - a tolerance comparison (Close) and small matrix helpers;
//   - the CPU time of the process, for benchmarks;
//   - a writer of CUB-200-2011's directory layout for data-set tests.
//
// Finite differences are in internal/fdiff and PML's golden cases in
// internal/pmlcase; they are named by the design and stay apart.
package testkit
