package miners

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/utils/tuples"
)

// maxBins and maxDraws bound UniformHistogram's settings, so that absurd
// values give an error instead of exhausting memory: NumBins is at most
// 2^24 (no allocation follows it), and the pairs drawn of each kind (the
// draws are with replacement, so the batch does not bound them) at most
// 2^22, 64 MiB of indices.
const (
	maxBins  = 1 << 24
	maxDraws = 1 << 22
)

// UniformHistogram mirrors PML's UniformHistogramMiner: it splits the range
// of the positive pairs' values into NumBins equal bins (torch.linspace
// from the minimum to the maximum; each bin [lo, hi), the last [lo, hi])
// and draws PosPerBin pairs, uniformly with replacement, from every
// non-empty bin; the same for the negative pairs with NegPerBin. The pairs
// come out bin by bin, in draw order.
//
// The bin edges follow torch's scalar linspace formula (start + step·i in
// the first half, end − step·(steps − 1 − i) in the second), so the bins
// match PML's. The draws come from Rand; they cannot reproduce torch's
// random stream.
//
// The zero value is PML's defaults, the same miner as NewUniformHistogram
// returns. With a nil Rand (the default) Mine is safe for concurrent use,
// as long as the fields are not changed meanwhile; with a seeded Rand it
// is not.
type UniformHistogram struct {
	// Distance is nil for PML's default, LpDistance (normalised, p = 2).
	Distance distances.Distance
	// NumBins is PML's num_bins, at least 1. If NumBins is 0, 100 (PML's
	// default) is used.
	NumBins int
	// PosPerBin is PML's pos_per_bin, at least 1. If PosPerBin is 0, 10
	// (PML's default) is used. PosPerBin times the number of non-empty
	// bins (the positive pairs drawn) is at most 2^22 (4,194,304).
	PosPerBin int
	// NegPerBin is PML's neg_per_bin, at least 1. If NegPerBin is 0, 10
	// (PML's default) is used. NegPerBin times the number of non-empty
	// bins is at most 2^22.
	NegPerBin int
	// Rand draws the pairs. If Rand is nil, math/rand/v2's process-wide
	// generator is used: fresh draws at every call, as PML draws from
	// torch's global generator. A seeded Rand makes the draws
	// reproducible (same seed, same pairs).
	Rand *rand.Rand
}

// NewUniformHistogram returns a UniformHistogram miner with PML's defaults
// (UniformHistogramMiner(): num_bins 100, pos_per_bin 10, neg_per_bin 10),
// drawing from the process-wide generator; set Rand for reproducible
// draws.
func NewUniformHistogram() *UniformHistogram {
	return &UniformHistogram{NumBins: 100, PosPerBin: 10, NegPerBin: 10}
}

// Mine returns the sampled pairs (a *tuples.Pairs).
func (u *UniformHistogram) Mine(in Input) (tuples.Tuples, error) {
	const name = "miners.UniformHistogram"
	if u == nil {
		return nil, nilReceiver(name)
	}
	s := uhSettings{bins: u.NumBins, pos: u.PosPerBin, neg: u.NegPerBin, rng: randsrc.Or(u.Rand)}
	if s.bins == 0 {
		s.bins = 100
	}
	if s.pos == 0 {
		s.pos = 10
	}
	if s.neg == 0 {
		s.neg = 10
	}
	if s.bins < 1 || s.bins > maxBins {
		return nil, check.Settingf(name, "NumBins = %d, want 1 to %d (0 for PML's default, 100)", u.NumBins, maxBins)
	}
	if s.pos < 1 || s.neg < 1 {
		return nil, check.Settingf(name, "PosPerBin = %d, NegPerBin = %d; both must be at least 1 (0 for PML's default, 10)", u.PosPerBin, u.NegPerBin)
	}
	if s.pos > maxDraws || s.neg > maxDraws {
		return nil, check.Settingf(name, "PosPerBin = %d, NegPerBin = %d; the pairs drawn of each kind are limited to %d", u.PosPerBin, u.NegPerBin, maxDraws)
	}
	b, err := prepare(name, in, false)
	if err != nil {
		return nil, err
	}
	m, err := b.matrix(name, distanceOr(u.Distance, defaultLp))
	if err != nil {
		return nil, err
	}
	all, err := tuples.AllPairs(b.labels, b.refArg(), b.self)
	if err != nil {
		return nil, wrap(name, err)
	}
	out := &tuples.Pairs{}
	raw := rawOf(m)
	out.A1, out.P, err = s.sample(name, all.A1, all.P, raw, s.pos)
	if err != nil {
		return nil, err
	}
	out.A2, out.N, err = s.sample(name, all.A2, all.N, raw, s.neg)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// linspace computes torch.linspace(start, end, steps) one value at a time.
type linspace struct {
	start, end, step float64
	steps, halfway   int
}

func newLinspace(name string, start, end float64, steps int) (linspace, error) {
	step := (end - start) / float64(steps-1)
	if math.IsNaN(step) || math.IsInf(step, 0) || math.IsNaN(start) || math.IsInf(start, 0) || math.IsNaN(end) || math.IsInf(end, 0) {
		return linspace{}, check.Errorf(name, gometric.ErrNonFinite, "the range [%v, %v] of pair values is not finite", start, end)
	}
	return linspace{start: start, end: end, step: step, steps: steps, halfway: steps / 2}, nil
}

func (l linspace) at(i int) float64 {
	if i < l.halfway {
		return l.start + l.step*float64(i)
	}
	return l.end - l.step*float64(l.steps-i-1)
}

// uhSettings are a UniformHistogram's settings for one call, defaults
// resolved.
type uhSettings struct {
	bins, pos, neg int
	rng            *rand.Rand
}

// sample mirrors get_uniformly_distributed_pairs for one kind of pair.
func (u uhSettings) sample(name string, a, o []int, m dense, perBin int) ([]int, []int, error) {
	if len(a) == 0 {
		return []int{}, []int{}, nil
	}
	vals := make([]float64, len(a))
	for k := range a {
		vals[k] = m.at(a[k], o[k])
	}
	ls, err := newLinspace(name, slices.Min(vals), slices.Max(vals), u.bins+1)
	if err != nil {
		return nil, nil, err
	}
	// Pair positions sorted by value: the members of a bin [lo, hi) are a
	// contiguous run of it, whatever the rounding of the edges.
	order := make([]keyed, len(vals))
	for k, v := range vals {
		order[k] = keyed{key: floatKey(v), pos: k}
	}
	sortKeyed(order)
	firstAtLeast := func(v float64) int {
		return sort.Search(len(order), func(s int) bool { return vals[order[s].pos] >= v })
	}
	firstAbove := func(v float64) int {
		return sort.Search(len(order), func(s int) bool { return vals[order[s].pos] > v })
	}
	// bin returns the run order[s:e] of bin i.
	bin := func(i int) (s, e int) {
		lo, hi := ls.at(i), ls.at(i+1)
		s = firstAtLeast(lo)
		if i == u.bins-1 {
			e = firstAbove(hi)
		} else {
			e = firstAtLeast(hi)
		}
		return s, e
	}
	// Count the non-empty bins first: the draws are checked against
	// maxDraws before anything is allocated for them.
	full := 0
	for i := range u.bins {
		if s, e := bin(i); e > s {
			full++
		}
	}
	if full > maxDraws/perBin {
		return nil, nil, check.Settingf(name, "drawing %d pairs in each of %d non-empty bins would give more than the limit of %d pairs", perBin, full, maxDraws)
	}
	outA, outO := make([]int, 0, full*perBin), make([]int, 0, full*perBin)
	var members []int
	for i := range u.bins {
		s, e := bin(i)
		if e <= s {
			continue
		}
		// torch.where lists the bin's pairs in their original order.
		members = members[:0]
		for _, kd := range order[s:e] {
			members = append(members, kd.pos)
		}
		slices.Sort(members)
		for range perBin {
			k := members[u.rng.IntN(len(members))]
			outA = append(outA, a[k])
			outO = append(outO, o[k])
		}
	}
	return outA, outO, nil
}
