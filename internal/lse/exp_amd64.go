//go:build !purego

package lse

import "golang.org/x/sys/cpu"

// haveVec reports whether expsAVX2 can run (-tags purego leaves it out),
// have512 whether expsAVX512 can.
var (
	haveVec = cpu.X86.HasAVX2
	have512 = cpu.X86.HasAVX512F
)

// expsAVX2 is in exp_amd64.s.
//
//go:noescape
func expsAVX2(x []float64) int

// expsAVX512 is in exp_amd64.s.
//
//go:noescape
func expsAVX512(x []float64) int

func expsVec(x []float64) int {
	if !haveVec {
		return 0
	}
	n := 0
	if have512 {
		// Eight at a time, then the AVX2 loop for a last group of four
		// or the four before a group it cannot take.
		n = expsAVX512(x)
	}
	return n + expsAVX2(x[n:])
}
