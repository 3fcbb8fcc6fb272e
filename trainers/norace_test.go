//go:build !race

package trainers_test

// raceEnabled reports a -race build.
const raceEnabled = false
