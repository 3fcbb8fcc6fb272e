// Package streamband holds the branch-free selection the lane loops of
// packages losses and reducers share (Bit, Mask): they sum the values of
// a stream that lie inside a band — a reducers.StreamPlan's Low and High —
// four at a time, without a branch per value, since whether a loss value
// passes is unpredictable.
//
// Sums of stream values are taken in four interleaved lanes: value k of
// the stream (counting from 0 over the whole stream) is added to lane
// k mod 4, and the sum is (l0 + l1) + (l2 + l3). A loss computing a
// banded plan's statistics itself sums the same way, so that both paths
// give the same bits.
package streamband

import "math"

// Bit is 1 for true and 0 for false (compiled to a SETcc, no branch): the
// lane loops of losses and reducers count values inside a band with it.
func Bit(b bool) uint64 {
	var k uint64
	if b {
		k = 1
	}
	return k
}

// Mask returns v when k is 1 and +0 when k is 0, without a branch.
func Mask(v float64, k uint64) float64 {
	return math.Float64frombits(math.Float64bits(v) & -k)
}
