//go:build goexperiment.simd && amd64

package knn

import "simd/archsimd"

func init() {
	if archsimd.X86.AVX2() {
		scanL2Fn, scanKeysFn = scanL2AVX2, scanKeysAVX2
		bufL2Fn, bufKeysFn = bufL2AVX2, bufKeysAVX2
	}
}

// scanL2AVX2 is scanL2 with the rejection test on 16 references at a time:
// the distances (‖q‖² + ‖r‖²) + (−2q·r) are computed in 8-wide vectors, with
// the rounding of the scalar code, and only a block with a distance below the
// heap's worst key goes through scanL2, which recomputes them one by one.
func scanL2AVX2(row, rnorm []float32, qn float32, r0 int, keys []float32, idx []int) {
	n := len(row)
	rnorm = rnorm[:n]
	vq := archsimd.BroadcastFloat32x8(qn)
	vw := archsimd.BroadcastFloat32x8(keys[0])
	j := 0
	for ; j+16 <= n; j += 16 {
		d0 := vq.Add(archsimd.LoadFloat32x8Slice(rnorm[j : j+8])).Add(archsimd.LoadFloat32x8Slice(row[j : j+8]))
		d1 := vq.Add(archsimd.LoadFloat32x8Slice(rnorm[j+8 : j+16])).Add(archsimd.LoadFloat32x8Slice(row[j+8 : j+16]))
		if d0.Less(vw).Or(d1.Less(vw)).ToBits() == 0 {
			continue
		}
		scanL2(row[j:j+16], rnorm[j:j+16], qn, r0+j, keys, idx)
		vw = archsimd.BroadcastFloat32x8(keys[0])
	}
	archsimd.ClearAVXUpperBits()
	if j < n {
		scanL2(row[j:], rnorm[j:], qn, r0+j, keys, idx)
	}
}

// scanKeysAVX2 is scanKeys with the rejection test on 16 keys at a time.
func scanKeysAVX2(row []float32, r0 int, keys []float32, idx []int) {
	n := len(row)
	vw := archsimd.BroadcastFloat32x8(keys[0])
	j := 0
	for ; j+16 <= n; j += 16 {
		d0 := archsimd.LoadFloat32x8Slice(row[j : j+8])
		d1 := archsimd.LoadFloat32x8Slice(row[j+8 : j+16])
		if d0.Less(vw).Or(d1.Less(vw)).ToBits() == 0 {
			continue
		}
		scanKeys(row[j:j+16], r0+j, keys, idx)
		vw = archsimd.BroadcastFloat32x8(keys[0])
	}
	archsimd.ClearAVXUpperBits()
	if j < n {
		scanKeys(row[j:], r0+j, keys, idx)
	}
}

// bufL2AVX2 is bufL2 with, in a sparse scan, the rejection test on 16
// references at a time, as scanL2AVX2: only a block with a distance below
// the bound goes through bufL2, which recomputes them one by one and
// decides (a negative distance passes the vector test whenever bufL2 can
// admit it). A dense scan is bufL2's.
func bufL2AVX2(row, rnorm []float32, qn float32, r0 int, buf []uint64, cnt int, bound float32, k int, dense bool) (int, float32, int) {
	if dense {
		return bufL2(row, rnorm, qn, r0, buf, cnt, bound, k, true)
	}
	n := len(row)
	rnorm = rnorm[:n]
	vq := archsimd.BroadcastFloat32x8(qn)
	vb := archsimd.BroadcastFloat32x8(bound)
	admitted := 0
	j := 0
	for ; j+16 <= n; j += 16 {
		d0 := vq.Add(archsimd.LoadFloat32x8Slice(rnorm[j : j+8])).Add(archsimd.LoadFloat32x8Slice(row[j : j+8]))
		d1 := vq.Add(archsimd.LoadFloat32x8Slice(rnorm[j+8 : j+16])).Add(archsimd.LoadFloat32x8Slice(row[j+8 : j+16]))
		if d0.Less(vb).Or(d1.Less(vb)).ToBits() == 0 {
			continue
		}
		var a int
		cnt, bound, a = bufL2(row[j:j+16], rnorm[j:j+16], qn, r0+j, buf, cnt, bound, k, false)
		admitted += a
		vb = archsimd.BroadcastFloat32x8(bound)
	}
	archsimd.ClearAVXUpperBits()
	if j < n {
		var a int
		cnt, bound, a = bufL2(row[j:], rnorm[j:], qn, r0+j, buf, cnt, bound, k, false)
		admitted += a
	}
	return cnt, bound, admitted
}

// bufKeysAVX2 is bufKeys with, in a sparse scan, the rejection test on 16
// keys at a time.
func bufKeysAVX2(row []float32, r0 int, buf []uint64, cnt int, bound float32, k int, dense bool) (int, float32, int) {
	if dense {
		return bufKeys(row, r0, buf, cnt, bound, k, true)
	}
	n := len(row)
	vb := archsimd.BroadcastFloat32x8(bound)
	admitted := 0
	j := 0
	for ; j+16 <= n; j += 16 {
		d0 := archsimd.LoadFloat32x8Slice(row[j : j+8])
		d1 := archsimd.LoadFloat32x8Slice(row[j+8 : j+16])
		if d0.Less(vb).Or(d1.Less(vb)).ToBits() == 0 {
			continue
		}
		var a int
		cnt, bound, a = bufKeys(row[j:j+16], r0+j, buf, cnt, bound, k, false)
		admitted += a
		vb = archsimd.BroadcastFloat32x8(bound)
	}
	archsimd.ClearAVXUpperBits()
	if j < n {
		var a int
		cnt, bound, a = bufKeys(row[j:], r0+j, buf, cnt, bound, k, false)
		admitted += a
	}
	return cnt, bound, admitted
}
