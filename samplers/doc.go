// Package samplers mirrors PML's samplers (pytorch_metric_learning.samplers)
// as index streams that a Go training loop pulls batches from, without a
// torch DataLoader.
//
// A Sampler yields the dataset indices of one epoch, in order, as PML's
// __iter__ does, and Len reports how many (PML's __len__):
//
//	type Sampler interface {
//		Len() int
//		Epoch(rng *rand.Rand) ([]int, error)
//	}
//
// Batches cuts one epoch into consecutive batches, as a DataLoader with
// that sampler and drop_last=False would. MPerClass (MPerClassSampler),
// FixedSetOfTriplets and TuplesToWeights (TuplesToWeightsSampler) are
// Samplers. PML's HierarchicalSampler is a batch sampler (its __iter__
// yields whole batches and __len__ counts them), so Hierarchical is a
// BatchSampler, with NumBatches and EpochBatches.
//
// Labels are []int, one per dataset index; classes are told apart by
// value. Every random choice comes from the *math/rand/v2.Rand passed to
// Epoch, EpochBatches or NewFixedSetOfTriplets, and the samplers keep no
// state between epochs: a seeded *rand.Rand gives the same epoch for the
// same seed, whatever GOMAXPROCS is and however many epochs were drawn
// before. A nil *rand.Rand means math/rand/v2's process-wide generator: a
// fresh epoch at every call, as PML draws from numpy's global generator.
// The draws cannot reproduce numpy's random stream; the sampling structure
// and the distributions are PML's (c_f.safe_random_choice: without
// replacement when a pool is large enough, with replacement otherwise).
//
// The samplers are safe for concurrent use as long as their fields are
// not changed meanwhile: epochs may be drawn from several goroutines with
// a nil rng or one seeded *rand.Rand per goroutine (a *rand.Rand is not
// safe for concurrent use).
//
// MPerClass adds an option PML lacks, CoverAll: an epoch that is one pass
// over the dataset in which every index appears at least once, while every
// batch keeps BatchSize/M distinct classes × M samples (see MPerClass).
//
// Settings are exported fields with PML's defaults set by the New
// functions; they are checked whenever an epoch is drawn. A sampler needs
// its labels, so no zero value is usable: each is refused with an error
// wrapping gometric.ErrSetting that names the constructor (Hierarchical
// and TuplesToWeights refuse any value their constructor did not make,
// since 0 and false are legal settings of theirs; an MPerClass literal
// with Labels and M set means PML's defaults for the rest). A method
// called on a nil sampler returns an error (or 0 for Len and NumBatches). Invalid settings
// and inputs give errors naming the sampler ("samplers.MPerClass: ...")
// that wrap gometric.ErrSetting, ErrLabels, ErrShape or ErrUnsupported;
// nothing panics on user input. An epoch is limited to 2^24 indices
// (16,777,216): a setting that asks for more is an ErrSetting error naming
// it and the limit.
package samplers
