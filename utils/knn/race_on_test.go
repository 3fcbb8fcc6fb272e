//go:build race

package knn

// raceEnabled reports a -race build (sync.Pool drops items at random then).
const raceEnabled = true
