package distances

// SetParallelWork sets the pass size from which work is split between
// goroutines, so that small tests take the parallel paths; it returns a
// function that restores it.
func SetParallelWork(n int) (restore func()) {
	old := parallelWork
	parallelWork = n
	return func() { parallelWork = old }
}
