//go:build race

package models

// raceEnabled: the race detector changes allocation counts.
const raceEnabled = true
