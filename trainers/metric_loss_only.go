package trainers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/utils/distributed"
	"gonum.org/v1/gonum/mat"
)

const name = "trainers.MetricLossOnly"

// seedStream is the second word of the PCG state of the sampler's
// generator: the pass over the sampler is added to it.
const seedStream = 0x747261696e657273 // "trainers"

// ErrStopTraining is the error a hook returns to stop training cleanly, as
// PML's end_of_iteration_hook or end_of_epoch_hook returning False does:
// Train then returns the epochs so far and a nil error.
var ErrStopTraining = errors.New("trainers: stop training")

// MetricLossOnly mirrors PML's trainers.MetricLossOnly: it trains an encoder
// with one metric loss and an optional tuple miner. Its fields are its
// settings (PML's constructor arguments); they are checked when Train
// starts. Every iteration goes through a losses.Objective, the same
// pipeline as a training loop of one's own.
//
// NewMetricLossOnly fills the required fields (Encoder, Optimizer,
// BatchSize, Loss, Dataset); the zero value has none of them, and Train
// refuses it (and a nil *MetricLossOnly) with an error wrapping
// gometric.ErrSetting. The other fields' zero values are PML's defaults.
// A MetricLossOnly is not safe for concurrent use: it holds the loss's
// buffers from one iteration to the next, so run one Train at a time.
type MetricLossOnly struct {
	// Encoder is the trunk (PML's models["trunk"]); without an Embedder
	// its output is the embedding.
	Encoder models.Encoder
	// Embedder, when not nil, maps the trunk's output to the embedding
	// (PML's models["embedder"]; nil is PML's default, Identity). It has
	// its own parameters and its own EmbedderOptimizer; its input size
	// must be the trunk's EmbeddingSize, and it must not be the trunk. An
	// MLP of two Sizes is torch's nn.Linear.
	Embedder models.InputGradStepper
	// EmbedderOptimizer updates the Embedder (PML's embedder_optimizer).
	// It is required when Embedder is set and not frozen; use an Optimizer
	// of its own (one Optimizer cannot step two models).
	EmbedderOptimizer *models.Optimizer
	// Loss is the metric loss (PML's loss_funcs["metric_loss"]).
	Loss losses.Loss
	// Miner, when not nil, picks the pairs or triplets the loss uses
	// (PML's mining_funcs["tuple_miner"]).
	Miner miners.Miner
	// Dataset is the training set (PML's dataset).
	Dataset datasets.Dataset
	// Optimizer updates the trunk (PML's trunk_optimizer). It is required
	// unless FreezeThese holds "trunk".
	Optimizer *models.Optimizer
	// LossOptimizer updates the loss's learnable parameters (PML's
	// metric_loss_optimizer), through losses.Objective.StepParams. It is
	// required when Loss implements losses.Learnable with at least one
	// parameter, and ignored otherwise. Use an Optimizer of its own: one
	// Optimizer cannot step both the encoder and the loss.
	LossOptimizer *models.Optimizer

	// Sampler yields the dataset indices of a pass (PML's sampler), cut
	// into batches of BatchSize with the last incomplete batch dropped. A
	// nil Sampler and BatchSampler mean a random permutation of the
	// dataset at every pass (torch's shuffle=True).
	Sampler samplers.Sampler
	// BatchSampler yields whole batches (PML's sampler when it is a
	// torch BatchSampler, e.g. samplers.Hierarchical); BatchSize is then
	// not used. At most one of Sampler and BatchSampler may be set.
	BatchSampler samplers.BatchSampler
	// BatchSize is PML's batch_size, at least 1 unless BatchSampler is
	// set. With a samplers.MPerClass Sampler whose BatchSize is set, the
	// two must be equal (PML passes one batch_size to both).
	BatchSize int
	// IterationsPerEpoch is PML's iterations_per_epoch; 0 means the number
	// of batches in one pass over the sampler (PML's len(dataloader)).
	IterationsPerEpoch int

	// Seed seeds the sampler's random draws (see the package doc).
	Seed uint64

	// LossWeights multiplies each loss by its weight before the
	// gradients are taken (PML's loss_weights); MetricLossOnly's one loss
	// is "metric_loss". A missing name weighs 1 (PML's default); another
	// name, or a non-finite weight, is refused. The weight scales the
	// reported Loss, the gradient of every model and the loss's own
	// learnable parameters' gradients, as multiplying the torch loss does.
	LossWeights map[string]float64
	// FreezeThese names the roles whose parameters are not updated (PML's
	// freeze_these): "trunk", "embedder", "metric_loss". A frozen trunk is
	// only run forward (Embed); a frozen embedder still passes the
	// gradient through to the trunk.
	FreezeThese []string
	// GradientClippers run in order after the backward pass and before the
	// optimizers step (PML's gradient_clippers), e.g.
	//
	//	func() error { _, err := models.ClipGradNorm(trunk.Params(), 10, 2); return err }
	//
	// An error stops training with that error.
	GradientClippers []func() error
	// LRSchedulersByIteration are stepped after every iteration (after
	// EndOfIterationHook) and LRSchedulersByEpoch after every complete
	// epoch (before EndOfEpochHook), as PML's lr_schedulers whose keys end
	// in "_scheduler_by_iteration" and "_scheduler_by_epoch". PML's
	// "_scheduler_by_plateau" (models.ReduceLROnPlateau) takes a
	// validation metric: step it in EndOfEpochHook after testing, as PML's
	// HookContainer does.
	LRSchedulersByIteration, LRSchedulersByEpoch []models.LRScheduler
	// SetMinLabelToZero relabels the batches' labels to 0..k−1 in the
	// order of the data set's sorted distinct labels (PML's
	// set_min_label_to_zero); LabelMapping returns the mapping.
	SetMinLabelToZero bool
	// LabelHierarchyLevel is PML's label_hierarchy_level: the level of
	// the data set's labels the losses and miners see. At 0 (PML's
	// default) they are Dataset.Labels(). Above 0 the data set must have
	// labels at several levels — the methods LabelLevels() int and
	// LabelsAt(level int) ([]int, error), as datasets.MultiLevel
	// (*datasets.ImageFiles; Stanford Online Products' super class is
	// level 1) — and a level it lacks, or a negative one, is refused. The
	// mapping of SetMinLabelToZero is built on that level's labels (PML's
	// LabelMapper maps each level). The sampler is the caller's, as in
	// PML: build it on LabelsAtLevel(Dataset, level) to sample by that
	// level. PML's "all" (every level at once, for losses taking 2-D
	// labels) is not supported: no loss here takes several levels.
	LabelHierarchyLevel int
	// SubsetBatchMiner, when not nil, is PML's
	// mining_funcs["subset_batch_miner"] (BaseTrainer.
	// maybe_do_batch_mining): every loaded batch is first embedded
	// without training (the trunk's Embed, then the Embedder's), the
	// function gets those N×E embeddings and the batch's labels (after
	// LabelHierarchyLevel and SetMinLabelToZero; read them, do not keep
	// or modify them) and returns the rows to train on, in the order to
	// use; the iteration then trains on those rows only
	// (IterationInfo.BatchSize counts them). The indices must be 1 to N
	// values in [0, N) (repeats allowed, as torch's data[idx]); otherwise,
	// or when the function fails, the iteration fails with an error
	// (gometric.ErrIndex for bad indices). PML 2.8.1 ships no subset batch
	// miner class; this role takes the caller's function.
	SubsetBatchMiner func(emb gometric.Matrix, labels []int) ([]int, error)

	// EndOfIterationHook, when not nil, runs after every iteration
	// (PML's end_of_iteration_hook). Returning ErrStopTraining (or an
	// error wrapping it) stops training cleanly, as PML's hook returning
	// False does; any other error stops it and Train returns that error.
	EndOfIterationHook func(t *MetricLossOnly, it IterationInfo) error
	// EndOfEpochHook, when not nil, runs after every complete epoch
	// (PML's end_of_epoch_hook: testing, checkpoints); its error is
	// treated as EndOfIterationHook's.
	EndOfEpochHook func(t *MetricLossOnly, ep EpochInfo) error

	// Progress, when not nil, receives a progress bar per epoch (PML's
	// tqdm bar) with the loss, the miner's counts and the speed.
	Progress io.Writer

	// Comm, when not nil and of more than one rank, trains data-parallel
	// over its ranks, as PML's scripts do with torch's
	// DistributedDataParallel: every rank runs Train with equal settings
	// and its own copy of the models; at the start the parameters of the
	// trunk, the embedder and the loss are broadcast from rank 0; the
	// sampler draws global batches of Size × BatchSize samples from Seed,
	// the same on every rank, and rank r trains on the r-th BatchSize of
	// each (a BatchSampler's batches are split in Size contiguous parts);
	// after every backward pass the trunk's and embedder's gradients are
	// averaged over the ranks by an all-reduce. Wrap Loss and Miner in
	// distributed.LossWrapper and distributed.MinerWrapper over the same
	// Comm (as PML's DistributedLossWrapper) for the loss of the global
	// batch: then the ranks' weights follow those of one process training
	// on the global batches. The hooks run on every rank (write
	// checkpoints and records on rank 0 only); a stop or an error of any
	// rank's hook stops every rank. A rank whose step fails makes every
	// rank fail at that step. What is not a parameter stays each rank's
	// own, as with DDP without SyncBatchNorm: a ResNet's BatchNorm
	// normalises by the rank's batch and keeps its own running statistics
	// (rank 0's are the ones checkpointed). The trunk and embedder are
	// averaged; a classifier or generator of another trainer is not
	// (use MetricLossOnly).
	Comm distributed.Communicator

	// obj is the loss pipeline of every iteration; it keeps the previous
	// result's gradient matrices for reuse (losses.Batch.Reuse).
	obj losses.Objective
	// scaled holds a weighted gradient.
	scaled []float32
	// core is the loop (Base) this trainer's settings run on.
	core Base
}

// NewMetricLossOnly returns a MetricLossOnly trainer with PML's required
// arguments — the encoder (models), its optimizer (optimizers), the batch
// size, the loss (loss_funcs) and the training set (dataset) — and PML's
// defaults otherwise: no miner, no sampler (shuffled passes), one pass per
// epoch, no hooks.
func NewMetricLossOnly(enc models.Encoder, opt *models.Optimizer, batchSize int, loss losses.Loss, dataset datasets.Dataset) *MetricLossOnly {
	return &MetricLossOnly{Encoder: enc, Optimizer: opt, BatchSize: batchSize, Loss: loss, Dataset: dataset}
}

// IterationInfo describes one training iteration, as an end-of-iteration
// hook sees it. It is a plain value, safe to keep after the hook returns
// and safe for concurrent reads.
type IterationInfo struct {
	// Epoch is the epoch (from 1), Iteration the iteration within it
	// (from 0) and GlobalIteration the iteration counted from the start
	// of epoch 1 (PML's get_global_iteration).
	Epoch, Iteration, GlobalIteration int
	// Loss is the loss of the batch (PML's losses["total_loss"]) and Parts
	// its sub-losses after reduction.
	Loss  float64
	Parts map[string]float64
	// Mined counts the miner's output (zero without a miner), as PML's
	// miners record num_pos_pairs, num_neg_pairs and num_triplets.
	Mined miners.Counts
	// BatchSize is the number of samples in the batch.
	BatchSize int
	// Duration is the wall time of the iteration, loading included.
	Duration time.Duration
}

// EpochInfo summarises one epoch. Train returns one for every epoch it
// started, the last one possibly incomplete (Iterations <
// IterationsPerEpoch) when training was stopped or cancelled. It is a plain
// value, safe for concurrent reads; the zero value describes no epoch.
type EpochInfo struct {
	// Epoch is the epoch number (from 1).
	Epoch int
	// Iterations is the number of iterations done, out of
	// IterationsPerEpoch.
	Iterations, IterationsPerEpoch int
	// LossMean is the mean loss of the epoch's iterations and LossLast
	// the loss of its last iteration; ZeroLossIterations counts the
	// iterations whose loss was 0 (nothing mined, or no violation).
	LossMean, LossLast float64
	ZeroLossIterations int
	// MeanPosPairs, MeanNegPairs and MeanTriplets are the miner's mean
	// counts per iteration (0 without a miner).
	MeanPosPairs, MeanNegPairs, MeanTriplets float64
	// Duration is the wall time of the epoch's iterations (the
	// end-of-epoch hook excluded).
	Duration time.Duration
}

// Complete reports whether every iteration of the epoch ran.
func (e EpochInfo) Complete() bool { return e.Iterations == e.IterationsPerEpoch }

// Train runs epochs startEpoch to numEpochs inclusive (PML's
// train(start_epoch, num_epochs)) and returns a summary of every epoch it
// started. It returns early: with a nil error when a hook returns
// ErrStopTraining; with the hook's error, wrapped, when a hook fails; with
// ctx.Err() when ctx is cancelled (checked before every iteration, so the
// encoder is never left half-updated); and with an error when a setting is
// invalid or an iteration fails (the encoder then keeps the weights of the
// last successful iteration). numEpochs < startEpoch trains nothing. The
// global iteration count numEpochs × iterations per epoch must fit an int
// (an ErrSetting error otherwise): to train until a hook stops, pass a
// large count such as 1 << 40, not math.MaxInt.
func (t *MetricLossOnly) Train(ctx context.Context, startEpoch, numEpochs int) ([]EpochInfo, error) {
	if t == nil {
		return nil, fmt.Errorf("%s.Train: nil receiver: %w", name, gometric.ErrSetting)
	}
	if ctx != nil && startEpoch >= 1 {
		if err := t.validate(); err != nil {
			return nil, err
		}
	}
	b := t.prepare(name)
	setHooks(b, t, t.EndOfIterationHook, t.EndOfEpochHook)
	return b.train(ctx, startEpoch, numEpochs)
}

// prepare sets up t.core, named component, to run MetricLossOnly's
// iteration: the metric loss through the Objective, then the loss's
// optimizer. The hooks are left nil.
func (t *MetricLossOnly) prepare(component string) *Base {
	b := t.base(component)
	t.obj.Loss, t.obj.Miner = t.Loss, t.Miner
	b.mining = t.Miner != nil
	b.CalculateLoss = t.metricLoss
	b.StepOptimizers = func() error {
		if t.frozen(lossMetric) {
			return nil
		}
		return t.obj.StepParams(t.LossOptimizer)
	}
	b.EndOfIterationHook, b.EndOfEpochHook = nil, nil
	return b
}

// isStop reports whether a hook's error asks for a clean stop.
func isStop(err error) bool { return errors.Is(err, ErrStopTraining) }

// validate checks the settings of the metric loss; Base.validate checks
// the rest.
func (t *MetricLossOnly) validate() error {
	if t.Encoder == nil && t.Loss == nil && t.Dataset == nil && t.Optimizer == nil {
		return fmt.Errorf("%s: not made by NewMetricLossOnly (the zero value has no encoder, optimizer, loss or data set); use NewMetricLossOnly(enc, opt, batchSize, loss, dataset): %w", name, gometric.ErrSetting)
	}
	return t.validateMetric(name, []string{roleTrunk, roleEmbedder, lossMetric}, []string{lossMetric})
}

// validateMetric checks the encoder, the metric loss, FreezeThese against
// roles and LossWeights against lossNames, for the trainer component.
func (t *MetricLossOnly) validateMetric(component string, roles, lossNames []string) error {
	switch {
	case t.Encoder == nil:
		return fmt.Errorf("%s: Encoder is nil: %w", component, gometric.ErrSetting)
	case t.Loss == nil:
		return fmt.Errorf("%s: Loss is nil: %w", component, gometric.ErrSetting)
	}
	if err := t.validateNames(component, roles, lossNames); err != nil {
		return err
	}
	if l, ok := t.Loss.(losses.Learnable); ok {
		ps := l.Params()
		if len(ps) > 0 && t.LossOptimizer == nil && !t.frozen(lossMetric) {
			return fmt.Errorf("%s: the loss %T has learnable parameters but LossOptimizer is nil: %w", component, t.Loss, gometric.ErrSetting)
		}
		for i, p := range ps {
			if p == nil || p.Value == nil || p.Value.IsEmpty() {
				return fmt.Errorf("%s: the loss %T's learnable parameter %d is nil or empty: %w", component, t.Loss, i, gometric.ErrShape)
			}
		}
	}
	return nil
}

// base copies the loop's settings into t.core, named component.
func (t *MetricLossOnly) base(component string) *Base {
	b := &t.core
	b.name = component
	b.Encoder, b.Optimizer = t.Encoder, t.Optimizer
	b.Embedder, b.EmbedderOptimizer = t.Embedder, t.EmbedderOptimizer
	b.Dataset, b.Sampler, b.BatchSampler = t.Dataset, t.Sampler, t.BatchSampler
	b.BatchSize, b.IterationsPerEpoch, b.Seed = t.BatchSize, t.IterationsPerEpoch, t.Seed
	b.FreezeThese, b.GradientClippers = t.FreezeThese, t.GradientClippers
	b.LRSchedulersByIteration, b.LRSchedulersByEpoch = t.LRSchedulersByIteration, t.LRSchedulersByEpoch
	b.SetMinLabelToZero, b.Progress = t.SetMinLabelToZero, t.Progress
	b.Comm = t.Comm
	b.lossParams = t.lossParamValues
	b.LabelHierarchyLevel, b.SubsetBatchMiner = t.LabelHierarchyLevel, t.SubsetBatchMiner
	return b
}

// LabelMapping returns the data set's sorted distinct labels when
// SetMinLabelToZero is set: label i of a batch is LabelMapping()[i] of
// the data set (PML's LabelMapper's map, inverted). It is nil before Train
// and without SetMinLabelToZero, and nil for a nil receiver.
func (t *MetricLossOnly) LabelMapping() []int {
	if t == nil {
		return nil
	}
	return t.core.LabelMapping()
}

// loader is PML's train dataloader: batches from the sampler, the last
// incomplete one dropped, the sampler restarted when a pass runs out.
type loader struct {
	t       *Base
	perPass int // batches in a pass
	pass    uint64
	batches [][]int
	pos     int
}

func newLoader(t *Base) (*loader, error) {
	ld := &loader{t: t}
	switch {
	case t.BatchSampler != nil:
		ld.perPass = t.BatchSampler.NumBatches()
		if ld.perPass == 0 {
			// Let the sampler say what is wrong.
			if _, err := t.BatchSampler.EpochBatches(rand.New(rand.NewPCG(t.Seed, seedStream))); err != nil {
				return nil, fmt.Errorf("%s: %w", t.component(), err)
			}
		}
	case t.Sampler != nil:
		n := t.Sampler.Len()
		if n == 0 {
			if _, err := t.Sampler.Epoch(rand.New(rand.NewPCG(t.Seed, seedStream))); err != nil {
				return nil, fmt.Errorf("%s: %w", t.component(), err)
			}
		}
		ld.perPass = n / (t.BatchSize * t.ranks())
	default:
		ld.perPass = t.Dataset.Len() / (t.BatchSize * t.ranks())
	}
	if ld.perPass < 1 {
		return nil, fmt.Errorf("%s: a pass over the sampler holds no complete batch of %d samples (the last incomplete batch is dropped, as PML's loader does): %w", t.component(), t.BatchSize, gometric.ErrSetting)
	}
	return ld, nil
}

// seek positions the loader at global iteration g, as if g batches had
// been drawn since the start of the first pass.
func (ld *loader) seek(g uint64) error {
	ld.pass = g / uint64(ld.perPass)
	if err := ld.draw(); err != nil {
		return err
	}
	ld.pos = int(g % uint64(ld.perPass))
	if ld.pos > len(ld.batches) {
		ld.pos = len(ld.batches)
	}
	return nil
}

// draw draws the batches of pass ld.pass and advances the pass counter.
func (ld *loader) draw() error {
	t := ld.t
	rng := rand.New(rand.NewPCG(t.Seed, seedStream+ld.pass))
	ld.pass++
	ld.pos = 0
	ld.batches = ld.batches[:0]
	switch {
	case t.BatchSampler != nil:
		bs, err := t.BatchSampler.EpochBatches(rng)
		if err != nil {
			return fmt.Errorf("%s: %w", t.component(), err)
		}
		for _, b := range bs {
			if len(b) > 0 { // an empty batch trains nothing
				ld.batches = append(ld.batches, b)
			}
		}
	default:
		var idx []int
		if t.Sampler != nil {
			var err error
			if idx, err = t.Sampler.Epoch(rng); err != nil {
				return fmt.Errorf("%s: %w", t.component(), err)
			}
		} else {
			idx = rng.Perm(t.Dataset.Len())
		}
		g := t.BatchSize * t.ranks()
		for i := 0; i+g <= len(idx); i += g {
			ld.batches = append(ld.batches, idx[i:i+g])
		}
	}
	if len(ld.batches) == 0 {
		return fmt.Errorf("%s: the sampler yielded no complete batch: %w", t.component(), gometric.ErrSetting)
	}
	return nil
}

// next returns the indices of the next batch.
func (ld *loader) next() ([]int, error) {
	if ld.pos >= len(ld.batches) {
		if err := ld.draw(); err != nil {
			return nil, err
		}
	}
	b := ld.batches[ld.pos]
	ld.pos++
	if w := ld.t.ranks(); w > 1 {
		// This rank's part of the global batch.
		r := distributed.Rank(ld.t.Comm)
		lo, hi := r*len(b)/w, (r+1)*len(b)/w
		if lo == hi {
			return nil, fmt.Errorf("%s: a batch of %d samples cannot be split between %d ranks: %w", ld.t.component(), len(b), w, gometric.ErrSetting)
		}
		b = b[lo:hi]
	}
	return b, nil
}

// lossParamValues returns the values of the loss's learnable parameters.
func (t *MetricLossOnly) lossParamValues() []*mat.Dense {
	l, ok := t.Loss.(losses.Learnable)
	if !ok {
		return nil
	}
	var out []*mat.Dense
	for _, p := range l.Params() {
		if p != nil && p.Value != nil {
			out = append(out, p.Value)
		}
	}
	return out
}
