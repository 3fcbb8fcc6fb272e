package samplers

import (
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// Sampler is an index stream that yields the dataset indices of one epoch,
// as PML's torch Sampler subclasses do through __iter__ and __len__.
//
// Len is the number of indices that Epoch returns; it is 0 when the
// sampler's settings are invalid (Epoch then returns the error). Epoch
// draws every random choice from rng: a seeded *rand.Rand gives the same
// epoch for the same seed; nil means math/rand/v2's process-wide
// generator, a fresh epoch at every call (as PML draws from numpy's
// global generator).
//
// This package's samplers keep no state between epochs: each is safe for
// concurrent use as long as its fields are not changed meanwhile and no
// seeded *rand.Rand is shared by concurrent calls (nil is safe to share).
type Sampler interface {
	Len() int
	Epoch(rng *rand.Rand) ([]int, error)
}

// BatchSampler yields whole batches, as PML's batch samplers (used as a
// DataLoader's batch_sampler) do: NumBatches mirrors __len__ and
// EpochBatches one pass of __iter__. NumBatches is 0 when the settings are
// invalid (EpochBatches then returns the error). rng follows Sampler's
// rule (nil: the process-wide generator), and so does concurrent use.
type BatchSampler interface {
	NumBatches() int
	EpochBatches(rng *rand.Rand) ([][]int, error)
}

// maxEpochLen bounds the number of indices of one epoch (2^24,
// 16,777,216 indices, 128 MiB), so that an absurd setting (a length, a
// count of triplets, a batch size, a subset size: an epoch's length
// follows settings, not the dataset) is an error instead of an allocation
// that kills the process.
const maxEpochLen = 1 << 24

// Batches draws one epoch of s with rng and cuts it into consecutive
// batches of batchSize indices, as a torch DataLoader with this sampler
// and drop_last=False does: the last batch is shorter when Len() is not a
// multiple of batchSize. Pass an MPerClass sampler its own BatchSize so the
// batches line up with the classes it groups. A nil rng means the
// process-wide generator (see Sampler).
func Batches(s Sampler, rng *rand.Rand, batchSize int) ([][]int, error) {
	const comp = "samplers.Batches"
	if s == nil {
		return nil, check.Settingf(comp, "sampler is nil")
	}
	if batchSize <= 0 {
		return nil, check.Settingf(comp, "batch size %d is not positive", batchSize)
	}
	idx, err := s.Epoch(rng)
	if err != nil {
		return nil, err
	}
	nb := len(idx) / batchSize // not (len+batchSize−1)/batchSize: batchSize may be math.MaxInt
	if len(idx)%batchSize != 0 {
		nb++
	}
	out := make([][]int, 0, nb)
	for i := 0; i < len(idx); {
		j := i + min(batchSize, len(idx)-i) // no i+batchSize: it may overflow
		out = append(out, idx[i:j:j])
		i = j
	}
	return out, nil
}

// classIndex groups dataset indices by label, classes in order of first
// appearance (PML's get_labels_to_indices over a defaultdict).
type classIndex struct {
	labels  []int   // distinct labels, first appearance first
	members [][]int // members[c]: dataset indices of labels[c], ascending
}

func groupByLabel(labels []int) classIndex {
	pos := make(map[int]int)
	var ci classIndex
	for i, l := range labels {
		c, ok := pos[l]
		if !ok {
			c = len(ci.labels)
			pos[l] = c
			ci.labels = append(ci.labels, l)
			ci.members = append(ci.members, nil)
		}
		ci.members[c] = append(ci.members[c], i)
	}
	return ci
}

// safeChoice appends size elements of pool to dst, PML's
// c_f.safe_random_choice: a uniform sample without replacement when pool
// has at least size elements, otherwise size uniform draws with
// replacement. pool is reordered in place (a partial Fisher–Yates
// shuffle), which keeps later samples uniform.
func safeChoice(rng *rand.Rand, pool []int, size int, dst []int) []int {
	n := len(pool)
	if n < size {
		for range size {
			dst = append(dst, pool[rng.IntN(n)])
		}
		return dst
	}
	for k := range size {
		j := k + rng.IntN(n-k)
		pool[k], pool[j] = pool[j], pool[k]
		dst = append(dst, pool[k])
	}
	return dst
}

// shuffle permutes xs uniformly.
func shuffle[T any](rng *rand.Rand, xs []T) {
	rng.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
}

// mul returns a·b and whether it stays within maxEpochLen (a, b ≥ 0).
func mul(a, b int) (int, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	if a > maxEpochLen/b {
		return 0, false
	}
	return a * b, true
}

// nilReceiver is the error of a method called on a nil sampler.
func nilReceiver(comp string) error {
	return check.Settingf(comp, "nil receiver")
}

func checkLabels(comp, what string, labels []int) error {
	if len(labels) == 0 {
		return check.Errorf(comp, gometric.ErrLabels, "%s is empty", what)
	}
	return nil
}
