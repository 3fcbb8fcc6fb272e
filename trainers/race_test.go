//go:build race

package trainers_test

// raceEnabled reports a -race build, where training the CNN is about ten
// times slower.
const raceEnabled = true
