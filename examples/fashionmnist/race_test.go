//go:build race

package main

// raceEnabled reports a -race build, where the program runs about ten
// times slower.
const raceEnabled = true
