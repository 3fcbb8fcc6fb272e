package miners

import (
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// Strategy names a mining strategy: BatchEasyHard's PosStrategy and
// NegStrategy (PML's pos_strategy / neg_strategy) and TripletMargin's
// TypeOfTriplets (PML's type_of_triplets) take these values, spelt as in
// PML. The empty Strategy is not one of them (BatchEasyHard reads it as
// its default). A Strategy is a plain value, safe for concurrent use.
type Strategy string

// The strategies PML accepts.
const (
	// Easy selects the easiest pairs or triplets (PML's "easy").
	Easy Strategy = "easy"
	// SemiHard selects semi-hard ones (PML's "semihard").
	SemiHard Strategy = "semihard"
	// Hard selects the hardest ones (PML's "hard").
	Hard Strategy = "hard"
	// All keeps every one (PML's "all").
	All Strategy = "all"
)

func (s Strategy) valid() bool {
	switch s {
	case Easy, SemiHard, Hard, All:
		return true
	}
	return false
}

// maxOutput bounds the number of triplets a miner returns (about 400 GB
// of indices), so that an absurd batch gives an error rather than an
// attempt at an impossible allocation.
const maxOutput = 1 << 34

// batch is a validated Input with the reference set resolved.
type batch struct {
	emb *mat.Dense
	// ref is the reference matrix to pass to a Distance: nil when the
	// reference set is the query (the distance's self mode).
	ref    *mat.Dense
	labels []int
	// refLabels are the reference labels; equal to labels (same slice)
	// when self.
	refLabels []int
	self      bool
	n, m, d   int
}

// refArg is the refLabels argument of the tuples functions.
func (b *batch) refArg() []int {
	if b.self {
		return nil
	}
	return b.refLabels
}

// refRows is the reference matrix itself (the query when self).
func (b *batch) refRows() *mat.Dense {
	if b.self {
		return b.emb
	}
	return b.ref
}

// prepare validates in as PML's BaseMiner.forward does (check_shapes and
// set_ref_emb), with Go's stricter rules: embeddings must be non-empty and
// finite, labels must have one entry per row (unless labelsOptional and
// nil), and Ref and RefLabels come together.
func prepare(name string, in Input, labelsOptional bool) (*batch, error) {
	if err := check.Matrix(name, "embeddings", in.Embeddings); err != nil {
		return nil, err
	}
	b := &batch{emb: in.Embeddings, labels: in.Labels}
	b.n, b.d = in.Embeddings.Dims()
	if !(labelsOptional && in.Labels == nil) {
		if err := check.Labels(name, "labels", in.Labels, b.n); err != nil {
			return nil, err
		}
	}
	if in.Ref == nil {
		if in.RefLabels != nil {
			return nil, check.Errorf(name, gometric.ErrLabels, "RefLabels given (%d) without Ref", len(in.RefLabels))
		}
		b.self = true
		b.m = b.n
		b.refLabels = b.labels
		return b, nil
	}
	if err := check.Matrix(name, "ref", in.Ref); err != nil {
		return nil, err
	}
	if err := check.SameCols(name, "embeddings", "ref", in.Embeddings, in.Ref); err != nil {
		return nil, err
	}
	b.ref = in.Ref
	b.m, _ = in.Ref.Dims()
	if in.RefLabels == nil && !(labelsOptional && in.Labels == nil) {
		return nil, check.Errorf(name, gometric.ErrLabels, "Ref given without RefLabels")
	}
	if in.RefLabels != nil {
		if err := check.Labels(name, "ref labels", in.RefLabels, b.m); err != nil {
			return nil, err
		}
	}
	b.refLabels = in.RefLabels
	return b, nil
}

// matrix computes d's N×M matrix for the batch and checks what it returns
// (a Distance implemented outside this module might return anything).
func (b *batch) matrix(name string, d distances.Distance) (*mat.Dense, error) {
	m, err := d.Matrix(b.emb, b.ref)
	if err != nil {
		return nil, wrap(name, err)
	}
	if err := check.Dims(name, "distance matrix", m, b.n, b.m); err != nil {
		return nil, err
	}
	if err := check.Matrix(name, "distance matrix", m); err != nil {
		return nil, err
	}
	return m, nil
}

// wrap prefixes an error from another component with the miner's name,
// keeping its sentinel.
func wrap(name string, err error) error {
	return fmt.Errorf("%s: %w", name, err)
}

// finiteSetting checks that a float setting is finite.
func finiteSetting(name, field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return check.Settingf(name, "%s = %v, want a finite number", field, v)
	}
	return nil
}

// distanceOr returns d, or the default distance def() when d is nil.
func distanceOr(d distances.Distance, def func() distances.Distance) distances.Distance {
	if d == nil {
		return def()
	}
	return d
}

func defaultLp() distances.Distance { return distances.NewLp() }

// requireUnitLp checks PML's assert_distance_type(self, LpDistance, p=2,
// power=1, normalize_embeddings=True) for the miners that need it; a nil
// distance is the default, which satisfies it.
func requireUnitLp(name string, d distances.Distance) (distances.Distance, error) {
	if d == nil {
		return distances.NewLp(), nil
	}
	lp, ok := d.(*distances.Lp)
	if !ok || lp == nil {
		return nil, check.Settingf(name, "Distance is %T, want *distances.Lp (P = 2, Power = 1, normalised)", d)
	}
	if lp.P != 2 || lp.Power != 1 || !lp.NormalizeEmbeddings {
		return nil, check.Settingf(name, "Distance is Lp with P = %v, Power = %v, NormalizeEmbeddings = %v; want P = 2, Power = 1, NormalizeEmbeddings = true",
			lp.P, lp.Power, lp.NormalizeEmbeddings)
	}
	return lp, nil
}

// nilReceiver is the error of a method called on a nil miner.
func nilReceiver(name string) error {
	return check.Settingf(name, "nil receiver")
}

// notMade is the error of a miner whose zero value cannot mean PML's
// defaults (a legal 0 setting) and that was not made by its constructor.
func notMade(name, ctor, defaults string) error {
	return check.Settingf(name, "not made by %s: the zero value is not PML's defaults (%s); use %s() and set fields", ctor, defaults, ctor)
}

func emptyPairs() *tuples.Pairs {
	return &tuples.Pairs{A1: []int{}, P: []int{}, A2: []int{}, N: []int{}}
}

// row returns row i of m as a slice of its m.m columns.
func row(m *mat.Dense, i int) []float64 {
	_, c := m.Dims()
	return m.RawRowView(i)[:c]
}

// keyed is a sort key with the position it belongs to; sorting by (key,
// pos) orders values with ties in position order, i.e. a stable sort.
type keyed struct {
	key uint64
	pos int
}

// floatKey maps a non-NaN float to a uint64 with the same order (−0 and +0
// alike).
func floatKey(v float64) uint64 {
	if v == 0 {
		v = 0 // −0 → +0
	}
	b := math.Float64bits(v)
	if b>>63 != 0 {
		return ^b
	}
	return b | 1<<63
}

func (a keyed) less(b keyed) bool {
	return a.key < b.key || (a.key == b.key && a.pos < b.pos)
}

// sortKeyed sorts by (key, pos). Long slices whose positions ascend (as
// every caller builds them) take a stable LSD radix sort on the key, which
// then orders ties by position; the rest an introsort specialised to keyed,
// whose inlined comparisons make it several times faster than
// slices.SortFunc.
func sortKeyed(ks []keyed) {
	var sc keyedScratch
	sc.sort(ks)
}

// keyedScratch holds the buffers of sortKeyed between calls, so that a
// miner sorting row after row allocates them once.
type keyedScratch struct {
	tmp    []keyed
	counts []int32
}

// sort is sortKeyed with the buffers of sc: from bucketMin keys a bucket
// sort, below an introsort (the radix sort for long position-ordered
// slices).
func (sc *keyedScratch) sort(ks []keyed) {
	if len(ks) >= bucketMin && len(ks) < radixMin {
		sc.bucketSort(ks)
		return
	}
	if len(ks) >= radixMin && slices.IsSortedFunc(ks, func(a, b keyed) int { return a.pos - b.pos }) {
		radixSort(ks)
		return
	}
	depth := 0
	for n := len(ks); n > 0; n >>= 1 {
		depth += 2
	}
	introsort(ks, depth)
}

func introsort(ks []keyed, depth int) {
	for len(ks) > 16 {
		if depth == 0 {
			heapsort(ks)
			return
		}
		depth--
		// Median of three to ks[0], then Hoare partition around it.
		m, l := len(ks)/2, len(ks)-1
		if ks[m].less(ks[0]) {
			ks[m], ks[0] = ks[0], ks[m]
		}
		if ks[l].less(ks[0]) {
			ks[l], ks[0] = ks[0], ks[l]
		}
		if ks[l].less(ks[m]) {
			ks[l], ks[m] = ks[m], ks[l]
		}
		ks[0], ks[m] = ks[m], ks[0]
		p := ks[0]
		i, j := 1, l
		for {
			for i <= j && ks[i].less(p) {
				i++
			}
			for i <= j && p.less(ks[j]) {
				j--
			}
			if i >= j {
				break
			}
			ks[i], ks[j] = ks[j], ks[i]
			i++
			j--
		}
		ks[0], ks[j] = ks[j], ks[0]
		// Recurse into the smaller side, loop on the larger.
		if j < len(ks)-1-j {
			introsort(ks[:j], depth)
			ks = ks[j+1:]
		} else {
			introsort(ks[j+1:], depth)
			ks = ks[:j]
		}
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j].less(ks[j-1]); j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
}

// bucketMin is the length from which sortKeyed uses a bucket sort.
const bucketMin = 32

// bucketSort sorts ks by (key, pos): one counting pass scatters them,
// stably, into about 2·len(ks) buckets of equal width in the keys' float
// values (the bucket is a non-decreasing function of the value, so bucket
// order is key order), then each bucket is sorted by (key, pos): by
// insertion while small, by introsort if many keys fell into one bucket (a
// skewed spread), so the worst case stays O(n log n). Values spread like
// similarities fill a few per bucket, and the sort makes about two passes
// instead of introsort's log n, with few unpredictable branches. Keys of
// infinite values, or a spread that overflows, take the introsort.
func (sc *keyedScratch) bucketSort(ks []keyed) {
	n := len(ks)
	lo, hi := ks[0].key, ks[0].key
	for _, k := range ks[1:] {
		lo, hi = min(lo, k.key), max(hi, k.key)
	}
	vlo := keyFloat(lo)
	span := keyFloat(hi) - vlo
	if !(span > 0 && span <= math.MaxFloat64) {
		introsort(ks, 2*bits.Len(uint(n)))
		return
	}
	nb := 2 * n
	scale := float64(nb) / span
	bucket := func(k uint64) int { return min(int((keyFloat(k)-vlo)*scale), nb-1) }
	if cap(sc.counts) < nb+1 {
		sc.counts = make([]int32, nb+1)
	}
	if cap(sc.tmp) < n {
		sc.tmp = make([]keyed, n)
	}
	counts, tmp := sc.counts[:nb+1], sc.tmp[:n]
	clear(counts)
	for _, k := range ks {
		counts[bucket(k.key)+1]++
	}
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	// counts[b] is the start of bucket b; after the scatter, its end.
	for _, k := range ks {
		b := bucket(k.key)
		tmp[counts[b]] = k
		counts[b]++
	}
	copy(ks, tmp)
	start := 0
	for b := range nb {
		end := int(counts[b])
		switch bk := ks[start:end]; {
		case len(bk) > 32:
			introsort(bk, 2*bits.Len(uint(len(bk))))
		case len(bk) > 1:
			insertionSortKeyed(bk)
		}
		start = end
	}
}

// keyFloat inverts floatKey (−0 comes back as +0).
func keyFloat(k uint64) float64 {
	if k>>63 != 0 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// insertionSortKeyed sorts a short slice by (key, pos).
func insertionSortKeyed(ks []keyed) {
	for i := 1; i < len(ks); i++ {
		k := ks[i]
		j := i
		for ; j > 0 && k.less(ks[j-1]); j-- {
			ks[j] = ks[j-1]
		}
		ks[j] = k
	}
}

// radixMin is the length from which sortKeyed uses radixSort.
const radixMin = 512

// radixSort sorts ks stably by key, one byte per pass from the lowest,
// skipping the bytes that all keys share.
func radixSort(ks []keyed) {
	var counts [8][256]int
	for _, k := range ks {
		for b := range 8 {
			counts[b][byte(k.key>>(8*b))]++
		}
	}
	src, dst := ks, make([]keyed, len(ks))
	for b := range 8 {
		c := &counts[b]
		if c[byte(src[0].key>>(8*b))] == len(src) {
			continue // every key has this byte
		}
		sum := 0
		for i, v := range c {
			c[i] = sum
			sum += v
		}
		for _, k := range src {
			d := byte(k.key >> (8 * b))
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &ks[0] {
		copy(ks, src)
	}
}

func heapsort(ks []keyed) {
	n := len(ks)
	sift := func(root, end int) {
		for {
			child := 2*root + 1
			if child >= end {
				return
			}
			if child+1 < end && ks[child].less(ks[child+1]) {
				child++
			}
			if !ks[root].less(ks[child]) {
				return
			}
			ks[root], ks[child] = ks[child], ks[root]
			root = child
		}
	}
	for i := n/2 - 1; i >= 0; i-- {
		sift(i, n)
	}
	for end := n - 1; end > 0; end-- {
		ks[0], ks[end] = ks[end], ks[0]
		sift(0, end)
	}
}

// dense reads a matrix's entries without At's method-call overhead.
type dense struct {
	data   []float64
	stride int
}

func rawOf(m *mat.Dense) dense {
	r := m.RawMatrix()
	return dense{data: r.Data, stride: r.Stride}
}

func (d dense) at(i, j int) float64 { return d.data[i*d.stride+j] }

// collector accumulates triplets in blocks of growing size and copies them
// once into exactly sized slices, avoiding the repeated copies of append's
// regrowth when there can be millions of them.
type collector struct {
	blocks [][]int // full blocks, interleaved a, p, n
	cur    []int
	n      int
}

const (
	firstBlock = 3 * 1024
	maxBlock   = 3 * 64 * 1024
)

func (c *collector) add(a, p, n int) {
	if len(c.cur) == cap(c.cur) {
		size := firstBlock
		if c.cur != nil {
			c.blocks = append(c.blocks, c.cur)
			size = min(2*cap(c.cur), maxBlock)
		}
		c.cur = make([]int, 0, size)
	}
	c.cur = append(c.cur, a, p, n)
	c.n++
}

func (c *collector) triplets() *tuples.Triplets {
	buf := make([]int, 3*c.n)
	t := &tuples.Triplets{A: buf[:c.n:c.n], P: buf[c.n : 2*c.n : 2*c.n], N: buf[2*c.n:]}
	k := 0
	for _, b := range append(c.blocks, c.cur) {
		for i := 0; i+2 < len(b); i += 3 {
			t.A[k], t.P[k], t.N[k] = b[i], b[i+1], b[i+2]
			k++
		}
	}
	return t
}
