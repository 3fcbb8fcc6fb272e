package miners

import (
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/tuples"
)

// TripletMargin mirrors PML's TripletMarginMiner: it returns the triplets
// (a, p, n) of the batch whose margin — d(a, n) − d(a, p) for a distance,
// s(a, p) − s(a, n) for a similarity — satisfies TypeOfTriplets:
//
//   - All: margin <= Margin (the triplets that violate the margin);
//   - Hard: margin <= Margin and margin <= 0;
//   - SemiHard: margin <= Margin and margin > 0;
//   - Easy: margin > Margin.
//
// PML builds the N×M×M triplet tensor; this streams the triplets anchor by
// anchor (tuples.EachAnchor) and keeps only the selected ones, in PML's
// order (by anchor, then positive, then negative index). PML treats an
// unknown type_of_triplets as "all"; here it is an error.
//
// A Margin of 0 is a legal setting, so the zero value cannot mean PML's
// default of 0.2: make a TripletMargin with NewTripletMargin and set its
// fields; Mine refuses a zero value or a literal with an error wrapping
// gometric.ErrSetting. Mine is safe for concurrent use as long as the
// fields are not changed meanwhile and Distance is safe for concurrent
// use.
type TripletMargin struct {
	// Distance is nil for PML's default, LpDistance (normalised, p = 2).
	Distance distances.Distance
	// Margin is PML's margin (default 0.2).
	Margin float64
	// TypeOfTriplets is PML's type_of_triplets (default All).
	TypeOfTriplets Strategy

	made bool
}

// NewTripletMargin returns a TripletMargin miner with PML's defaults
// (TripletMarginMiner(): margin 0.2, type_of_triplets "all").
func NewTripletMargin() *TripletMargin {
	return &TripletMargin{Margin: 0.2, TypeOfTriplets: All, made: true}
}

// Mine returns the selected triplets (a *tuples.Triplets).
func (t *TripletMargin) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.TripletMargin"
	if t == nil {
		return nil, nilReceiver(name)
	}
	if !t.made {
		return nil, notMade(name, "NewTripletMargin", `margin 0.2, type_of_triplets "all"`)
	}
	if err := finiteSetting(name, "Margin", t.Margin); err != nil {
		return nil, err
	}
	if !t.TypeOfTriplets.valid() {
		return nil, check.Settingf(name, "TypeOfTriplets = %q, want one of %q, %q, %q, %q", t.TypeOfTriplets, All, Hard, SemiHard, Easy)
	}
	b, err := prepare(name, in, false)
	if err != nil {
		return nil, err
	}
	dist := distanceOr(t.Distance, defaultLp)
	m, err := b.matrix(name, dist)
	if err != nil {
		return nil, err
	}
	// tm = (an − ap)·sign is exactly PML's an − ap, or ap − an for a
	// similarity (IEEE subtraction is antisymmetric).
	sign := 1.0
	if dist.Settings().Inverted {
		sign = -1
	}
	sel := selector{margin: t.Margin, sign: sign, kind: t.TypeOfTriplets}
	// Two passes over the stream: count, then fill slices of the exact
	// size (no regrowth of what can be millions of triplets).
	var negVals []float64
	var scratch []int
	total := 0
	visit := func(fill *tuples.Triplets) func(a int, pos, neg []int) error {
		return func(a int, pos, neg []int) error {
			if len(pos) == 0 || len(neg) == 0 {
				return nil
			}
			r := row(m, a)
			negVals = negVals[:0]
			for _, n := range neg {
				negVals = append(negVals, r[n])
			}
			for _, p := range pos {
				if fill == nil {
					scratch = slices.Grow(scratch[:0], len(neg))[:len(neg)]
					total += sel.filter(scratch, neg, negVals, r[p])
					continue
				}
				start := len(fill.N)
				k := sel.filter(fill.N[start:start+len(neg)], neg, negVals, r[p])
				fill.N = fill.N[:start+k]
				fill.A = fill.A[:start+k]
				fill.P = fill.P[:start+k]
				for i := start; i < start+k; i++ {
					fill.A[i], fill.P[i] = a, p
				}
			}
			return nil
		}
	}
	if err := tuples.EachAnchor(b.labels, b.refArg(), b.self, visit(nil)); err != nil {
		return nil, wrap(name, err)
	}
	if total > maxOutput {
		return nil, check.Errorf(name, gometric.ErrShape, "%d triplets selected, more than the %d this miner returns", total, maxOutput)
	}
	// N gets room for one anchor's full negative list past the end, as
	// filter writes every candidate before keeping the selected ones.
	buf := make([]int, 3*total+b.m)
	out := &tuples.Triplets{A: buf[:0:total], P: buf[total : total : 2*total], N: buf[2*total : 2*total : 3*total+b.m]}
	if err := tuples.EachAnchor(b.labels, b.refArg(), b.self, visit(out)); err != nil {
		return nil, wrap(name, err)
	}
	out.N = out.N[:total:total]
	return out, nil
}

// selector applies TripletMargin's condition to one (anchor, positive) row
// of negatives.
type selector struct {
	margin, sign float64
	kind         Strategy
}

// filter writes to dst (len(dst) >= len(neg)) the negatives n of neg whose
// margin (vals[k] − ap)·sign passes the condition, in order, and returns
// their count. Every candidate is written and the cursor only advances for
// the selected ones, which keeps the loop free of unpredictable branches.
func (s selector) filter(dst, neg []int, vals []float64, ap float64) int {
	dst = dst[:len(neg)]
	vals = vals[:len(neg)]
	k := 0
	switch s.kind {
	case Easy:
		for i, n := range neg {
			dst[k] = n
			if (vals[i]-ap)*s.sign > s.margin {
				k++
			}
		}
	case Hard:
		for i, n := range neg {
			tm := (vals[i] - ap) * s.sign
			dst[k] = n
			if tm <= s.margin && tm <= 0 {
				k++
			}
		}
	case SemiHard:
		for i, n := range neg {
			tm := (vals[i] - ap) * s.sign
			dst[k] = n
			if tm <= s.margin && tm > 0 {
				k++
			}
		}
	default:
		for i, n := range neg {
			dst[k] = n
			if (vals[i]-ap)*s.sign <= s.margin {
				k++
			}
		}
	}
	return k
}
