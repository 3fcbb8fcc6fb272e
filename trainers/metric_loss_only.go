package trainers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/schollz/progressbar/v3"
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

	// obj is the loss pipeline of every iteration; it keeps the previous
	// result's gradient matrices for reuse (losses.Batch.Reuse).
	obj losses.Objective
	// scaled holds a weighted gradient; relabel the batch's mapped labels.
	scaled  []float32
	relabel []int
	// labelMap is the sorted distinct labels of the data set when
	// SetMinLabelToZero is set; index maps a label to its position.
	labelMap []int
	index    map[int]int
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
	if ctx == nil {
		return nil, fmt.Errorf("%s: nil context: %w", name, gometric.ErrSetting)
	}
	if startEpoch < 1 {
		return nil, fmt.Errorf("%s: start epoch %d, want at least 1: %w", name, startEpoch, gometric.ErrSetting)
	}
	if err := t.validate(); err != nil {
		return nil, err
	}
	t.obj.Loss, t.obj.Miner = t.Loss, t.Miner
	t.setLabelMap()
	ld, err := newLoader(t)
	if err != nil {
		return nil, err
	}
	ipe := t.IterationsPerEpoch
	if ipe == 0 {
		ipe = ld.perPass
	}
	// Global iterations (epoch−1)·ipe + it must be exact ints.
	if numEpochs >= startEpoch && uint64(numEpochs) > uint64(math.MaxInt)/uint64(ipe) {
		return nil, fmt.Errorf("%s: %d epochs of %d iterations overflow the global iteration count: %w", name, numEpochs, ipe, gometric.ErrSetting)
	}
	if err := ld.seek(uint64(startEpoch-1) * uint64(ipe)); err != nil {
		return nil, err
	}
	var infos []EpochInfo
	for epoch := startEpoch; epoch <= numEpochs && epoch > 0; epoch++ { // epoch > 0: no wrap after math.MaxInt
		info, cont, err := t.epoch(ctx, ld, epoch, ipe)
		infos = append(infos, info)
		if err != nil || !cont {
			return infos, err
		}
		if err := stepSchedulers(t.LRSchedulersByEpoch); err != nil {
			return infos, fmt.Errorf("%s: epoch %d: %w", name, epoch, err)
		}
		if t.EndOfEpochHook != nil {
			if err := t.EndOfEpochHook(t, info); err != nil {
				return infos, hookError(err, "epoch %d: end-of-epoch hook", epoch)
			}
		}
	}
	return infos, nil
}

// hookError is nil for ErrStopTraining (a clean stop) and err, named,
// otherwise.
func hookError(err error, format string, args ...any) error {
	if errors.Is(err, ErrStopTraining) {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", name, fmt.Sprintf(format, args...), err)
}

// validate checks the settings.
func (t *MetricLossOnly) validate() error {
	switch {
	case t.Encoder == nil && t.Loss == nil && t.Dataset == nil && t.Optimizer == nil:
		return fmt.Errorf("%s: not made by NewMetricLossOnly (the zero value has no encoder, optimizer, loss or data set); use NewMetricLossOnly(enc, opt, batchSize, loss, dataset): %w", name, gometric.ErrSetting)
	case t.Encoder == nil:
		return fmt.Errorf("%s: Encoder is nil: %w", name, gometric.ErrSetting)
	case t.Loss == nil:
		return fmt.Errorf("%s: Loss is nil: %w", name, gometric.ErrSetting)
	case t.Dataset == nil:
		return fmt.Errorf("%s: Dataset is nil: %w", name, gometric.ErrSetting)
	case t.Optimizer == nil && !t.frozen("trunk"):
		return fmt.Errorf("%s: Optimizer is nil (the trunk's; freeze the trunk with FreezeThese to train without one): %w", name, gometric.ErrSetting)
	case t.Sampler != nil && t.BatchSampler != nil:
		return fmt.Errorf("%s: both Sampler and BatchSampler are set: %w", name, gometric.ErrSetting)
	case t.BatchSampler == nil && t.BatchSize < 1:
		return fmt.Errorf("%s: BatchSize = %d, want at least 1: %w", name, t.BatchSize, gometric.ErrSetting)
	case t.IterationsPerEpoch < 0:
		return fmt.Errorf("%s: IterationsPerEpoch = %d, want at least 0: %w", name, t.IterationsPerEpoch, gometric.ErrSetting)
	}
	if err := t.validateRoles(); err != nil {
		return err
	}
	if s, ok := t.Sampler.(*samplers.MPerClass); ok && s != nil && s.BatchSize != 0 && s.BatchSize != t.BatchSize {
		return fmt.Errorf("%s: BatchSize = %d but the MPerClass sampler's BatchSize = %d; set both to the same batch size (PML passes one batch_size to the sampler and the loader): %w", name, t.BatchSize, s.BatchSize, gometric.ErrSetting)
	}
	if l, ok := t.Loss.(losses.Learnable); ok {
		ps := l.Params()
		if len(ps) > 0 && t.LossOptimizer == nil && !t.frozen("metric_loss") {
			return fmt.Errorf("%s: the loss %T has learnable parameters but LossOptimizer is nil: %w", name, t.Loss, gometric.ErrSetting)
		}
		for i, p := range ps {
			if p == nil || p.Value == nil || p.Value.IsEmpty() {
				return fmt.Errorf("%s: the loss %T's learnable parameter %d is nil or empty: %w", name, t.Loss, i, gometric.ErrShape)
			}
		}
	}
	if ds, es := t.Dataset.SampleShape(), t.Encoder.InputShape(); !slices.Equal(ds, es) {
		return fmt.Errorf("%s: the dataset's samples are %v but the encoder takes %v: %w", name, ds, es, gometric.ErrShape)
	}
	if len(t.Dataset.Labels()) != t.Dataset.Len() {
		return fmt.Errorf("%s: the dataset has %d samples but %d labels: %w", name, t.Dataset.Len(), len(t.Dataset.Labels()), gometric.ErrLabels)
	}
	return nil
}

// batch is one loaded batch.
type batch struct {
	idx    []int
	x      gometric.Matrix
	labels []int
	err    error
}

// epoch runs one epoch. cont is false when a hook asked to stop.
func (t *MetricLossOnly) epoch(ctx context.Context, ld *loader, epoch, ipe int) (EpochInfo, bool, error) {
	info := EpochInfo{Epoch: epoch, IterationsPerEpoch: ipe}
	start := time.Now()
	var bar *progressbar.ProgressBar
	if t.Progress != nil {
		bar = progressbar.NewOptions(ipe,
			progressbar.OptionSetWriter(t.Progress),
			progressbar.OptionSetDescription(fmt.Sprintf("epoch %d", epoch)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("it"),
			progressbar.OptionSetWidth(20),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionSetPredictTime(true),
		)
	}
	finish := func() {
		info.Duration = time.Since(start)
		if n := float64(info.Iterations); n > 0 {
			info.LossMean /= n
			info.MeanPosPairs /= n
			info.MeanNegPairs /= n
			info.MeanTriplets /= n
		}
		if bar != nil {
			_ = bar.Exit()
			fmt.Fprintln(t.Progress)
		}
	}
	var bufs [2]gometric.Matrix
	load := func(idx []int, slot int) batch {
		b := batch{idx: idx}
		b.x, b.labels, b.err = t.Dataset.Batch(idx, bufs[slot])
		if b.err == nil {
			bufs[slot] = b.x
		}
		return b
	}
	// The next batch is loaded while the current one trains.
	idx, err := ld.next()
	if err != nil {
		finish()
		return info, false, err
	}
	cur := load(idx, 0)
	for it := 0; it < ipe; it++ {
		if err := ctx.Err(); err != nil {
			finish()
			return info, false, err
		}
		itStart := time.Now()
		if cur.err != nil {
			finish()
			return info, false, fmt.Errorf("%s: epoch %d, iteration %d: loading a batch: %w", name, epoch, it, cur.err)
		}
		var next chan batch
		if it+1 < ipe {
			idx, err := ld.next()
			if err != nil {
				finish()
				return info, false, err
			}
			next = make(chan batch, 1)
			slot := (it + 1) % 2
			go func() { next <- load(idx, slot) }()
		}
		bsz := len(cur.idx)
		res, mined, err := t.step(cur)
		if next != nil {
			cur = <-next
		}
		if err != nil {
			finish()
			return info, false, fmt.Errorf("%s: epoch %d, iteration %d: %w", name, epoch, it, err)
		}
		info.Iterations++
		info.LossMean += res.Loss
		info.LossLast = res.Loss
		if res.Loss == 0 {
			info.ZeroLossIterations++
		}
		info.MeanPosPairs += float64(mined.PosPairs)
		info.MeanNegPairs += float64(mined.NegPairs)
		info.MeanTriplets += float64(mined.Triplets)
		if bar != nil {
			bar.Describe(describe(epoch, res.Loss, t.Miner != nil, mined))
			_ = bar.Add(1)
		}
		if t.EndOfIterationHook != nil {
			ii := IterationInfo{
				Epoch: epoch, Iteration: it, GlobalIteration: (epoch-1)*ipe + it,
				Loss: res.Loss, Parts: res.Parts, Mined: mined, BatchSize: bsz,
				Duration: time.Since(itStart),
			}
			if err := t.EndOfIterationHook(t, ii); err != nil {
				finish()
				return info, false, hookError(err, "epoch %d, iteration %d: end-of-iteration hook", epoch, it)
			}
		}
		if err := stepSchedulers(t.LRSchedulersByIteration); err != nil {
			finish()
			return info, false, fmt.Errorf("%s: epoch %d, iteration %d: %w", name, epoch, it, err)
		}
	}
	finish()
	return info, true, nil
}

// describe is the progress bar's description.
func describe(epoch int, loss float64, miner bool, c miners.Counts) string {
	s := fmt.Sprintf("epoch %d loss=%.5f", epoch, loss)
	switch {
	case !miner:
	case c.Triplets > 0 || (c.PosPairs == 0 && c.NegPairs == 0):
		s += fmt.Sprintf(" triplets=%d", c.Triplets)
	default:
		s += fmt.Sprintf(" pos=%d neg=%d", c.PosPairs, c.NegPairs)
	}
	return s
}

// loader is PML's train dataloader: batches from the sampler, the last
// incomplete one dropped, the sampler restarted when a pass runs out.
type loader struct {
	t       *MetricLossOnly
	perPass int // batches in a pass
	pass    uint64
	batches [][]int
	pos     int
}

func newLoader(t *MetricLossOnly) (*loader, error) {
	ld := &loader{t: t}
	switch {
	case t.BatchSampler != nil:
		ld.perPass = t.BatchSampler.NumBatches()
		if ld.perPass == 0 {
			// Let the sampler say what is wrong.
			if _, err := t.BatchSampler.EpochBatches(rand.New(rand.NewPCG(t.Seed, seedStream))); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
	case t.Sampler != nil:
		n := t.Sampler.Len()
		if n == 0 {
			if _, err := t.Sampler.Epoch(rand.New(rand.NewPCG(t.Seed, seedStream))); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		ld.perPass = n / t.BatchSize
	default:
		ld.perPass = t.Dataset.Len() / t.BatchSize
	}
	if ld.perPass < 1 {
		return nil, fmt.Errorf("%s: a pass over the sampler holds no complete batch of %d samples (the last incomplete batch is dropped, as PML's loader does): %w", name, t.BatchSize, gometric.ErrSetting)
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
			return fmt.Errorf("%s: %w", name, err)
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
				return fmt.Errorf("%s: %w", name, err)
			}
		} else {
			idx = rng.Perm(t.Dataset.Len())
		}
		for i := 0; i+t.BatchSize <= len(idx); i += t.BatchSize {
			ld.batches = append(ld.batches, idx[i:i+t.BatchSize])
		}
	}
	if len(ld.batches) == 0 {
		return fmt.Errorf("%s: the sampler yielded no complete batch: %w", name, gometric.ErrSetting)
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
	return b, nil
}
