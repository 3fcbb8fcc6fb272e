package testkit

import (
	"math"
	"runtime"
)

// ExtremeLabels returns label values that must neither size an allocation
// nor index a slice: math.MinInt, −10^18, −1, 0, 10^18 and math.MaxInt, in
// ascending order (so Relabel with them keeps the order of the labels).
func ExtremeLabels() []int {
	return []int{math.MinInt, -1e18, -1, 0, 1e18, math.MaxInt}
}

// Relabel returns labels with every label k replaced by values[k]: with
// ascending values, an order-preserving renaming of small labels (0, 1,
// ...) to extreme ones, which every component must treat exactly as the
// small ones. It panics when a label is negative or not below
// len(values) (a bug in the test).
func Relabel(labels, values []int) []int {
	out := make([]int, len(labels))
	for i, l := range labels {
		out[i] = values[l]
	}
	return out
}

// Allocated returns the bytes that f allocates on the heap (the growth of
// runtime.MemStats.TotalAlloc, which counts every allocation, freed or
// not: an upper bound of f's peak heap). Call it from a test that does not
// run in parallel with others.
func Allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
