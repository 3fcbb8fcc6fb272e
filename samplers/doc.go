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
// state between epochs: the same seed gives the same epoch, whatever
// GOMAXPROCS is and however many epochs were drawn before. The draws
// cannot reproduce numpy's random stream; the sampling structure and the
// distributions are PML's (c_f.safe_random_choice: without replacement
// when a pool is large enough, with replacement otherwise).
//
// MPerClass adds an option PML lacks, CoverAll: an epoch that is one pass
// over the dataset in which every index appears at least once, while every
// batch keeps BatchSize/M distinct classes × M samples (see MPerClass).
//
// Settings are exported fields with PML's defaults set by the New
// functions; they are checked whenever an epoch is drawn. Invalid settings
// and inputs give errors naming the sampler ("samplers.MPerClass: ...")
// that wrap gometric.ErrSetting, ErrLabels, ErrShape or ErrUnsupported;
// nothing panics on user input. An epoch is limited to 2^30 indices.
package samplers
