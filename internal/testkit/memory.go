package testkit

import "runtime"

// Allocated returns the bytes f allocates, measured with
// runtime.ReadMemStats after a garbage collection: an upper bound of the
// heap's peak growth during f (for memory-bound tests).
func Allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}
