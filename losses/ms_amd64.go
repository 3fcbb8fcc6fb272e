//go:build amd64 && !purego

package losses

import "golang.org/x/sys/cpu"

var haveMSVec = cpu.X86.HasAVX2

//go:noescape
func msNegAVX2(s []float64, ref []int, li int, shift, bn float64, out []float64, pos []int) (mx float64, nNeg, nPos int)

// msNegVec runs msNegAVX2 where the CPU allows and returns how many
// leading entries it did (a multiple of 4), their maximum, their number
// of negatives and the indices of the others (appended to pos, which must
// have room for len(s) more); the caller does the rest one by one.
func msNegVec(s []float64, ref []int, li int, shift, bn float64, out []float64, pos []int) (done int, mx float64, nNeg int, same []int) {
	if !haveMSVec || len(s) < 4 {
		return 0, negInf, 0, pos
	}
	buf := pos[len(pos) : len(pos)+len(s)]
	mx, nNeg, nPos := msNegAVX2(s, ref[:len(s)], li, shift, bn, out[:len(s)], buf)
	return len(s) &^ 3, mx, nNeg, pos[:len(pos)+nPos]
}
