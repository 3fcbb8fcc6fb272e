//go:build !amd64 || purego

package losses

// msNegVec: no vector loop in this build.
func msNegVec(s []float64, ref []int, li int, shift, bn float64, out []float64, pos []int) (done int, mx float64, nNeg int, same []int) {
	return 0, negInf, 0, pos
}
