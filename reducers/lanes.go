package reducers

import (
	"math"

	"github.com/gometric/gometric/internal/streamband"
)

// Sums of many values are taken in four interleaved lanes — value k of a
// sequence goes to lane k mod 4 and the total is (l0 + l1) + (l2 + l3) —
// which breaks the serial dependency of one running sum (four times
// faster) and, with the lane fixed by the value's position, gives the
// same bits whether the values come at once (ReduceOne) or in runs
// (ReduceStream).

// bandSum adds the values of vals strictly between low and high (±Inf: no
// bound) to the lanes acc, vals[k] being value start+k of its sequence,
// and returns how many it added. The values must be finite.
func bandSum(acc *[4]float64, start int, vals []float64, low, high float64) int {
	n, k := 0, 0
	for ; k < len(vals) && (start+k)&3 != 0; k++ {
		if v := vals[k]; v > low && v < high {
			acc[(start+k)&3] += v
			n++
		}
	}
	body := vals[k : k+(len(vals)-k)&^3]
	switch lowInf, highInf := math.IsInf(low, -1), math.IsInf(high, 1); {
	case lowInf && highInf:
		sum4(acc, body)
		n += len(body)
	case highInf:
		n += above4(acc, body, low)
	case lowInf:
		n += below4(acc, body, high)
	default:
		n += between4(acc, body, low, high)
	}
	for k += len(body); k < len(vals); k++ {
		if v := vals[k]; v > low && v < high {
			acc[(start+k)&3] += v
			n++
		}
	}
	return n
}

// laneTotal is the total of the lanes.
func laneTotal(acc *[4]float64) float64 { return (acc[0] + acc[1]) + (acc[2] + acc[3]) }

// laneSum returns the lane sum of vals (all finite).
func laneSum(vals []float64) float64 {
	var acc [4]float64
	bandSum(&acc, 0, vals, math.Inf(-1), math.Inf(1))
	return laneTotal(&acc)
}

// The kernels below take len(q) a multiple of 4, starting in lane 0. They
// select without branches (a value outside the band adds +0, which leaves
// a lane unchanged), since whether a loss value passes is unpredictable.

func sum4(acc *[4]float64, q []float64) {
	s0, s1, s2, s3 := acc[0], acc[1], acc[2], acc[3]
	for i := 0; i+4 <= len(q); i += 4 {
		x := q[i : i+4 : i+4]
		s0 += x[0]
		s1 += x[1]
		s2 += x[2]
		s3 += x[3]
	}
	acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
}

func above4(acc *[4]float64, q []float64, low float64) int {
	s0, s1, s2, s3 := acc[0], acc[1], acc[2], acc[3]
	var n uint64
	for i := 0; i+4 <= len(q); i += 4 {
		x := q[i : i+4 : i+4]
		k0, k1, k2, k3 := streamband.Bit(x[0] > low), streamband.Bit(x[1] > low), streamband.Bit(x[2] > low), streamband.Bit(x[3] > low)
		n += k0 + k1 + k2 + k3
		s0 += streamband.Mask(x[0], k0)
		s1 += streamband.Mask(x[1], k1)
		s2 += streamband.Mask(x[2], k2)
		s3 += streamband.Mask(x[3], k3)
	}
	acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
	return int(n)
}

func below4(acc *[4]float64, q []float64, high float64) int {
	s0, s1, s2, s3 := acc[0], acc[1], acc[2], acc[3]
	var n uint64
	for i := 0; i+4 <= len(q); i += 4 {
		x := q[i : i+4 : i+4]
		k0, k1, k2, k3 := streamband.Bit(x[0] < high), streamband.Bit(x[1] < high), streamband.Bit(x[2] < high), streamband.Bit(x[3] < high)
		n += k0 + k1 + k2 + k3
		s0 += streamband.Mask(x[0], k0)
		s1 += streamband.Mask(x[1], k1)
		s2 += streamband.Mask(x[2], k2)
		s3 += streamband.Mask(x[3], k3)
	}
	acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
	return int(n)
}

func between4(acc *[4]float64, q []float64, low, high float64) int {
	s0, s1, s2, s3 := acc[0], acc[1], acc[2], acc[3]
	var n uint64
	for i := 0; i+4 <= len(q); i += 4 {
		x := q[i : i+4 : i+4]
		k0 := streamband.Bit(x[0] > low) & streamband.Bit(x[0] < high)
		k1 := streamband.Bit(x[1] > low) & streamband.Bit(x[1] < high)
		k2 := streamband.Bit(x[2] > low) & streamband.Bit(x[2] < high)
		k3 := streamband.Bit(x[3] > low) & streamband.Bit(x[3] < high)
		n += k0 + k1 + k2 + k3
		s0 += streamband.Mask(x[0], k0)
		s1 += streamband.Mask(x[1], k1)
		s2 += streamband.Mask(x[2], k2)
		s3 += streamband.Mask(x[3], k3)
	}
	acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
	return int(n)
}
