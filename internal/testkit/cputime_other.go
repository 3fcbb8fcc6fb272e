//go:build !unix

package testkit

import "time"

// CPUTime returns the user + system CPU time of the process so far, and
// whether the platform reports it; here it does not.
func CPUTime() (time.Duration, bool) { return 0, false }
