//go:build race

package gemm

// raceEnabled shrinks the largest test problems under the race detector,
// which instruments every access of the driver's packing loops.
const raceEnabled = true
