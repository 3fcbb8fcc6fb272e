//go:build race

package datasets

// raceEnabled reports a -race build, where reading the full Fashion-MNIST
// files takes tens of seconds.
const raceEnabled = true
