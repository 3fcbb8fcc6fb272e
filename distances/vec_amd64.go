//go:build amd64 && !purego

package distances

import "golang.org/x/sys/cpu"

// haveVec reports whether the AVX2 loops of vec_amd64.s can run.
var haveVec = cpu.X86.HasAVX2 && cpu.X86.HasPOPCNT

//go:noescape
func guardRowAVX2(row, nb []float64, na float64, root bool) (near int, bad bool)

//go:noescape
func diffAdd2AVX2(gi, gj, qi, rj []float64, w float64)

//go:noescape
func diffAddAVX2(g, qi, rj []float64, w float64)

//go:noescape
func diffSubAVX2(g, qi, rj []float64, w float64)

// guardRowVec is guardRow on the first len(row) &^ 3 entries, in vectors
// where the CPU allows (the same bits); it returns how many it did.
func guardRowVec(row, nb []float64, na float64, root bool) (done, near int, finite bool) {
	if !haveVec || len(row) < 4 {
		return 0, 0, true
	}
	near, bad := guardRowAVX2(row, nb[:len(row)], na, root)
	return len(row) &^ 3, near, !bad
}

// diffAdd2Vec does, on the first len(qi) &^ 3 entries, what the scalar
// loop "t := w·(qi[k] − rj[k]); gi[k] += t; gj[k] −= t" does, in vectors
// where the CPU allows (the same bits); it returns how many it did.
func diffAdd2Vec(gi, gj, qi, rj []float64, w float64) int {
	if !haveVec || len(qi) < 4 {
		return 0
	}
	diffAdd2AVX2(gi[:len(qi)], gj[:len(qi)], qi, rj[:len(qi)], w)
	return len(qi) &^ 3
}

// diffAddVec is diffAdd2Vec for g += w·(qi − rj) alone.
func diffAddVec(g, qi, rj []float64, w float64) int {
	if !haveVec || len(qi) < 4 {
		return 0
	}
	diffAddAVX2(g[:len(qi)], qi, rj[:len(qi)], w)
	return len(qi) &^ 3
}

// diffSubVec is diffAdd2Vec for g −= w·(qi − rj) alone.
func diffSubVec(g, qi, rj []float64, w float64) int {
	if !haveVec || len(qi) < 4 {
		return 0
	}
	diffSubAVX2(g[:len(qi)], qi, rj[:len(qi)], w)
	return len(qi) &^ 3
}
