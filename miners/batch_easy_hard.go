package miners

import (
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// Range is a closed interval of distance (or similarity) values: PML's
// allowed_pos_range / allowed_neg_range (low, high). Values outside it are
// never mined. A Range with Low > High admits nothing; infinite bounds
// are allowed, NaN bounds are not. The zero Range is [0, 0] (a legal
// interval, not "no limit": that is a nil *Range). A Range is a plain
// value, safe for concurrent use.
type Range struct {
	Low, High float64
}

// BatchEasyHard mirrors PML's BatchEasyHardMiner: for every anchor it picks
// one positive and one negative according to PosStrategy and NegStrategy
// and returns pairs (a, p) and (a, n).
//
//   - Easy: the closest positive / the farthest negative.
//   - Hard: the farthest positive / the closest negative.
//   - SemiHard: for positives, the farthest positive still closer than the
//     anchor's selected negative; for negatives, the closest negative
//     still farther than the anchor's selected positive.
//   - All: every positive (negative) pair of the anchor.
//
// "Closest" means the smallest distance or the largest similarity. Values
// outside AllowedPosRange / AllowedNegRange (nil: no limit) are skipped. An
// anchor is kept only if both of its picks exist (unless one strategy is
// All, whose pairs are returned as they are). Ties go to the smallest
// reference index, as torch.min / torch.max do.
//
// As in PML, an unknown strategy, SemiHard for both, and SemiHard with All
// are errors (wrapping gometric.ErrSetting).
//
// The zero value is PML's defaults, the same miner as NewBatchEasyHard
// returns. Mine is safe for concurrent use as long as the fields are not
// changed meanwhile and Distance is safe for concurrent use.
type BatchEasyHard struct {
	// Distance is nil for PML's default, LpDistance (normalised, p = 2).
	Distance distances.Distance
	// PosStrategy is PML's pos_strategy. If PosStrategy is "", Easy (PML's
	// default) is used.
	PosStrategy Strategy
	// NegStrategy is PML's neg_strategy. If NegStrategy is "", SemiHard
	// (PML's default) is used.
	NegStrategy Strategy
	// AllowedPosRange is PML's allowed_pos_range (default nil).
	AllowedPosRange *Range
	// AllowedNegRange is PML's allowed_neg_range (default nil).
	AllowedNegRange *Range
}

// NewBatchEasyHard returns a BatchEasyHard miner with PML's defaults
// (BatchEasyHardMiner(): pos_strategy "easy", neg_strategy "semihard", no
// ranges).
func NewBatchEasyHard() *BatchEasyHard {
	return &BatchEasyHard{PosStrategy: Easy, NegStrategy: SemiHard}
}

// Mine returns the selected pairs (a *tuples.Pairs).
func (bm *BatchEasyHard) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.BatchEasyHard"
	if bm == nil {
		return nil, nilReceiver(name)
	}
	pos, neg := bm.PosStrategy, bm.NegStrategy
	if pos == "" {
		pos = Easy
	}
	if neg == "" {
		neg = SemiHard
	}
	return easyHard{
		name: name, dist: bm.Distance, pos: pos, neg: neg,
		posRange: bm.AllowedPosRange, negRange: bm.AllowedNegRange,
	}.mine(in)
}

// BatchHard mirrors PML's BatchHardMiner: BatchEasyHard with Hard for both
// strategies, returned as triplets (a, hardest positive, hardest
// negative), one per anchor that has both.
//
// The zero value is PML's defaults, the same miner as NewBatchHard
// returns. Mine is safe for concurrent use as long as the fields are not
// changed meanwhile and Distance is safe for concurrent use.
type BatchHard struct {
	// Distance is nil for PML's default, LpDistance (normalised, p = 2).
	Distance distances.Distance
	// AllowedPosRange and AllowedNegRange are BatchEasyHard's
	// (PML's keyword arguments passed through; default nil).
	AllowedPosRange, AllowedNegRange *Range
}

// NewBatchHard returns a BatchHard miner with PML's defaults
// (BatchHardMiner()).
func NewBatchHard() *BatchHard { return &BatchHard{} }

// Mine returns the selected triplets (a *tuples.Triplets).
func (bh *BatchHard) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.BatchHard"
	if bh == nil {
		return nil, nilReceiver(name)
	}
	t, err := easyHard{
		name: name, dist: bh.Distance, pos: Hard, neg: Hard,
		posRange: bh.AllowedPosRange, negRange: bh.AllowedNegRange,
	}.mine(in)
	if err != nil {
		return nil, err
	}
	p := t.(*tuples.Pairs)
	return &tuples.Triplets{A: p.A1, P: p.P, N: p.N}, nil
}

// easyHard is the shared implementation of BatchEasyHard and BatchHard.
type easyHard struct {
	name               string
	dist               distances.Distance
	pos, neg           Strategy
	posRange, negRange *Range
}

func (e easyHard) validate() error {
	if !e.pos.valid() || !e.neg.valid() {
		return check.Settingf(e.name, "PosStrategy = %q, NegStrategy = %q; each must be one of %q, %q, %q, %q",
			e.pos, e.neg, Hard, SemiHard, Easy, All)
	}
	if e.pos == SemiHard && e.neg == SemiHard {
		return check.Settingf(e.name, "PosStrategy and NegStrategy cannot both be %q", SemiHard)
	}
	if (e.pos == All && e.neg == SemiHard) || (e.neg == All && e.pos == SemiHard) {
		return check.Settingf(e.name, "%q cannot be used in combination with %q", SemiHard, All)
	}
	for _, r := range []struct {
		what string
		r    *Range
	}{{"AllowedPosRange", e.posRange}, {"AllowedNegRange", e.negRange}} {
		if r.r != nil && (math.IsNaN(r.r.Low) || math.IsNaN(r.r.High)) {
			return check.Settingf(e.name, "%s = [%v, %v] has a NaN bound", r.what, r.r.Low, r.r.High)
		}
	}
	return nil
}

// pick is one anchor's selection: the value and reference index of the
// chosen pair, and whether any pair was admissible.
type pick struct {
	val  float64
	idx  int
	keep bool
}

func (e easyHard) mine(in Input) (tuples.Tuples, error) {
	if err := e.validate(); err != nil {
		return nil, err
	}
	b, err := prepare(e.name, in, false)
	if err != nil {
		return nil, err
	}
	dist := distanceOr(e.dist, defaultLp)
	m, err := b.matrix(e.name, dist)
	if err != nil {
		return nil, err
	}
	inv := dist.Settings().Inverted
	// PML's get_mine_function: Hard and SemiHard positives take the row
	// maximum of a distance (minimum of a similarity), Easy ones the
	// minimum. Negatives use the opposite function for Hard and SemiHard
	// (PML maps them to its "easy" function) and the "hard" one for Easy.
	posMin := (e.pos == Easy) != inv
	negMin := (e.neg == Hard || e.neg == SemiHard) != inv

	var posPicks, negPicks []pick
	switch {
	case e.pos == SemiHard && e.neg != All:
		negPicks = e.extremes(b, m, false, negMin, e.negRange, nil)
		posPicks = e.extremes(b, m, true, posMin, e.posRange, negPicks)
	case e.neg == SemiHard && e.pos != All:
		posPicks = e.extremes(b, m, true, posMin, e.posRange, nil)
		negPicks = e.extremes(b, m, false, negMin, e.negRange, posPicks)
	default:
		if e.pos != All {
			posPicks = e.extremes(b, m, true, posMin, e.posRange, nil)
		}
		if e.neg != All {
			negPicks = e.extremes(b, m, false, negMin, e.negRange, nil)
		}
	}

	out := emptyPairs()
	switch {
	case e.pos != All && e.neg != All:
		for i := range b.n {
			if posPicks[i].keep && negPicks[i].keep {
				out.A1 = append(out.A1, i)
				out.P = append(out.P, posPicks[i].idx)
				out.A2 = append(out.A2, i)
				out.N = append(out.N, negPicks[i].idx)
			}
		}
	case e.pos == All && e.neg == All:
		all, err := tuples.AllPairs(b.labels, b.refArg(), b.self)
		if err != nil {
			return nil, wrap(e.name, err)
		}
		out = all
	case e.pos == All:
		all, err := tuples.AllPairs(b.labels, b.refArg(), b.self)
		if err != nil {
			return nil, wrap(e.name, err)
		}
		out.A1, out.P = all.A1, all.P
		for i, pk := range negPicks {
			if pk.keep {
				out.A2 = append(out.A2, i)
				out.N = append(out.N, pk.idx)
			}
		}
	default: // e.neg == All
		for i, pk := range posPicks {
			if pk.keep {
				out.A1 = append(out.A1, i)
				out.P = append(out.P, pk.idx)
			}
		}
		all, err := tuples.AllPairs(b.labels, b.refArg(), b.self)
		if err != nil {
			return nil, wrap(e.name, err)
		}
		out.A2, out.N = all.A2, all.N
	}
	return out, nil
}

// extremes mirrors PML's get_x_per_row for every row: over the row's
// positive (or negative) pairs whose value lies in r and, with thresholds,
// is strictly beyond the row's threshold value (greater for a minimum,
// smaller for a maximum), it picks the minimum (useMin) or maximum, first
// index on ties. A row with nothing admissible gets keep = false and the
// value +Inf (minimum) or −Inf (maximum), which is what PML then uses as a
// semi-hard threshold.
func (e easyHard) extremes(b *batch, m *mat.Dense, positives, useMin bool, r *Range, thresholds []pick) []pick {
	out := make([]pick, b.n)
	for i, l := range b.labels {
		rw := row(m, i)
		best := math.Inf(-1)
		if useMin {
			best = math.Inf(1)
		}
		pk := pick{val: best}
		for j, rl := range b.refLabels {
			if (l == rl) != positives || (positives && b.self && i == j) {
				continue
			}
			v := rw[j]
			if thresholds != nil {
				thr := thresholds[i].val
				if (useMin && v <= thr) || (!useMin && v >= thr) {
					continue
				}
			}
			if r != nil && (v > r.High || v < r.Low) {
				continue
			}
			if !pk.keep || (useMin && v < pk.val) || (!useMin && v > pk.val) {
				pk = pick{val: v, idx: j, keep: true}
			}
		}
		out[i] = pk
	}
	return out
}
