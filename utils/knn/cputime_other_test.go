//go:build !unix

package knn

// cpuSeconds is unavailable here.
func cpuSeconds() float64 { return -1 }
