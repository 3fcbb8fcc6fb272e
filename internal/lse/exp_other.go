//go:build !amd64 || purego

package lse

// expsVec replaces a leading run of x by its exponentials with vector
// instructions where there are some, and returns its length: none here.
func expsVec(x []float64) int { return 0 }
