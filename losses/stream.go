package losses

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/streamband"
	"github.com/gometric/gometric/reducers"
)

// bandAcc computes a streamed sub-loss's statistics for a reducer's banded
// plan (reducers.StreamPlan) in the loop that produces the values: the number
// of values strictly between lo and hi and their sum in four lanes by
// position (value k of the stream in lane k mod 4), which gives the bits
// of the reducer's own pass, and the first non-finite value.
type bandAcc struct {
	lanes  [4]float64
	n, pos int
	lo, hi float64
	at     int // position of the first non-finite value, or -1
	bad    float64
}

func newBandAcc(lo, hi float64) *bandAcc { return &bandAcc{lo: lo, hi: hi, at: -1} }

// result returns the statistics (see streamPart.stats).
func (b *bandAcc) result() (int, float64, int, float64) {
	return b.n, (b.lanes[0] + b.lanes[1]) + (b.lanes[2] + b.lanes[3]), b.at, b.bad
}

// add adds one value.
func (b *bandAcc) add(v float64) {
	if b.at < 0 && v-v != 0 {
		b.at, b.bad = b.pos, v
	}
	if v > b.lo && v < b.hi {
		b.lanes[b.pos&3] += v
		b.n++
	}
	b.pos++
}

// reluRun adds the values max(c − σ·y[j], 0) for every j, σ being ±1 (so
// that c − σ·y is the value's margin computed exactly as c − y or c + y).
// The values are finite unless c − σ·y overflows, to +Inf.
func (b *bandAcc) reluRun(c, sigma float64, y []float64) {
	k := 0
	for ; k < len(y) && b.pos&3 != 0; k++ {
		b.add(max(c-sigma*y[k], 0))
	}
	body := y[k : k+(len(y)-k)&^3]
	var n, inf uint64
	switch {
	case math.IsInf(b.hi, 1) && b.lo >= 0:
		n = marginAbove4(&b.lanes, c, sigma, body, b.lo)
		// A +Inf value makes its lane +Inf.
		inf = streamband.Bit(!(b.lanes[0]+b.lanes[1]+b.lanes[2]+b.lanes[3] <= math.MaxFloat64))
	case math.IsInf(b.hi, 1):
		n, inf = reluAbove4(&b.lanes, c, sigma, body, b.lo)
	default:
		n, inf = reluBetween4(&b.lanes, c, sigma, body, b.lo, b.hi)
	}
	if inf != 0 && b.at < 0 {
		for j, x := range body {
			if v := max(c-sigma*x, 0); v-v != 0 {
				b.at, b.bad = b.pos+j, v
				break
			}
		}
	}
	b.n += int(n)
	b.pos += len(body)
	for k += len(body); k < len(y); k++ {
		b.add(max(c-sigma*y[k], 0))
	}
}

// marginAbove4 is reluAbove4 for lo ≥ 0: then v > lo exactly when
// t = c − σ·y > lo, and v = t, so the relu is not needed.
func marginAbove4(acc *[4]float64, c, sigma float64, y []float64, lo float64) (n uint64) {
	s0, s1, s2, s3 := acc[0], acc[1], acc[2], acc[3]
	for i := 0; i+4 <= len(y); i += 4 {
		q := y[i : i+4 : i+4]
		t0, t1, t2, t3 := c-sigma*q[0], c-sigma*q[1], c-sigma*q[2], c-sigma*q[3]
		k0, k1, k2, k3 := streamband.Bit(t0 > lo), streamband.Bit(t1 > lo), streamband.Bit(t2 > lo), streamband.Bit(t3 > lo)
		n += k0 + k1 + k2 + k3
		s0 += streamband.Mask(t0, k0)
		s1 += streamband.Mask(t1, k1)
		s2 += streamband.Mask(t2, k2)
		s3 += streamband.Mask(t3, k3)
	}
	acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
	return n
}

// reluAbove4 adds to the lanes the values v = max(c − σ·y, 0) with v > lo
// (len(y) a multiple of 4, starting in lane 0), without a branch per
// value; it returns their number and whether one was +Inf.
func reluAbove4(acc *[4]float64, c, sigma float64, y []float64, lo float64) (n, inf uint64) {
	s0, s1, s2, s3 := acc[0], acc[1], acc[2], acc[3]
	for i := 0; i+4 <= len(y); i += 4 {
		q := y[i : i+4 : i+4]
		v0, v1, v2, v3 := max(c-sigma*q[0], 0), max(c-sigma*q[1], 0), max(c-sigma*q[2], 0), max(c-sigma*q[3], 0)
		k0, k1, k2, k3 := streamband.Bit(v0 > lo), streamband.Bit(v1 > lo), streamband.Bit(v2 > lo), streamband.Bit(v3 > lo)
		n += k0 + k1 + k2 + k3
		inf |= streamband.Bit(v0 > math.MaxFloat64) | streamband.Bit(v1 > math.MaxFloat64) | streamband.Bit(v2 > math.MaxFloat64) | streamband.Bit(v3 > math.MaxFloat64)
		s0 += streamband.Mask(v0, k0)
		s1 += streamband.Mask(v1, k1)
		s2 += streamband.Mask(v2, k2)
		s3 += streamband.Mask(v3, k3)
	}
	acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
	return n, inf
}

// reluBetween4 is reluAbove4 for lo < v < hi.
func reluBetween4(acc *[4]float64, c, sigma float64, y []float64, lo, hi float64) (n, inf uint64) {
	s0, s1, s2, s3 := acc[0], acc[1], acc[2], acc[3]
	for i := 0; i+4 <= len(y); i += 4 {
		q := y[i : i+4 : i+4]
		v0, v1, v2, v3 := max(c-sigma*q[0], 0), max(c-sigma*q[1], 0), max(c-sigma*q[2], 0), max(c-sigma*q[3], 0)
		k0 := streamband.Bit(v0 > lo) & streamband.Bit(v0 < hi)
		k1 := streamband.Bit(v1 > lo) & streamband.Bit(v1 < hi)
		k2 := streamband.Bit(v2 > lo) & streamband.Bit(v2 < hi)
		k3 := streamband.Bit(v3 > lo) & streamband.Bit(v3 < hi)
		n += k0 + k1 + k2 + k3
		inf |= streamband.Bit(v0 > math.MaxFloat64) | streamband.Bit(v1 > math.MaxFloat64) | streamband.Bit(v2 > math.MaxFloat64) | streamband.Bit(v3 > math.MaxFloat64)
		s0 += streamband.Mask(v0, k0)
		s1 += streamband.Mask(v1, k1)
		s2 += streamband.Mask(v2, k2)
		s3 += streamband.Mask(v3, k3)
	}
	acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
	return n, inf
}

// reduceStream reduces one streamed part with red through its plan
// (reducers.PlanStream): a banded plan from the part's own statistics when
// it has them, else by a pass over Each; a general plan by its Reduce. ok
// is false when red cannot stream it.
func reduceStream(red reducers.Reducer, part streamPart, rb reducers.Batch) (float64, streamGrad, bool, error) {
	p, ok, err := reducers.PlanStream(red, part.Stream, rb)
	if err != nil || !ok {
		return 0, streamGrad{}, ok, err
	}
	if p.Finish == nil {
		v, fn, err := p.Reduce(part.Stream, rb)
		return v, streamGrad{fn: fn}, true, err
	}
	if part.stats == nil {
		v, band, err := p.ReduceBand(part.Stream)
		return v, streamGrad{band: band, banded: true}, true, err
	}
	n, sum, at, bad := part.stats(p.Low, p.High)
	if at >= 0 {
		return 0, streamGrad{}, true, check.Errorf(p.Component, gometric.ErrNonFinite, "sub-loss %q value %d is %v", part.Name, at, bad)
	}
	v, band := p.Finish(n, sum)
	return v, streamGrad{band: band, banded: true}, true, nil
}
