package losses

import (
	"math"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/streamband"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/utils/tuples"
)

// allTriplets is TripletMargin over every triplet of the batch, streamed
// anchor by anchor: memory stays O(N·M) however many triplets there are,
// as long as the reducer can stream (reducers.Streamer); otherwise the
// triplets are materialised.
//
// For the plain loss (neither swap nor smoothing) reduced by one of
// package reducers' own reducers (internal/streamband), the statistics
// and the gradient are computed without a call per triplet, four
// positives of an anchor at a time against each of its negatives.
func (l *TripletMargin) allTriplets(in *input) (*term, error) {
	count, err := tuples.CountAllTriplets(in.labels, in.refLabels, in.refIsQuery)
	if err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, nil
	}
	if err := l.checkSwap(in, nil); err != nil {
		return nil, err
	}
	// each streams the anchors with at least one positive and one
	// negative, with both ascending: PML's all triplets are (a, p, n) for
	// p in pos, n in neg.
	each := func(fn func(a int, pos, neg []int) error) error {
		return tuples.EachAnchor(in.labels, in.refLabels, in.refIsQuery, func(a int, pos, neg []int) error {
			if len(pos) == 0 || len(neg) == 0 {
				return nil
			}
			return fn(a, pos, neg)
		})
	}
	return l.streamTriplets(in, count, each, func() (*tuples.Triplets, error) {
		return tuples.AllTriplets(in.labels, in.refLabels, in.refIsQuery)
	})
}

// pairTriplets is TripletMargin over mined pairs, which PML joins into
// triplets by anchor (convert_to_triplets: every positive pair (a, p), in
// order, with every negative pair (a, n) of its anchor, in order). The
// triplets are streamed as allTriplets streams all of them, one run of
// consecutive positive pairs of the same anchor at a time (the joined
// order), without being listed.
func (l *TripletMargin) pairTriplets(in *input, t *tuples.Pairs) (*term, error) {
	// The negatives of each anchor, in order: a counting sort of A2
	// (anchors are query indices, validated by prepare).
	start := make([]int, in.n+1)
	for _, a := range t.A2 {
		start[a+1]++
	}
	for a := range in.n {
		start[a+1] += start[a]
	}
	negs, fill := make([]int, len(t.A2)), make([]int, in.n)
	for j, a := range t.A2 {
		negs[start[a]+fill[a]] = t.N[j]
		fill[a]++
	}
	negOf := func(a int) []int { return negs[start[a]:start[a+1]] }
	count := 0
	for _, a := range t.A1 {
		count += start[a+1] - start[a]
	}
	if count == 0 {
		return nil, nil
	}
	if l.Swap && !in.refIsQuery {
		if err := check.Indices("losses.TripletMargin", "positives (Swap indexes query rows with them)", t.P, in.n); err != nil {
			return nil, err
		}
	}
	each := func(fn func(a int, pos, neg []int) error) error {
		for i := 0; i < len(t.A1); {
			a, j := t.A1[i], i+1
			for j < len(t.A1) && t.A1[j] == a {
				j++
			}
			if neg := negOf(a); len(neg) > 0 {
				if err := fn(a, t.P[i:j], neg); err != nil {
					return err
				}
			}
			i = j
		}
		return nil
	}
	return l.streamTriplets(in, count, each, func() (*tuples.Triplets, error) {
		return in.triplets(l.TripletsPerAnchor, nil)
	})
}

// streamTriplets is TripletMargin over the triplets (a, p, n) that each
// lists, count in all: for each group it yields, p in pos, n in neg, in
// that order. materialise lists the same triplets, for a reducer that
// cannot stream.
func (l *TripletMargin) streamTriplets(in *input, count int, each func(fn func(a int, pos, neg []int) error) error, materialise func() (*tuples.Triplets, error)) (*term, error) {
	m, err := in.matrix()
	if err != nil {
		return nil, err
	}
	ev := l.evaluator(in, m)
	// gather sets negv[j] = s·an_j for the anchor's negatives: the plain
	// value is relu(s·ap + margin − s·an) with s = ±1.
	gather := func(negv []float64, a int, neg []int) []float64 {
		row, negv := ev.data[a*ev.stride:], negv[:len(neg)]
		for j, n := range neg {
			negv[j] = ev.sign * row[n]
		}
		return negv
	}
	// bases returns s·ap + margin for the positives pos[q:q+4], padded with
	// -Inf (which puts a triplet in no band above 0), and how many are real.
	bases := func(a int, pos []int, q int) ([4]float64, int) {
		row := ev.data[a*ev.stride:]
		b := [4]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)}
		k := min(4, len(pos)-q)
		for i := range k {
			b[i] = ev.sign*row[pos[q+i]] + ev.margin
		}
		return b, k
	}
	each1 := func(yield func(values []float64, anchor int) error) error {
		vals, negv := make([]float64, in.m), make([]float64, in.m)
		return each(func(a int, pos, neg []int) error {
			vals := vals[:len(neg)]
			if !ev.plain() {
				for _, p := range pos {
					for j, n := range neg {
						vals[j], _, _, _ = ev.eval(a, p, n)
					}
					if err := yield(vals, a); err != nil {
						return err
					}
				}
				return nil
			}
			negv := gather(negv, a, neg)
			row := ev.data[a*ev.stride:]
			for _, p := range pos {
				base := ev.sign*row[p] + ev.margin
				for j, x := range negv {
					vals[j] = max(base-x, 0)
				}
				if err := yield(vals, a); err != nil {
					return err
				}
			}
			return nil
		})
	}
	part := streamPart{Stream: reducers.Stream{Name: "loss", Kind: reducers.Triplet, Len: count, Each: each1}}
	if ev.plain() {
		part.stats = func(lo, hi float64) (int, float64, int, float64) {
			var acc [4]float64
			var n, inf uint64
			negv := make([]float64, in.m)
			_ = each(func(a int, pos, neg []int) error {
				negv := gather(negv, a, neg)
				for q := 0; q < len(pos); q += 4 {
					b, k := bases(a, pos, q)
					dn, dinf := tripletStats(&acc, b, k, negv, lo, hi)
					n, inf = n+dn, inf|dinf
				}
				return nil
			})
			sum := (acc[0] + acc[1]) + (acc[2] + acc[3])
			if inf == 0 && sum-sum == 0 {
				return int(n), sum, -1, 0
			}
			// A value or the sum overflowed: find the first non-finite
			// value as the reducer's pass would.
			b := newBandAcc(lo, hi)
			_ = each(func(a int, pos, neg []int) error {
				negv := gather(negv, a, neg)
				for _, p := range pos {
					b.reluRun(ev.sign*ev.data[a*ev.stride+p]+ev.margin, 1, negv)
				}
				return nil
			})
			if b.at >= 0 {
				return 0, 0, b.at, b.bad
			}
			return int(n), sum, -1, 0
		}
	}
	st := &streamTerm{
		parts: []streamPart{part},
		backward: func(grads []streamGrad, g *grads) error {
			sg := &grads[0]
			gm := in.scratchMatrix(in.n, in.m)
			gr := gm.RawMatrix()
			negv, gneg := make([]float64, in.m), make([]float64, in.m)
			counts := make([]uint64, in.m)
			err := each(func(a int, pos, neg []int) error {
				grow := gr.Data[a*gr.Stride : a*gr.Stride+in.m]
				if l.Swap {
					for _, p := range pos {
						for _, n := range neg {
							v, dap, dan, dpn := ev.eval(a, p, n)
							ev.accumulate(gr, sg.at(v, a), a, p, n, dap, dan, dpn)
						}
					}
					return nil
				}
				// Without swap, d/d(a,n) = -d/d(a,p): the anchor-positive
				// part is summed once per positive, the anchor-negative
				// parts once per negative over all positives.
				if ev.plain() && sg.banded {
					// A constant weight on a band: count, per positive and
					// per negative, the triplets with relu' = 1 (a value
					// above 0) in the band.
					negv := gather(negv, a, neg)
					bd := sg.band
					w, lo := bd.Weight*ev.sign, max(bd.Low, 0)
					counts := counts[:len(neg)]
					clear(counts)
					for q := 0; q < len(pos); q += 4 {
						b, k := bases(a, pos, q)
						c := tripletCounts(b, negv, lo, bd.High, counts)
						for i := range k {
							grow[pos[q+i]] += float64(c[i]) * w
						}
					}
					for j, n := range neg {
						grow[n] -= float64(counts[j]) * w
					}
					return nil
				}
				gneg := gneg[:len(neg)]
				clear(gneg)
				for _, p := range pos {
					var sum float64
					for j, n := range neg {
						v, dap, _, _ := ev.eval(a, p, n)
						if w := sg.at(v, a) * dap; w != 0 {
							sum += w
							gneg[j] -= w
						}
					}
					grow[p] += sum
				}
				for j, n := range neg {
					grow[n] += gneg[j]
				}
				return nil
			})
			if err != nil {
				return err
			}
			return in.matrixBackward(m, gm, g)
		},
		materialise: func() (*term, error) {
			t, err := materialise()
			if err != nil {
				return nil, err
			}
			return l.materialised(in, m, t), nil
		},
	}
	return &term{stream: st}, nil
}

// tripletStats adds to the lanes acc (one per positive) the values
// v = max(b_i − x, 0) of the first k bases b against every x of negv that
// lie strictly between lo and hi, and returns their number and whether
// one of them was +Inf (an overflow). Bases beyond k are -Inf.
func tripletStats(acc *[4]float64, b [4]float64, k int, negv []float64, lo, hi float64) (n, inf uint64) {
	s0, s1, s2, s3 := acc[0], acc[1], acc[2], acc[3]
	b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
	if lo >= 0 && math.IsInf(hi, 1) {
		// v > lo ≥ 0 exactly when b − x > lo, and then v = b − x; a +Inf
		// value makes its lane +Inf, which the caller sees in the sum.
		for _, x := range negv {
			t0, t1, t2, t3 := b0-x, b1-x, b2-x, b3-x
			k0, k1, k2, k3 := streamband.Bit(t0 > lo), streamband.Bit(t1 > lo), streamband.Bit(t2 > lo), streamband.Bit(t3 > lo)
			n += k0 + k1 + k2 + k3
			s0 += streamband.Mask(t0, k0)
			s1 += streamband.Mask(t1, k1)
			s2 += streamband.Mask(t2, k2)
			s3 += streamband.Mask(t3, k3)
		}
		acc[0], acc[1], acc[2], acc[3] = s0, s1, s2, s3
		return n, 0
	}
	var valid [4]uint64
	for i := range k {
		valid[i] = 1
	}
	for _, x := range negv {
		v0, v1, v2, v3 := max(b0-x, 0), max(b1-x, 0), max(b2-x, 0), max(b3-x, 0)
		k0 := streamband.Bit(v0 > lo) & streamband.Bit(v0 < hi) & valid[0]
		k1 := streamband.Bit(v1 > lo) & streamband.Bit(v1 < hi) & valid[1]
		k2 := streamband.Bit(v2 > lo) & streamband.Bit(v2 < hi) & valid[2]
		k3 := streamband.Bit(v3 > lo) & streamband.Bit(v3 < hi) & valid[3]
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

// tripletCounts counts, for the four bases b against every x of negv, the
// triplets whose b_i − x lies strictly between lo ≥ 0 and hi: per base
// (returned) and per negative (added to counts). A -Inf base counts
// nothing. There is no branch per triplet: whether one is active is
// unpredictable.
func tripletCounts(b [4]float64, negv []float64, lo, hi float64, counts []uint64) (c [4]uint64) {
	counts = counts[:len(negv)]
	b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
	var c0, c1, c2, c3 uint64
	if math.IsInf(hi, 1) {
		for j, x := range negv {
			k0, k1, k2, k3 := streamband.Bit(b0-x > lo), streamband.Bit(b1-x > lo), streamband.Bit(b2-x > lo), streamband.Bit(b3-x > lo)
			c0, c1, c2, c3 = c0+k0, c1+k1, c2+k2, c3+k3
			counts[j] += k0 + k1 + k2 + k3
		}
		return [4]uint64{c0, c1, c2, c3}
	}
	for j, x := range negv {
		t0, t1, t2, t3 := b0-x, b1-x, b2-x, b3-x
		k0 := streamband.Bit(t0 > lo) & streamband.Bit(t0 < hi)
		k1 := streamband.Bit(t1 > lo) & streamband.Bit(t1 < hi)
		k2 := streamband.Bit(t2 > lo) & streamband.Bit(t2 < hi)
		k3 := streamband.Bit(t3 > lo) & streamband.Bit(t3 < hi)
		c0, c1, c2, c3 = c0+k0, c1+k1, c2+k2, c3+k3
		counts[j] += k0 + k1 + k2 + k3
	}
	return [4]uint64{c0, c1, c2, c3}
}
