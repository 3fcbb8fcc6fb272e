//go:build !unix

package accuracy_test

import "time"

// cpuTime is unavailable on this platform.
func cpuTime() (time.Duration, bool) { return 0, false }
