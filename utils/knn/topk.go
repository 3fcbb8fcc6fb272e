package knn

import (
	"math"
	"math/bits"
	"slices"
)

// Selection of the k best references of a query. Up to heapMaxK neighbours
// a query keeps them in a bounded max-heap (replaceTop), which rejects
// almost every reference with one comparison. Beyond it a heap costs
// log₂ k sift steps for every admitted reference, and a query admits about
// k·(1 + ln(n/k)) of n references in random order: at k = 1,000 that made
// the heap the larger part of a search. Larger k therefore use threshold
// selection: a query appends every reference better than its bound (+Inf
// at first) to a buffer of up to 4k entries (bufSize); when the buffer is
// full, shrink keeps the entries below a pivot key sampled a little above
// the k-th (or, failing that, the exact k smallest) and that key becomes
// the bound; at the end the survivors are radix-sorted and the first k
// reported.
//
// Both give the same result: the k references smallest in the total order
// (key, index), in that order. References arrive in increasing index, so a
// reference whose key only ties the bound ranks after k kept ones and is
// rightly rejected by both. A key that is NaN or +Inf never passes the
// bound and a missing neighbour is reported as (+Inf, math.MaxInt), as from
// the heap's initial entries (with validated input neither occurs). Which
// selection runs, and how a buffer is shrunk, changes no bit of a result.
//
// The crossover is measured (BenchmarkSelection, 10,000 references of
// dimension 128): the heap is ahead up to k = 16, even at 32, and 10%
// behind at 64.
var heapMaxK = 32

// maxPackedIndex bounds the reference indices of the threshold selection:
// an entry packs an index in 31 bits. Larger indexes keep the heap.
const maxPackedIndex = 1<<31 - 1

// An entry of the threshold selection packs a key and a reference index
// into a uint64 whose unsigned order is the order (key, index) of the
// heap: the key's bits mapped to an order-preserving uint32 in the high
// half, the index shifted left by one below it, and in bit 0 whether the
// key was −0, which sorts as +0 (they compare equal) but is reported with
// its own sign.
const negZero = 1 << 31 // the bits of float32 −0

// pack returns the entry of key d (not NaN) and reference id.
func pack(d float32, id int) uint64 {
	u := math.Float32bits(d)
	var z uint64
	if u == negZero {
		u, z = 0, 1
	}
	// Non-negative keys set the sign bit; negative ones flip every bit.
	u ^= uint32(int32(u)>>31) | negZero
	return uint64(u)<<32 | uint64(id)<<1 | z
}

// packL2 is pack for a key d ≥ +0, such as every L2 distance: (‖q‖² +
// ‖r‖²) + (−2q·r) is never −0, as the norms are not, and a negative sum is
// clamped to +0. Not needing pack's sign tests, it sets the sign bit.
func packL2(d float32, id int) uint64 {
	return uint64(math.Float32bits(d)|negZero)<<32 | uint64(id)<<1
}

// unpack returns the key and reference index of entry p.
func unpack(p uint64) (float32, int) {
	u := uint32(p >> 32)
	if p&1 != 0 {
		u = negZero
	} else {
		u ^= uint32(int32(^u)>>31) | negZero
	}
	return math.Float32frombits(u), int(p>>1) & maxPackedIndex
}

// bufSize is the capacity of a query's buffer in the threshold selection
// of k of n references: room for 3k entries beyond the k kept (fewer
// shrinks), but no more than max(k, 8192), so that the scratch stays
// within about twice the result's size for large k.
func bufSize(k, n int) int { return min(n, k+max(k, min(3*k, 8192))) }

// topk is a worker's state of the threshold selection for one query block:
// each query i has the buffer buf[i*size:(i+1)*size], of which the first
// cnt[i] entries are in use, the bound bound[i], and whether its last scan
// was dense; tmp is the scratch of the final sort.
type topk struct {
	size  int
	buf   []uint64
	tmp   []uint64
	cnt   []int
	bound []float32
	dense []bool
}

// newTopk returns the state for blocks of up to mq queries selecting k of n
// references.
func newTopk(mq, k, n int) *topk {
	size := bufSize(k, n)
	return &topk{size: size, buf: make([]uint64, mq*size), tmp: make([]uint64, size), cnt: make([]int, mq), bound: make([]float32, mq), dense: make([]bool, mq)}
}

// reset empties the buffers of the first mq queries.
func (t *topk) reset(mq int) {
	clear(t.cnt[:mq])
	for i := range t.bound[:mq] {
		t.dense[i] = true
		t.bound[i] = float32(math.Inf(1))
	}
}

// The buffer scans that the search uses: the portable ones below, or
// vector versions set at start-up by the goexperiment.simd build on a CPU
// with AVX2, which admit the same entries in the same order.
var (
	bufL2Fn   = bufL2
	bufKeysFn = bufKeys
)

// bufL2 offers the references r0, r0+1, … with products row (−2q·r) and
// squared norms rnorm to the buffer buf (cnt entries in use, bound bound)
// of a query with squared norm qn that keeps k neighbours; it returns the
// new count and bound, and how many entries were admitted. The distance is
// that of scanL2. When many references pass the bound (dense, as early in
// a search) it runs without branches on the data, else (sparse) with a
// branch that is seldom taken; both admit the same entries.
func bufL2(row, rnorm []float32, qn float32, r0 int, buf []uint64, cnt int, bound float32, k int, dense bool) (int, float32, int) {
	rnorm = rnorm[:len(row)]
	admitted := 0
	if dense {
		for j, c := range row {
			// Every entry is written at buf[cnt] (cnt < len(buf) here)
			// and counted if it passes the bound. Clamping first admits
			// the same entries as scanL2: a negative d passes there iff
			// 0 passes.
			d := qn + rnorm[j] + c
			if d < 0 {
				d = 0
			}
			buf[cnt] = packL2(d, r0+j)
			if d < bound {
				cnt++
				admitted++
			}
			if cnt == len(buf) {
				cnt, bound = shrink(buf, k)
			}
		}
		return cnt, bound, admitted
	}
	for j, c := range row {
		d := qn + rnorm[j] + c
		if d < bound {
			if d < 0 {
				d = 0
				if !(d < bound) {
					continue
				}
			}
			buf[cnt] = packL2(d, r0+j)
			cnt++
			admitted++
			if cnt == len(buf) {
				cnt, bound = shrink(buf, k)
			}
		}
	}
	return cnt, bound, admitted
}

// bufKeys offers the references r0, r0+1, … with keys row to the buffer,
// as bufL2.
func bufKeys(row []float32, r0 int, buf []uint64, cnt int, bound float32, k int, dense bool) (int, float32, int) {
	admitted := 0
	if dense {
		for j, d := range row {
			buf[cnt] = pack(d, r0+j)
			if d < bound {
				cnt++
				admitted++
			}
			if cnt == len(buf) {
				cnt, bound = shrink(buf, k)
			}
		}
		return cnt, bound, admitted
	}
	for j, d := range row {
		if d < bound {
			buf[cnt] = pack(d, r0+j)
			cnt++
			admitted++
			if cnt == len(buf) {
				cnt, bound = shrink(buf, k)
			}
		}
	}
	return cnt, bound, admitted
}

// dense reports whether a scan that admitted that many of n references
// was dense: whether the next should run without branches.
func dense(admitted, n int) bool { return 8*admitted > n }

// shrink frees room in the full buffer buf of a query keeping k entries
// and returns the new count and bound. It partitions buf around a pivot
// key drawn from a sample of the entries, a little above the k-th
// smallest expected: when at least k entries have a smaller key, they
// alone can hold the k best (an entry whose key is not below the pivot's
// ranks after them, and so does any later reference with such a key), so
// they are kept and the pivot's key becomes the bound. Otherwise, or when
// the partition frees less than a quarter of the buffer, it selects the k
// smallest exactly and the bound is the k-th key.
func shrink(buf []uint64, k int) (int, float32) {
	n := len(buf)
	if n >= 256 {
		var buffer [maxSample]uint64
		sample := buffer[:min(maxSample, n/16)]
		m := len(sample)
		for i := range sample {
			sample[i] = buf[(2*i+1)*n/(2*m)]
		}
		// The sample's r-th smallest has about (r+1)/(m+1) of the
		// entries below it; aim two standard deviations above k/n.
		f := float64(k) / float64(n)
		q := f + 2*math.Sqrt(f*(1-f)/float64(m))
		r := min(m-1, int(q*float64(m+1)))
		selectSmallest(sample, r+1)
		p := uint32(sample[r] >> 32)
		// Lomuto's partition by key without branches on the data:
		// buf[:c] has keys below p's, buf[c:] the others.
		c := 0
		for j, v := range buf {
			buf[j] = buf[c]
			buf[c] = v
			if uint32(v>>32) < p {
				c++
			}
		}
		if c >= k && c <= n-n/4 {
			d, _ := unpack(uint64(p) << 32)
			return c, d
		}
		if c < k {
			selectSmallest(buf[c:], k-c)
		} else {
			selectSmallest(buf[:c], k)
		}
	} else {
		selectSmallest(buf, k)
	}
	d, _ := unpack(buf[k-1])
	return k, d
}

// maxSample bounds the size of shrink's sample: a sixteenth of the buffer.
const maxSample = 127

// finish writes the k best of the entries buf, nearest first, to keys and
// idx (of length k), padding with (+Inf, math.MaxInt) when there are fewer;
// tmp is scratch of len(buf) entries or more.
func finish(buf, tmp []uint64, keys []float32, idx []int) {
	k := len(keys)
	sortEntries(buf, tmp)
	buf = buf[:min(k, len(buf))]
	for j, p := range buf {
		keys[j], idx[j] = unpack(p)
	}
	for j := len(buf); j < k; j++ {
		keys[j], idx[j] = float32(math.Inf(1)), math.MaxInt
	}
}

// selectSmallest reorders a so that its k smallest entries (0 < k ≤
// len(a)) come first, in no particular order: a quickselect with the
// median of three, which falls back to sorting the part left after
// 2·log₂ len(a) rounds, so it takes O(len(a) log len(a)) at worst.
func selectSmallest(a []uint64, k int) {
	lo, hi := 0, len(a) // the k-th smallest is in a[lo:hi]
	for budget := 2 * bits.Len(uint(len(a))); hi-lo > 16; budget-- {
		if budget == 0 {
			slices.Sort(a[lo:hi])
			return
		}
		// Median of three as the pivot, then a Lomuto partition: keys are
		// distinct (the index is part of them).
		m := lo + (hi-lo)/2
		x, y, z := a[lo], a[m], a[hi-1]
		p := max(min(x, y), min(max(x, y), z))
		// Lomuto's partition without branches on the data.
		i := lo
		for j := lo; j < hi; j++ {
			v := a[j]
			a[j] = a[i]
			a[i] = v
			if v < p {
				i++
			}
		}
		// a[lo:i] < p ≤ a[i:hi]; put p at i.
		for j := i; j < hi; j++ {
			if a[j] == p {
				a[i], a[j] = a[j], a[i]
				break
			}
		}
		switch {
		case k <= i:
			hi = i
		case k == i+1:
			return
		default:
			lo = i + 1
		}
	}
	slices.Sort(a[lo:hi])
}

// sortEntries sorts the entries a in increasing order with tmp as scratch
// (at least len(a) entries): a least-significant-digit radix sort on bytes
// that skips the bytes all entries share (the unused high bits of the
// index, usually the sign and exponent of the key).
func sortEntries(a, tmp []uint64) {
	if len(a) <= 64 {
		slices.Sort(a)
		return
	}
	var hist [8][256]uint32
	for _, v := range a {
		hist[0][byte(v)]++
		hist[1][byte(v>>8)]++
		hist[2][byte(v>>16)]++
		hist[3][byte(v>>24)]++
		hist[4][byte(v>>32)]++
		hist[5][byte(v>>40)]++
		hist[6][byte(v>>48)]++
		hist[7][byte(v>>56)]++
	}
	src, dst := a, tmp[:len(a)]
	for d := range 8 {
		h, shift := &hist[d], uint(8*d)
		if int(h[byte(src[0]>>shift)]) == len(a) {
			continue
		}
		var sum uint32
		for i, c := range h {
			h[i] = sum
			sum += c
		}
		for _, v := range src {
			b := byte(v >> shift)
			dst[h[b]] = v
			h[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
}
