//go:build !purego

package lse

import "golang.org/x/sys/cpu"

// haveVec reports whether expsAVX2 can run (-tags purego leaves it out).
var haveVec = cpu.X86.HasAVX2

// expsAVX2 is in exp_amd64.s.
//
//go:noescape
func expsAVX2(x []float64) int

func expsVec(x []float64) int {
	if !haveVec {
		return 0
	}
	return expsAVX2(x)
}
