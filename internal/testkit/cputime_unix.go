//go:build unix

package testkit

import (
	"syscall"
	"time"
)

// CPUTime returns the user + system CPU time of the process so far, over
// all its threads, and whether the platform reports it. Benchmarks report
// it beside wall time: on a shared machine it shows the work done even
// when other processes slow the clock.
func CPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
