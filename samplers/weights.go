package samplers

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// ModelFunc embeds the dataset samples at the given indices: row i of the
// result is the embedding of dataset index idx[i]. It plays the part of
// PML's model run by a BaseTester over the dataset. TuplesToWeights calls
// it on the goroutine that draws the epoch; it must be safe for concurrent
// use only if epochs are drawn concurrently.
type ModelFunc func(idx []int) (*mat.Dense, error)

// MinerFunc mines tuples from embeddings and their labels, as a PML miner
// called as miner(embeddings, labels) does; indices refer to the rows of
// emb. As for ModelFunc, it must be safe for concurrent use only if epochs
// are drawn concurrently.
type MinerFunc func(emb *mat.Dense, labels []int) (tuples.Tuples, error)

// TuplesToWeights mirrors PML's TuplesToWeightsSampler: every epoch it
// embeds the dataset (or a random subset of SubsetSize indices), mines
// tuples from the embeddings, turns them into per-sample weights with
// PML's convert_to_weights (tuples.Weights: how often each sample occurs
// in the tuples, divided by the largest count; all ones when the miner
// finds nothing) and draws Len() indices with replacement with
// probability proportional to the weights (torch's WeightedRandomSampler
// with replacement=True). Samples outside the subset get weight 0 and are
// never drawn.
//
// The subset is drawn by PML's c_f.safe_random_choice: without
// replacement when SubsetSize does not exceed the dataset, with
// replacement otherwise; an index drawn more than once takes the weight
// of its last occurrence, as torch's index assignment does on the CPU.
// As PML's BaseTester does by default, the embeddings are L2-normalised
// before mining when NormalizeEmbeddings is set. The weights are float64
// (PML computes them in float32).
//
// Every field can be changed between epochs; settings are checked by Len
// and Epoch.
//
// NormalizeEmbeddings defaults to true, and false is a legal setting, so
// the zero value cannot mean PML's defaults: make a TuplesToWeights with
// NewTuplesToWeights and set its fields; Epoch refuses a zero value or a
// literal with an error wrapping gometric.ErrSetting (and Len reports 0).
// A TuplesToWeights keeps no state between epochs: it is safe for
// concurrent use as long as its fields are not changed meanwhile and
// Model and Miner are safe for concurrent use (with Sampler's rule for
// rng).
type TuplesToWeights struct {
	// Model embeds dataset samples.
	Model ModelFunc
	// Miner mines tuples from the embeddings.
	Miner MinerFunc
	// Labels holds one label per dataset index; its length is the dataset
	// size.
	Labels []int
	// SubsetSize is PML's subset_size; 0 stands for None (the whole
	// dataset).
	SubsetSize int
	// NormalizeEmbeddings L2-normalises each embedding before mining (PML
	// BaseTester's normalize_embeddings, default true).
	NormalizeEmbeddings bool

	made bool
}

// NewTuplesToWeights returns a TuplesToWeights sampler with PML's
// defaults: SubsetSize 0 (None), NormalizeEmbeddings true.
func NewTuplesToWeights(model ModelFunc, miner MinerFunc, labels []int) *TuplesToWeights {
	return &TuplesToWeights{Model: model, Miner: miner, Labels: labels, NormalizeEmbeddings: true, made: true}
}

const compWeights = "samplers.TuplesToWeights"

func (s *TuplesToWeights) length() (int, error) {
	if s == nil {
		return 0, nilReceiver(compWeights)
	}
	if !s.made {
		return 0, check.Settingf(compWeights, "not made by NewTuplesToWeights: the zero value is not PML's defaults (subset_size None, normalised embeddings); use NewTuplesToWeights(model, miner, labels) and set fields")
	}
	if err := checkLabels(compWeights, "labels", s.Labels); err != nil {
		return 0, err
	}
	if s.Model == nil {
		return 0, check.Settingf(compWeights, "model is nil")
	}
	if s.Miner == nil {
		return 0, check.Settingf(compWeights, "miner is nil")
	}
	if s.SubsetSize < 0 {
		return 0, check.Settingf(compWeights, "subset_size = %d is negative (use 0 for None)", s.SubsetSize)
	}
	n := len(s.Labels)
	if s.SubsetSize > 0 {
		n = s.SubsetSize
	}
	if n > maxEpochLen {
		return 0, check.Settingf(compWeights, "epoch of %d indices exceeds the limit of %d", n, maxEpochLen)
	}
	return n, nil
}

// Len implements Sampler: SubsetSize when positive, else the dataset size
// (PML's __len__); 0 when the settings are invalid.
func (s *TuplesToWeights) Len() int {
	n, err := s.length()
	if err != nil {
		return 0
	}
	return n
}

// Epoch implements Sampler: Len() indices drawn with replacement by the
// weights of this epoch's mined tuples, with rng (nil: the process-wide
// generator).
func (s *TuplesToWeights) Epoch(rng *rand.Rand) ([]int, error) {
	idx, _, err := s.EpochWithWeights(rng)
	return idx, err
}

// EpochWithWeights is Epoch that also returns the weights it sampled by,
// one per dataset index (PML's self.weights after __iter__).
func (s *TuplesToWeights) EpochWithWeights(rng *rand.Rand) (indices []int, weights []float64, err error) {
	length, err := s.length()
	if err != nil {
		return nil, nil, err
	}
	rng = randsrc.Or(rng)
	n := len(s.Labels)
	var subset []int
	if s.SubsetSize > 0 {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		subset = safeChoice(rng, all, s.SubsetSize, make([]int, 0, s.SubsetSize))
	} else {
		subset = make([]int, n)
		for i := range subset {
			subset[i] = i
		}
	}
	emb, err := s.Model(append([]int(nil), subset...))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: model: %w", compWeights, err)
	}
	if err := check.Matrix(compWeights, "model output", emb); err != nil {
		return nil, nil, err
	}
	if r, _ := emb.Dims(); r != len(subset) {
		return nil, nil, check.Errorf(compWeights, gometric.ErrShape, "model returned %d rows for %d indices", r, len(subset))
	}
	if s.NormalizeEmbeddings {
		emb, _ = rownorm.Normalize(emb, 2)
	}
	sub := make([]int, len(subset))
	for i, j := range subset {
		sub[i] = s.Labels[j]
	}
	mined, err := s.Miner(emb, sub)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: miner: %w", compWeights, err)
	}
	w, err := tuples.Weights(mined, len(subset), false)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: mined tuples: %w", compWeights, err)
	}
	weights = make([]float64, n)
	for i, j := range subset {
		weights[j] = w[i]
	}
	cum := make([]float64, n)
	total := 0.0
	last := -1
	for i, v := range weights {
		total += v
		cum[i] = total
		if v > 0 {
			last = i
		}
	}
	if last < 0 {
		return nil, nil, check.Errorf(compWeights, gometric.ErrUnsupported, "every weight is zero")
	}
	indices = make([]int, length)
	for k := range indices {
		u := rng.Float64() * total
		i := sort.Search(n, func(i int) bool { return cum[i] > u })
		if i == n { // u rounded up to total
			i = last
		}
		indices[k] = i
	}
	return indices, weights, nil
}
