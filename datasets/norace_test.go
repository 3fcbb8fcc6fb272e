//go:build !race

package datasets

// raceEnabled reports a -race build.
const raceEnabled = false
