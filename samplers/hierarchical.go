package samplers

import (
	"math/rand/v2"
	"slices"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
)

// AllSamples, as Hierarchical.SamplesPerClass, takes every sample of a
// chosen class (PML's samples_per_class="all").
const AllSamples = -1

// Hierarchical mirrors PML's HierarchicalSampler, a batch sampler for
// two-level labels. Each batch is built for one combination of
// SuperClassesPerBatch distinct super labels; every combination gets
// BatchesPerSuperTuple batches. For each super label of the combination,
// a sub-batch of BatchSize/SuperClassesPerBatch indices is filled by
// walking its classes in random order and adding SamplesPerClass samples
// of each (PML's c_f.safe_random_choice: without replacement when the
// class is large enough, with replacement otherwise), skipping a class
// whose samples would overflow the sub-batch, until the sub-batch is full
// or the classes run out. The sub-batches are joined and shuffled, and so
// is the list of batches.
//
// A batch is shorter than BatchSize when a super label has too few
// classes to fill its sub-batch, and can even be empty with AllSamples;
// PML yields such batches as they are, and so does EpochBatches.
//
// Every field can be changed between epochs; settings are checked by
// NumBatches and EpochBatches.
//
// OuterLabel 0 (with InnerLabel 1) is a legal setting, so the zero value
// cannot mean PML's defaults: make a Hierarchical with NewHierarchical
// and set its fields; EpochBatches refuses a zero value or a literal with
// an error wrapping gometric.ErrSetting (and NumBatches reports 0). A
// Hierarchical is safe for concurrent use as long as its fields are not
// changed meanwhile (with Sampler's rule for rng).
type Hierarchical struct {
	// Labels are the two columns of PML's N×2 labels array: one label per
	// dataset index in each, e.g. {fine, super}.
	Labels [2][]int
	// BatchSize is PML's batch_size, a multiple of SuperClassesPerBatch.
	BatchSize int
	// SamplesPerClass is PML's samples_per_class: a positive divisor of
	// BatchSize/SuperClassesPerBatch, or AllSamples.
	SamplesPerClass int
	// BatchesPerSuperTuple is PML's batches_per_super_tuple (default 4).
	BatchesPerSuperTuple int
	// SuperClassesPerBatch is PML's super_classes_per_batch (default 2).
	SuperClassesPerBatch int
	// InnerLabel is the column of Labels holding the classes (PML's
	// inner_label, default 0).
	InnerLabel int
	// OuterLabel is the column of Labels holding the super labels (PML's
	// outer_label, default 1).
	OuterLabel int

	made bool
}

// NewHierarchical returns a Hierarchical sampler over Labels {fine, super}
// with PML's defaults: BatchesPerSuperTuple 4, SuperClassesPerBatch 2,
// InnerLabel 0 (fine), OuterLabel 1 (super).
func NewHierarchical(fine, super []int, batchSize, samplesPerClass int) *Hierarchical {
	return &Hierarchical{
		Labels:               [2][]int{fine, super},
		BatchSize:            batchSize,
		SamplesPerClass:      samplesPerClass,
		BatchesPerSuperTuple: 4,
		SuperClassesPerBatch: 2,
		InnerLabel:           0,
		OuterLabel:           1,
		made:                 true,
	}
}

const compHierarchical = "samplers.Hierarchical"

type hPlan struct {
	// supers[s] holds, for the s-th distinct super label (ascending), the
	// dataset indices of each of its classes (first appearance first).
	supers   [][][]int
	subLen   int
	nBatches int
}

func (h *Hierarchical) plan() (hPlan, error) {
	var p hPlan
	const c = compHierarchical
	if h == nil {
		return p, nilReceiver(c)
	}
	if !h.made {
		return p, check.Settingf(c, "not made by NewHierarchical: the zero value is not PML's defaults (batches_per_super_tuple 4, super_classes_per_batch 2, inner_label 0, outer_label 1); use NewHierarchical(fine, super, batchSize, samplesPerClass) and set fields")
	}
	for i, col := range []int{h.InnerLabel, h.OuterLabel} {
		if col != 0 && col != 1 {
			return p, check.Settingf(c, "%s = %d is not a column of the N×2 labels (0 or 1)", [2]string{"inner_label", "outer_label"}[i], col)
		}
	}
	inner, outer := h.Labels[h.InnerLabel], h.Labels[h.OuterLabel]
	if err := checkLabels(c, "labels", h.Labels[0]); err != nil {
		return p, err
	}
	if err := check.Labels(c, "labels in column 1", h.Labels[1], len(h.Labels[0])); err != nil {
		return p, err
	}
	if h.BatchSize <= 0 {
		return p, check.Settingf(c, "batch_size = %d is not positive", h.BatchSize)
	}
	k := h.SuperClassesPerBatch
	if k <= 0 {
		return p, check.Settingf(c, "super_classes_per_batch = %d is not positive", k)
	}
	if h.BatchSize%k != 0 {
		return p, check.Settingf(c, "batch_size (%d) is not a multiple of super_classes_per_batch (%d)", h.BatchSize, k)
	}
	p.subLen = h.BatchSize / k
	spc := h.SamplesPerClass
	if spc != AllSamples {
		if spc <= 0 {
			return p, check.Settingf(c, "samples_per_class = %d is neither positive nor AllSamples", spc)
		}
		if p.subLen%spc != 0 {
			return p, check.Settingf(c, "batch_size/super_classes_per_batch (%d) is not a multiple of samples_per_class (%d)", p.subLen, spc)
		}
	}
	if h.BatchesPerSuperTuple <= 0 {
		return p, check.Settingf(c, "batches_per_super_tuple = %d is not positive", h.BatchesPerSuperTuple)
	}

	superPos := make(map[int]int)
	var superLabels []int
	for _, s := range outer {
		if _, ok := superPos[s]; !ok {
			superPos[s] = 0
			superLabels = append(superLabels, s)
		}
	}
	slices.Sort(superLabels)
	for i, s := range superLabels {
		superPos[s] = i
	}
	if k > len(superLabels) {
		return p, check.Settingf(c, "super_classes_per_batch (%d) exceeds the number of super labels (%d)", k, len(superLabels))
	}
	nCombos, ok := binomial(len(superLabels), k)
	if ok {
		p.nBatches, ok = mul(nCombos, h.BatchesPerSuperTuple)
	}
	if !ok {
		return p, check.Settingf(c, "C(%d super labels, %d) × batches_per_super_tuple (%d) batches exceed the limit of %d", len(superLabels), k, h.BatchesPerSuperTuple, maxEpochLen)
	}
	if _, ok := mul(p.nBatches, h.BatchSize); !ok {
		return p, check.Settingf(c, "%d batches of %d exceed the limit of %d indices", p.nBatches, h.BatchSize, maxEpochLen)
	}

	p.supers = make([][][]int, len(superLabels))
	classPos := make([]map[int]int, len(superLabels))
	for i := range classPos {
		classPos[i] = make(map[int]int)
	}
	for idx := range outer {
		s := superPos[outer[idx]]
		cl, ok := classPos[s][inner[idx]]
		if !ok {
			cl = len(p.supers[s])
			classPos[s][inner[idx]] = cl
			p.supers[s] = append(p.supers[s], nil)
		}
		p.supers[s][cl] = append(p.supers[s][cl], idx)
	}
	return p, nil
}

// binomial returns C(n, k) and whether it stays within maxEpochLen.
func binomial(n, k int) (int, bool) {
	k = min(k, n-k)
	r := 1
	for i := 1; i <= k; i++ {
		// r·(n−k+i)/i is exact at every step.
		if r > maxEpochLen/(n-k+i) {
			return 0, false
		}
		r = r * (n - k + i) / i
	}
	return r, true
}

// combinations lists the k-subsets of {0..n−1} in lexicographic order
// (itertools.combinations).
func combinations(n, k int) [][]int {
	var out [][]int
	eachCombination(n, k, func(c []int) { out = append(out, append([]int(nil), c...)) })
	return out
}

// eachCombination calls f with each k-subset of {0..n−1} in lexicographic
// order (itertools.combinations), in one buffer that f must not keep: the
// C(n, k) subsets are never held at once.
func eachCombination(n, k int, f func([]int)) {
	cur := make([]int, k)
	for i := range cur {
		cur[i] = i
	}
	for {
		f(cur)
		i := k - 1
		for i >= 0 && cur[i] == n-k+i {
			i--
		}
		if i < 0 {
			return
		}
		cur[i]++
		for j := i + 1; j < k; j++ {
			cur[j] = cur[j-1] + 1
		}
	}
}

// NumBatches implements BatchSampler: PML's __len__, the number of
// combinations of SuperClassesPerBatch super labels times
// BatchesPerSuperTuple, or 0 when the settings are invalid.
func (h *Hierarchical) NumBatches() int {
	p, err := h.plan()
	if err != nil {
		return 0
	}
	return p.nBatches
}

// EpochBatches implements BatchSampler: the batches of one epoch (PML's
// reshuffle), drawn with rng (nil: the process-wide generator).
func (h *Hierarchical) EpochBatches(rng *rand.Rand) ([][]int, error) {
	p, err := h.plan()
	if err != nil {
		return nil, err
	}
	rng = randsrc.Or(rng)
	// Scratch copies reordered in place by safeChoice.
	pools := make([][][]int, len(p.supers))
	for s, classes := range p.supers {
		pools[s] = make([][]int, len(classes))
		for c, mem := range classes {
			pools[s][c] = append([]int(nil), mem...)
		}
	}
	batches := make([][]int, 0, p.nBatches)
	var order []int
	eachCombination(len(p.supers), h.SuperClassesPerBatch, func(combo []int) {
		for range h.BatchesPerSuperTuple {
			batch := make([]int, 0, h.BatchSize)
			for _, s := range combo {
				classes := pools[s]
				order = order[:0]
				for c := range classes {
					order = append(order, c)
				}
				shuffle(rng, order)
				filled := 0
				for _, c := range order {
					if filled >= p.subLen {
						break
					}
					spc := h.SamplesPerClass
					if spc == AllSamples {
						spc = len(classes[c])
					}
					if filled+spc > p.subLen {
						continue
					}
					batch = safeChoice(rng, classes[c], spc, batch)
					filled += spc
				}
			}
			shuffle(rng, batch)
			batches = append(batches, batch)
		}
	})
	shuffle(rng, batches)
	return batches, nil
}
