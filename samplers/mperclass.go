package samplers

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
)

// MPerClass mirrors PML's MPerClassSampler: the epoch is built from rounds
// that each take M samples of a set of shuffled classes. Every field can be
// changed between epochs; settings are checked by Len and Epoch.
//
// With BatchSize 0 (PML's batch_size=None) a round covers every class; the
// epoch holds LengthBeforeNewIter rounded down to a multiple of M·(number
// of classes), or exactly one round when M·(number of classes) is at
// least LengthBeforeNewIter. With BatchSize > 0 a round is one batch of
// BatchSize/M distinct classes; the epoch holds LengthBeforeNewIter
// rounded down to a multiple of BatchSize. Within a round each class
// contributes M consecutive indices, drawn without replacement when the
// class has at least M samples and with replacement otherwise (PML's
// c_f.safe_random_choice).
//
// CoverAll is an option PML lacks (PML issues #684 and #725): the epoch is
// one pass over the dataset in which every index appears at least once.
// It needs BatchSize > 0 and ignores LengthBeforeNewIter. Each class's
// indices are shuffled and cut into groups of M; a last group of r < M
// indices is completed with M−r other indices of the class drawn without
// replacement (with replacement from the whole class when the class has
// fewer than M samples). With K groups in all and P = BatchSize/M, the
// epoch has B = max(⌈K/P⌉, largest number of groups of one class)
// batches; the B·P−K missing groups ("fillers", M indices of one class
// drawn as PML draws them) go one by one to a class drawn uniformly among
// the classes that still have fewer than B groups. The groups are then
// dealt so that each batch holds P groups of P distinct classes, and the
// order of the batches and of the groups inside each batch is random. So
// every batch has exactly BatchSize/M distinct classes × M samples, every
// index appears at least once, and the epoch is a permutation of the
// dataset (every index exactly once) when every class size is a multiple
// of M and no filler is needed (K is a multiple of P and no class has
// more than K/P groups).
//
// With BatchSize > 0, PML asserts that LengthBeforeNewIter >= BatchSize,
// that M × (number of classes) >= BatchSize and that M divides BatchSize
// (CoverAll keeps the last two); an error for a setting that breaks them
// lists the valid (M, BatchSize) pairs for the labels at hand.
//
// Labels and M have no default (PML requires them): the zero value is
// refused with an error wrapping gometric.ErrSetting that names
// NewMPerClass. A value with both set means PML's defaults for the other
// fields (0 stands for LengthBeforeNewIter's default). An MPerClass keeps
// no state between epochs and is safe for concurrent use as long as its
// fields are not changed meanwhile (with Sampler's rule for rng).
type MPerClass struct {
	// Labels holds one class label per dataset index.
	Labels []int
	// M is the number of samples per class in each round (PML's m), at
	// least 1.
	M int
	// BatchSize is PML's batch_size; 0 stands for PML's None.
	BatchSize int
	// LengthBeforeNewIter is PML's length_before_new_iter: the requested
	// epoch length, before rounding. If LengthBeforeNewIter is 0, 100000
	// (PML's default) is used. (PML's length_before_new_iter=0 with
	// batch_size None yields one round; any length from 1 to M × (number
	// of classes) does that here.)
	LengthBeforeNewIter int
	// CoverAll makes the epoch one pass that covers every index (see the
	// type's documentation). Not in PML.
	CoverAll bool
}

// defaultLength is PML's length_before_new_iter default.
const defaultLength = 100000

// NewMPerClass returns an MPerClass sampler with PML's defaults:
// BatchSize 0 (None), LengthBeforeNewIter 100000, CoverAll false.
func NewMPerClass(labels []int, m int) *MPerClass {
	return &MPerClass{Labels: labels, M: m, LengthBeforeNewIter: defaultLength}
}

const compMPerClass = "samplers.MPerClass"

// mPlan is the validated shape of one epoch.
type mPlan struct {
	ci     classIndex
	length int // indices in the epoch
	rounds int // PML mode: number of rounds
	per    int // classes per round (PML mode) or per batch (CoverAll)
	// CoverAll mode
	groups  []int // groups[c]: ⌈n_c/M⌉
	batches int   // B
}

func (s *MPerClass) plan() (mPlan, error) {
	var p mPlan
	if s == nil {
		return p, nilReceiver(compMPerClass)
	}
	m, bs, l := s.M, s.BatchSize, s.LengthBeforeNewIter
	if m == 0 && s.Labels == nil {
		return p, check.Settingf(compMPerClass, "no labels and m = 0 (the zero value): use NewMPerClass(labels, m)")
	}
	if m < 1 {
		return p, check.Settingf(compMPerClass, "m = %d must be at least 1", m)
	}
	if err := checkLabels(compMPerClass, "labels", s.Labels); err != nil {
		return p, err
	}
	if l == 0 {
		l = defaultLength
	}
	if bs < 0 {
		return p, check.Settingf(compMPerClass, "batch_size = %d is negative (use 0 for None)", bs)
	}
	p.ci = groupByLabel(s.Labels)
	nc := len(p.ci.labels)
	single, ok := mul(m, nc)
	if !ok {
		return p, check.Settingf(compMPerClass, "m (%d) × number of classes (%d) exceeds the limit of %d indices per epoch", m, nc, maxEpochLen)
	}
	if s.CoverAll {
		return s.planCoverAll(p)
	}
	if l < 0 {
		return p, check.Settingf(compMPerClass, "length_before_new_iter = %d is negative", l)
	}
	if bs == 0 {
		p.per = nc
		if single < l {
			p.rounds = l / single
		} else {
			p.rounds = 1
		}
		p.length = p.rounds * single
	} else {
		if err := checkMBatch(m, bs, nc, l, false); err != nil {
			return p, err
		}
		p.per = bs / m
		p.rounds = l / bs
		p.length = p.rounds * bs
	}
	if p.length > maxEpochLen {
		return p, check.Settingf(compMPerClass, "epoch of %d indices exceeds the limit of %d", p.length, maxEpochLen)
	}
	return p, nil
}

func (s *MPerClass) planCoverAll(p mPlan) (mPlan, error) {
	m, bs := s.M, s.BatchSize
	nc := len(p.ci.labels)
	if bs == 0 {
		return p, check.Settingf(compMPerClass, "CoverAll needs a positive batch_size; %s", suggestion(m, 0, nc, 0, true))
	}
	if err := checkMBatch(m, bs, nc, 0, true); err != nil {
		return p, err
	}
	p.per = bs / m
	p.groups = make([]int, nc)
	k, most := 0, 0
	for c, mem := range p.ci.members {
		g := (len(mem) + m - 1) / m
		p.groups[c] = g
		k += g
		most = max(most, g)
	}
	p.batches = max((k+p.per-1)/p.per, most)
	length, ok := mul(p.batches, bs)
	if !ok {
		return p, check.Settingf(compMPerClass, "epoch of %d batches of %d exceeds the limit of %d indices", p.batches, bs, maxEpochLen)
	}
	p.length = length
	return p, nil
}

// checkMBatch applies PML's asserts on (m, batch_size) for nc classes and
// the epoch length l (ignored with coverAll, which keeps the other two):
// l >= bs, m·nc >= bs, and m divides bs. The error lists valid pairs.
func checkMBatch(m, bs, nc, l int, coverAll bool) error {
	var msg string
	switch {
	case !coverAll && l < bs:
		msg = fmt.Sprintf("length_before_new_iter (%d) is smaller than batch_size (%d)", l, bs)
	case bs/m > nc || (bs/m == nc && bs%m != 0):
		msg = fmt.Sprintf("m (%d) × number of classes (%d) = %d is smaller than batch_size (%d)", m, nc, m*nc, bs)
	case bs%m != 0:
		msg = fmt.Sprintf("batch_size (%d) is not a multiple of m (%d)", bs, m)
	default:
		return nil
	}
	return check.Settingf(compMPerClass, "%s; %s", msg, suggestion(m, bs, nc, l, coverAll))
}

// validBatchCount returns k such that the valid batch sizes for m are m,
// 2m, ..., k·m: multiples of m, at most m·nc and at most l (unless
// coverAll).
func validBatchCount(m, nc, l int, coverAll bool) int {
	k := nc
	if !coverAll {
		k = min(k, l/m)
	}
	return max(k, 0)
}

// maxDivisorSearch bounds the batch sizes whose divisors suggestion lists.
const maxDivisorSearch = maxEpochLen

// validMs returns, ascending, the m that suit batch size bs for nc
// classes: the divisors of bs with m·nc >= bs. It returns nil for bs
// outside [1, maxDivisorSearch].
func validMs(bs, nc int) []int {
	if bs < 1 || bs > maxDivisorSearch {
		return nil
	}
	var lo, hi []int
	for d := 1; d*d <= bs; d++ {
		if bs%d != 0 {
			continue
		}
		lo = append(lo, d)
		if e := bs / d; e != d {
			hi = append(hi, e)
		}
	}
	slices.Reverse(hi)
	var out []int
	for _, d := range append(lo, hi...) {
		if d >= (bs+nc-1)/nc {
			out = append(out, d)
		}
	}
	return out
}

// suggestion lists the (m, batch_size) pairs PML accepts near the given
// ones: the batch sizes that suit m, and the m that suit bs (when bs > 0
// and the length allows it).
func suggestion(m, bs, nc, l int, coverAll bool) string {
	var parts []string
	if k := validBatchCount(m, nc, l, coverAll); k > 0 {
		var sizes string
		if k <= 6 {
			s := make([]string, k)
			for i := range k {
				s[i] = strconv.Itoa((i + 1) * m)
			}
			sizes = strings.Join(s, ", ")
		} else {
			sizes = fmt.Sprintf("%d, %d, %d, …, %d", m, 2*m, 3*m, k*m)
		}
		parts = append(parts, fmt.Sprintf("m = %d with batch_size %s", m, sizes))
	}
	if bs > 0 && (coverAll || bs <= l) {
		if ms := validMs(bs, nc); len(ms) > 0 {
			s := make([]string, 0, len(ms))
			for i, v := range ms {
				if len(ms) > 10 && i == 5 {
					s = append(s, "…")
				}
				if len(ms) <= 10 || i < 5 || i >= len(ms)-2 {
					s = append(s, strconv.Itoa(v))
				}
			}
			parts = append(parts, fmt.Sprintf("batch_size %d with m = %s", bs, strings.Join(s, ", ")))
		}
	}
	classes := fmt.Sprintf("%d classes", nc)
	if nc == 1 {
		classes = "1 class"
	}
	if !coverAll {
		classes += fmt.Sprintf(" and length_before_new_iter %d", l)
	}
	if len(parts) == 0 {
		return fmt.Sprintf("no batch_size suits m = %d for these %s (a batch size must be a multiple of m, at most m × number of classes and at most the length)", m, classes)
	}
	return fmt.Sprintf("valid settings for these %s: %s", classes, strings.Join(parts, "; or "))
}

// Len implements Sampler: the number of indices of one epoch, or 0 when
// the settings are invalid.
//
// It equals PML's __len__ except when BatchSize is 0 and M·(number of
// classes) exceeds LengthBeforeNewIter: PML's __len__ then reports
// LengthBeforeNewIter while its __iter__ yields one full round of
// M·(number of classes) indices; Len reports what the epoch holds.
func (s *MPerClass) Len() int {
	p, err := s.plan()
	if err != nil {
		return 0
	}
	return p.length
}

// Epoch implements Sampler: the indices of one epoch, drawn with rng
// (nil: the process-wide generator).
func (s *MPerClass) Epoch(rng *rand.Rand) ([]int, error) {
	p, err := s.plan()
	if err != nil {
		return nil, err
	}
	rng = randsrc.Or(rng)
	if s.CoverAll {
		return s.coverAll(rng, p), nil
	}
	// Scratch copies of each class, reordered in place by safeChoice.
	pools := make([][]int, len(p.ci.members))
	for c, mem := range p.ci.members {
		pools[c] = append([]int(nil), mem...)
	}
	order := make([]int, len(pools))
	for c := range order {
		order[c] = c
	}
	out := make([]int, 0, p.length)
	for range p.rounds {
		// A uniform choice of p.per classes in random order: the prefix of
		// a partial Fisher–Yates shuffle (PML shuffles every label and
		// takes the first batch_size/m).
		for k := range p.per {
			j := k + rng.IntN(len(order)-k)
			order[k], order[j] = order[j], order[k]
			out = safeChoice(rng, pools[order[k]], s.M, out)
		}
	}
	return out, nil
}

// coverAll builds a CoverAll epoch (see the MPerClass documentation).
func (s *MPerClass) coverAll(rng *rand.Rand, p mPlan) []int {
	m, nb := s.M, p.batches
	nc := len(p.ci.members)
	// Fillers: one by one to a class drawn uniformly among those with
	// fewer than nb groups.
	fill := make([]int, nc)
	total := 0
	var room []int
	for c, g := range p.groups {
		total += g
		if g < nb {
			room = append(room, c)
		}
	}
	for f := nb*p.per - total; f > 0; f-- {
		j := rng.IntN(len(room))
		c := room[j]
		fill[c]++
		if p.groups[c]+fill[c] == nb {
			room[j] = room[len(room)-1]
			room = room[:len(room)-1]
		}
	}

	buf := make([]int, 0, p.length)
	seq := make([][]int, 0, nb*p.per) // groups in dealing order
	for _, c := range rng.Perm(nc) {
		mem := append([]int(nil), p.ci.members[c]...)
		shuffle(rng, mem)
		n := len(mem)
		start := len(seq)
		for g := 0; g < n; g += m {
			lo := len(buf)
			end := min(g+m, n)
			buf = append(buf, mem[g:end]...)
			if r := end - g; r < m {
				if n < m {
					for range m - r {
						buf = append(buf, mem[rng.IntN(n)])
					}
				} else {
					// mem[:g] is reordered in place; its samples are
					// already placed, so the order no longer matters.
					buf = safeChoice(rng, mem[:g], m-r, buf)
				}
			}
			seq = append(seq, buf[lo:len(buf):len(buf)])
		}
		for range fill[c] {
			lo := len(buf)
			buf = safeChoice(rng, mem, m, buf)
			seq = append(seq, buf[lo:len(buf):len(buf)])
		}
		shuffle(rng, seq[start:])
	}

	// Deal: group j goes to batch j mod nb. A class's groups are
	// consecutive and at most nb, so they land in distinct batches.
	batches := make([][][]int, nb)
	for j, g := range seq {
		batches[j%nb] = append(batches[j%nb], g)
	}
	shuffle(rng, batches)
	out := make([]int, 0, p.length)
	for _, b := range batches {
		shuffle(rng, b)
		for _, g := range b {
			out = append(out, g...)
		}
	}
	return out
}
