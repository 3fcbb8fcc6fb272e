package trainers

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/utils/distributed"
	"github.com/schollz/progressbar/v3"
	"gonum.org/v1/gonum/mat"
)

const baseName = "trainers.Base"

// Base mirrors PML's trainers.BaseTrainer: the training loop every trainer
// of the package runs (sampler and loader, epochs, hooks, learning-rate
// schedulers, gradient clippers, the trunk's and embedder's optimizers,
// SetMinLabelToZero), with the loss computation supplied by CalculateLoss.
// It is how to write a trainer of one's own, as PML users subclass
// BaseTrainer and override calculate_loss: the trunk (Encoder) and the
// optional Embedder run forward, CalculateLoss receives the batch's
// embeddings and labels and returns the loss and its gradient with
// respect to the embeddings, which Base propagates back through the
// embedder and the trunk; then the gradient clippers run, the trunk's and
// embedder's optimizers step (unless frozen), and StepOptimizers steps the
// models and parameters CalculateLoss trained (PML's step_optimizers for
// its other roles). MetricLossOnly, TrainWithClassifier,
// TwoStreamMetricLoss and CascadedEmbeddings run on it.
//
// NewBase fills the required fields; the zero value has none of them, and
// Train refuses it (and a nil *Base) with an error wrapping
// gometric.ErrSetting naming NewBase. The other fields' zero values are
// PML's defaults, documented as MetricLossOnly's fields of the same
// names. A Base is not safe for concurrent use: run one Train at a time.
type Base struct {
	// Encoder is the trunk (PML's models["trunk"]) and Optimizer its
	// optimizer (trunk_optimizer; required unless FreezeThese holds
	// "trunk").
	Encoder   models.Encoder
	Optimizer *models.Optimizer
	// Embedder, when not nil, maps the trunk's output to the embeddings
	// (PML's models["embedder"]), with its own EmbedderOptimizer; see
	// MetricLossOnly.Embedder.
	Embedder          models.InputGradStepper
	EmbedderOptimizer *models.Optimizer
	// Dataset, Sampler, BatchSampler, BatchSize, IterationsPerEpoch and
	// Seed are as MetricLossOnly's.
	Dataset            datasets.Dataset
	Sampler            samplers.Sampler
	BatchSampler       samplers.BatchSampler
	BatchSize          int
	IterationsPerEpoch int
	Seed               uint64
	// FreezeThese names the roles not updated (PML's freeze_these): Base
	// honours "trunk" and "embedder"; other names (at most 16 in all) are
	// for CalculateLoss and StepOptimizers, which read them with Frozen.
	FreezeThese []string
	// GradientClippers, LRSchedulersByIteration, LRSchedulersByEpoch and
	// SetMinLabelToZero are as MetricLossOnly's.
	GradientClippers                             []func() error
	LRSchedulersByIteration, LRSchedulersByEpoch []models.LRScheduler
	SetMinLabelToZero                            bool
	// LabelHierarchyLevel (PML's label_hierarchy_level) and
	// SubsetBatchMiner (PML's mining_funcs["subset_batch_miner"]) are as
	// MetricLossOnly's: the labels CalculateLoss receives are those of
	// that level, of the rows SubsetBatchMiner chose.
	LabelHierarchyLevel int
	SubsetBatchMiner    func(emb gometric.Matrix, labels []int) ([]int, error)

	// CalculateLoss is PML's calculate_loss: it returns the loss of one
	// batch and its gradient with respect to emb, the N×E embeddings
	// (the Embedder's output, or the trunk's without one); labels are
	// the batch's (relabelled when SetMinLabelToZero is set). Apply the
	// loss weights here. It may train models of its own on emb (a
	// classifier through models.InputGradStepper.TrainStepInput), adding
	// their input gradients to the returned one. Required.
	CalculateLoss func(emb gometric.Matrix, labels []int) (BatchLoss, error)
	// StepOptimizers, when not nil, runs after the trunk's and embedder's
	// optimizers have stepped: step there what CalculateLoss trained
	// (a classifier, a loss's parameters), unless Frozen.
	StepOptimizers func() error

	// EndOfIterationHook and EndOfEpochHook are PML's hooks, as
	// MetricLossOnly's.
	EndOfIterationHook func(b *Base, it IterationInfo) error
	EndOfEpochHook     func(b *Base, ep EpochInfo) error
	// Progress, when not nil, receives a progress bar per epoch.
	Progress io.Writer
	// Comm, when not nil, is as MetricLossOnly's: the trunk's and
	// embedder's gradients are averaged over the ranks; what
	// CalculateLoss trains of its own (a classifier) is not.
	Comm distributed.Communicator

	// lossParams are the values of the loss's learnable parameters that
	// a distributed Train broadcasts from rank 0 with the models'.
	lossParams func() []*mat.Dense
	// gradBuf holds the models' gradients for the all-reduce.
	gradBuf []float32

	// name is the component named in errors; mining shows the miner's
	// counts in the progress bar even when they are 0.
	name   string
	mining bool
	// labelMap is the sorted distinct labels of the data set when
	// SetMinLabelToZero is set; index maps a label to its position;
	// relabel holds a batch's mapped labels.
	labelMap []int
	index    map[int]int
	relabel  []int
	// levelLabels are the data set's labels at LabelHierarchyLevel when
	// it is above 0 (nil at level 0) and level a batch's labels there;
	// subX and subLabels hold the rows SubsetBatchMiner chose, and
	// trained counts the rows of the last step.
	levelLabels []int
	level       []int
	subX        []float32
	subLabels   []int
	trained     int
	// components lists the models of the trainer that runs on b, and
	// frozenRole tells its FreezeThese (set by its Train); nil: b's own
	// (Components, Frozen).
	components func() []Component
	frozenRole func(string) bool
}

// BatchLoss is what Base.CalculateLoss returns for one batch. It is a
// plain value, safe for concurrent reads.
type BatchLoss struct {
	// Loss is the weighted total loss (PML's losses["total_loss"]).
	Loss float64
	// Grad is d(Loss)/d(embeddings), N×E. It is read before
	// CalculateLoss is called again, so a buffer may be reused.
	Grad gometric.Matrix
	// Parts are the sub-losses reported in IterationInfo.Parts.
	Parts map[string]float64
	// Mined counts a miner's output, reported in IterationInfo.Mined.
	Mined miners.Counts
}

// NewBase returns a Base with PML's required arguments — the trunk
// (models), its optimizer, the batch size, the training set — and the
// loss computation (PML's calculate_loss); the other fields are PML's
// defaults.
func NewBase(enc models.Encoder, opt *models.Optimizer, batchSize int, dataset datasets.Dataset, calculateLoss func(emb gometric.Matrix, labels []int) (BatchLoss, error)) *Base {
	return &Base{Encoder: enc, Optimizer: opt, BatchSize: batchSize, Dataset: dataset, CalculateLoss: calculateLoss}
}

// component is the name in b's errors.
func (b *Base) component() string {
	if b.name == "" {
		return baseName
	}
	return b.name
}

// Frozen reports whether FreezeThese names role (false for a nil
// receiver).
func (b *Base) Frozen(role string) bool { return b != nil && slices.Contains(b.FreezeThese, role) }

// LabelMapping returns the data set's sorted distinct labels when
// SetMinLabelToZero is set (see MetricLossOnly.LabelMapping); nil before
// Train, without SetMinLabelToZero and for a nil receiver.
func (b *Base) LabelMapping() []int {
	if b == nil {
		return nil
	}
	return slices.Clone(b.labelMap)
}

// Train runs epochs startEpoch to numEpochs inclusive (PML's
// train(start_epoch, num_epochs)), as MetricLossOnly.Train.
func (b *Base) Train(ctx context.Context, startEpoch, numEpochs int) ([]EpochInfo, error) {
	if b == nil {
		return nil, fmt.Errorf("%s.Train: nil receiver: %w", baseName, gometric.ErrSetting)
	}
	if b.Encoder == nil && b.Dataset == nil && b.Optimizer == nil && b.CalculateLoss == nil {
		return nil, fmt.Errorf("%s: not made by NewBase (the zero value has no encoder, optimizer, data set or loss computation); use NewBase(enc, opt, batchSize, dataset, calculateLoss): %w", baseName, gometric.ErrSetting)
	}
	if b.CalculateLoss == nil {
		return nil, fmt.Errorf("%s: CalculateLoss is nil: %w", b.component(), gometric.ErrSetting)
	}
	return b.train(ctx, startEpoch, numEpochs)
}

// train is Train after the trainer's own checks.
func (b *Base) train(ctx context.Context, startEpoch, numEpochs int) ([]EpochInfo, error) {
	name := b.component()
	if ctx == nil {
		return nil, fmt.Errorf("%s: nil context: %w", name, gometric.ErrSetting)
	}
	if startEpoch < 1 {
		return nil, fmt.Errorf("%s: start epoch %d, want at least 1: %w", name, startEpoch, gometric.ErrSetting)
	}
	if err := b.validate(); err != nil {
		return nil, err
	}
	b.setLabelMap()
	ld, err := newLoader(b)
	if err != nil {
		return nil, err
	}
	if err := b.broadcastParams(); err != nil {
		return nil, err
	}
	ipe := b.IterationsPerEpoch
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
		info, cont, err := b.epoch(ctx, ld, epoch, ipe)
		infos = append(infos, info)
		if err != nil || !cont {
			return infos, err
		}
		if err := stepSchedulers(b.LRSchedulersByEpoch); err != nil {
			return infos, fmt.Errorf("%s: epoch %d: %w", name, epoch, err)
		}
		var herr error
		if b.EndOfEpochHook != nil {
			herr = b.EndOfEpochHook(b, info)
		}
		if herr = b.agree(herr); herr != nil {
			return infos, b.hookError(herr, "epoch %d: end-of-epoch hook", epoch)
		}
	}
	return infos, nil
}

// hookError is nil for ErrStopTraining (a clean stop) and err, named,
// otherwise.
func (b *Base) hookError(err error, format string, args ...any) error {
	if isStop(err) {
		return nil
	}
	return fmt.Errorf("%s: %s: %w", b.component(), fmt.Sprintf(format, args...), err)
}

// validate checks the settings common to every trainer.
func (b *Base) validate() error {
	name := b.component()
	switch {
	case b.Encoder == nil:
		return fmt.Errorf("%s: Encoder is nil: %w", name, gometric.ErrSetting)
	case b.Dataset == nil:
		return fmt.Errorf("%s: Dataset is nil: %w", name, gometric.ErrSetting)
	case b.Optimizer == nil && !b.Frozen(roleTrunk):
		return fmt.Errorf("%s: Optimizer is nil (the trunk's; freeze the trunk with FreezeThese to train without one): %w", name, gometric.ErrSetting)
	case b.Sampler != nil && b.BatchSampler != nil:
		return fmt.Errorf("%s: both Sampler and BatchSampler are set: %w", name, gometric.ErrSetting)
	case b.BatchSampler == nil && b.BatchSize < 1:
		return fmt.Errorf("%s: BatchSize = %d, want at least 1: %w", name, b.BatchSize, gometric.ErrSetting)
	case b.IterationsPerEpoch < 0:
		return fmt.Errorf("%s: IterationsPerEpoch = %d, want at least 0: %w", name, b.IterationsPerEpoch, gometric.ErrSetting)
	}
	if err := b.validateRoles(); err != nil {
		return err
	}
	if s, ok := b.Sampler.(*samplers.MPerClass); ok && s != nil && s.BatchSize != 0 && s.BatchSize != b.ranks()*b.BatchSize {
		if b.ranks() > 1 {
			return fmt.Errorf("%s: BatchSize = %d per rank on %d ranks but the MPerClass sampler's BatchSize = %d; set it to the global batch, %d: %w", name, b.BatchSize, b.ranks(), s.BatchSize, b.ranks()*b.BatchSize, gometric.ErrSetting)
		}
		return fmt.Errorf("%s: BatchSize = %d but the MPerClass sampler's BatchSize = %d; set both to the same batch size (PML passes one batch_size to the sampler and the loader): %w", name, b.BatchSize, s.BatchSize, gometric.ErrSetting)
	}
	if ds, es := b.Dataset.SampleShape(), b.Encoder.InputShape(); !slices.Equal(ds, es) {
		return fmt.Errorf("%s: the dataset's samples are %v but the encoder takes %v: %w", name, ds, es, gometric.ErrShape)
	}
	if len(b.Dataset.Labels()) != b.Dataset.Len() {
		return fmt.Errorf("%s: the dataset has %d samples but %d labels: %w", name, b.Dataset.Len(), len(b.Dataset.Labels()), gometric.ErrLabels)
	}
	b.levelLabels = nil
	if b.LabelHierarchyLevel != 0 {
		ls, err := levelLabels(name, b.Dataset, b.LabelHierarchyLevel)
		if err != nil {
			return err
		}
		b.levelLabels = ls
	}
	return nil
}

// LabelsAtLevel returns the labels a trainer whose LabelHierarchyLevel is
// level trains on (PML's get_hierarchy_label on the data set's labels):
// ds.Labels() at level 0, and at a level above 0 ds.LabelsAt(level) of a
// data set with labels at several levels (LabelLevels() int and
// LabelsAt(level int) ([]int, error), as datasets.MultiLevel; Stanford
// Online Products' super class is level 1). Build a sampler on them to
// sample by that level. The slice may be the data set's own: do not
// modify it. A negative level, or one the data set lacks, is an error
// wrapping gometric.ErrSetting naming the level.
func LabelsAtLevel(ds datasets.Dataset, level int) ([]int, error) {
	return levelLabels("trainers.LabelsAtLevel", ds, level)
}

// levelLabels is LabelsAtLevel for the component name.
func levelLabels(name string, ds datasets.Dataset, level int) ([]int, error) {
	if check.Nil(ds) {
		return nil, fmt.Errorf("%s: the data set is nil: %w", name, gometric.ErrSetting)
	}
	if level < 0 {
		return nil, fmt.Errorf("%s: LabelHierarchyLevel = %d, want at least 0: %w", name, level, gometric.ErrSetting)
	}
	n := ds.Len()
	if level == 0 {
		ls := ds.Labels()
		if len(ls) != n {
			return nil, fmt.Errorf("%s: the dataset has %d samples but %d labels: %w", name, n, len(ls), gometric.ErrLabels)
		}
		return ls, nil
	}
	ml, ok := ds.(datasets.MultiLevel)
	if !ok {
		return nil, fmt.Errorf("%s: LabelHierarchyLevel = %d but the data set %T has labels at level 0 only (it has no LabelLevels and LabelsAt methods, as datasets.MultiLevel): %w", name, level, ds, gometric.ErrSetting)
	}
	if levels := ml.LabelLevels(); level >= levels {
		return nil, fmt.Errorf("%s: LabelHierarchyLevel = %d but the data set %T has %d label levels (0 to %d): %w", name, level, ds, levels, levels-1, gometric.ErrSetting)
	}
	ls, err := ml.LabelsAt(level)
	if err != nil {
		return nil, fmt.Errorf("%s: label level %d: %w", name, level, err)
	}
	if len(ls) != n {
		return nil, fmt.Errorf("%s: the dataset has %d samples but %d labels at level %d: %w", name, n, len(ls), level, gometric.ErrLabels)
	}
	return ls, nil
}

// validateRoles checks the frozen roles, the clippers, the schedulers and
// the embedder.
func (b *Base) validateRoles() error {
	name := b.component()
	if len(b.FreezeThese) > maxFreezeNames {
		return fmt.Errorf("%s: FreezeThese holds %d names, want at most %d: %w", name, len(b.FreezeThese), maxFreezeNames, gometric.ErrSetting)
	}
	for i, c := range b.GradientClippers {
		if c == nil {
			return fmt.Errorf("%s: GradientClippers[%d] is nil: %w", name, i, gometric.ErrSetting)
		}
	}
	for _, ss := range []struct {
		what string
		s    []models.LRScheduler
	}{{"LRSchedulersByIteration", b.LRSchedulersByIteration}, {"LRSchedulersByEpoch", b.LRSchedulersByEpoch}} {
		for i, s := range ss.s {
			if s == nil {
				return fmt.Errorf("%s: %s[%d] is nil: %w", name, ss.what, i, gometric.ErrSetting)
			}
		}
	}
	if b.Embedder == nil {
		if b.Frozen(roleEmbedder) {
			return fmt.Errorf("%s: FreezeThese holds %q but Embedder is nil: %w", name, roleEmbedder, gometric.ErrSetting)
		}
		return nil
	}
	if any(b.Embedder) == any(b.Encoder) {
		return fmt.Errorf("%s: Embedder is the trunk (Encoder); give it a model of its own: %w", name, gometric.ErrSetting)
	}
	if b.EmbedderOptimizer == nil && !b.Frozen(roleEmbedder) {
		return fmt.Errorf("%s: Embedder is set but EmbedderOptimizer is nil: %w", name, gometric.ErrSetting)
	}
	if b.EmbedderOptimizer != nil && b.EmbedderOptimizer == b.Optimizer {
		return fmt.Errorf("%s: EmbedderOptimizer is the trunk's Optimizer; give the embedder an Optimizer of its own: %w", name, gometric.ErrSetting)
	}
	if in, e := b.Embedder.InputShape(), b.Encoder.EmbeddingSize(); len(in) != 1 || in[0] != e {
		return fmt.Errorf("%s: the embedder takes %v but the trunk's output has %d values: %w", name, in, e, gometric.ErrShape)
	}
	return nil
}

// setLabelMap builds the mapping of SetMinLabelToZero from the data set's
// labels (PML's LabelMapper: sorted distinct labels).
func (b *Base) setLabelMap() {
	b.labelMap, b.index = nil, nil
	if !b.SetMinLabelToZero {
		return
	}
	b.labelMap = slices.Clone(b.Dataset.Labels())
	if b.levelLabels != nil {
		b.labelMap = slices.Clone(b.levelLabels)
	}
	slices.Sort(b.labelMap)
	b.labelMap = slices.Compact(b.labelMap)
	b.index = make(map[int]int, len(b.labelMap))
	for i, l := range b.labelMap {
		b.index[l] = i
	}
}

// labels maps a batch's labels when SetMinLabelToZero is set.
func (b *Base) labels(ls []int) ([]int, error) {
	if b.index == nil {
		return ls, nil
	}
	b.relabel = slices.Grow(b.relabel[:0], len(ls))[:len(ls)]
	for i, l := range ls {
		m, ok := b.index[l]
		if !ok {
			return nil, fmt.Errorf("label %d of the batch is not among the data set's labels: %w", l, gometric.ErrLabels)
		}
		b.relabel[i] = m
	}
	return b.relabel, nil
}

// stepSchedulers steps each scheduler in order.
func stepSchedulers(ss []models.LRScheduler) error {
	for i, s := range ss {
		if err := s.Step(); err != nil {
			return fmt.Errorf("learning-rate scheduler %d: %w", i, err)
		}
	}
	return nil
}

// step runs one iteration on a loaded batch: PML's forward_and_backward
// (trunk, embedder, calculate_loss, backward, gradient clippers) followed
// by step_optimizers for the roles not frozen.
func (b *Base) step(bt batch) (BatchLoss, error) {
	var out BatchLoss
	ls := bt.labels
	if b.levelLabels != nil {
		// bt.idx are data set indices: Batch has accepted them.
		b.level = slices.Grow(b.level[:0], len(bt.idx))[:len(bt.idx)]
		for i, k := range bt.idx {
			b.level[i] = b.levelLabels[k]
		}
		ls = b.level
	}
	labels, err := b.labels(ls)
	if err != nil {
		return out, err
	}
	x := bt.x
	if b.SubsetBatchMiner != nil {
		if x, labels, err = b.subset(x, labels); err != nil {
			return out, err
		}
	}
	b.trained = x.Rows
	calc := func(e gometric.Matrix) (float32, gometric.Matrix, error) {
		l, err := b.CalculateLoss(e, labels)
		out = l
		if err != nil {
			return 0, gometric.Matrix{}, err
		}
		return float32(l.Loss), l.Grad, nil
	}
	fn := calc
	if b.Embedder != nil {
		fn = func(h gometric.Matrix) (float32, gometric.Matrix, error) {
			return b.Embedder.TrainStepInput(h, calc)
		}
	}
	if b.Frozen(roleTrunk) {
		var h gometric.Matrix
		if h, err = b.Encoder.Embed(x); err == nil {
			_, _, err = fn(h)
		}
	} else {
		_, err = b.Encoder.TrainStep(x, fn)
	}
	if b.distributed() {
		// Every rank takes part, its step failed or not, so that none
		// waits for another.
		if rerr := b.reduceGrads(err != nil); err == nil {
			err = rerr
		}
	}
	if err != nil {
		return out, err
	}
	for i, c := range b.GradientClippers {
		if err := c(); err != nil {
			return out, fmt.Errorf("gradient clipper %d: %w", i, err)
		}
	}
	if !b.Frozen(roleTrunk) {
		if err := b.Encoder.Step(b.Optimizer); err != nil {
			return out, err
		}
	}
	if b.Embedder != nil {
		if b.Frozen(roleEmbedder) {
			b.Embedder.ZeroGrad()
		} else if err := b.Embedder.Step(b.EmbedderOptimizer); err != nil {
			return out, err
		}
	}
	if b.StepOptimizers != nil {
		if err := b.StepOptimizers(); err != nil {
			return out, err
		}
	}
	return out, nil
}

// subset is PML's maybe_do_batch_mining: x is embedded without training
// (the trunk's Embed, then the embedder's), SubsetBatchMiner picks rows of
// it, and those rows of x and labels, in the miner's order, are returned
// in b's buffers.
func (b *Base) subset(x gometric.Matrix, labels []int) (gometric.Matrix, []int, error) {
	n := x.Rows
	if n != len(labels) {
		return gometric.Matrix{}, nil, fmt.Errorf("subset batch miner: a batch of %d rows has %d labels: %w", n, len(labels), gometric.ErrShape)
	}
	emb, err := b.Encoder.Embed(x)
	if err == nil && b.Embedder != nil {
		emb, err = b.Embedder.Embed(emb)
	}
	if err != nil {
		return gometric.Matrix{}, nil, fmt.Errorf("subset batch miner: embedding the batch: %w", err)
	}
	idx, err := b.SubsetBatchMiner(emb, labels)
	if err != nil {
		return gometric.Matrix{}, nil, fmt.Errorf("subset batch miner: %w", err)
	}
	if len(idx) == 0 || len(idx) > n {
		return gometric.Matrix{}, nil, fmt.Errorf("subset batch miner: %d indices for a batch of %d rows, want 1 to %d: %w", len(idx), n, n, gometric.ErrIndex)
	}
	for k, i := range idx {
		if i < 0 || i >= n {
			return gometric.Matrix{}, nil, fmt.Errorf("subset batch miner: index %d (position %d) outside [0, %d), the batch's rows: %w", i, k, n, gometric.ErrIndex)
		}
	}
	d := x.Cols
	b.subX = slices.Grow(b.subX[:0], len(idx)*d)[:len(idx)*d]
	b.subLabels = slices.Grow(b.subLabels[:0], len(idx))[:len(idx)]
	for k, i := range idx {
		copy(b.subX[k*d:(k+1)*d], x.Data[i*d:(i+1)*d])
		b.subLabels[k] = labels[i]
	}
	return gometric.Matrix{Rows: len(idx), Cols: d, Data: b.subX}, b.subLabels, nil
}

// batch is one loaded batch.
type batch struct {
	idx    []int
	x      gometric.Matrix
	labels []int
	err    error
}

// epoch runs one epoch. cont is false when a hook asked to stop.
func (b *Base) epoch(ctx context.Context, ld *loader, epoch, ipe int) (EpochInfo, bool, error) {
	name := b.component()
	info := EpochInfo{Epoch: epoch, IterationsPerEpoch: ipe}
	// A random augmentation draws by epoch (no batch is loading now).
	if es, ok := b.Dataset.(datasets.EpochSetter); ok {
		es.SetEpoch(epoch)
	}
	if err := b.setModes(); err != nil {
		return info, false, fmt.Errorf("%s: epoch %d: %w", name, epoch, err)
	}
	start := time.Now()
	var bar *progressbar.ProgressBar
	if b.Progress != nil {
		bar = progressbar.NewOptions(ipe,
			progressbar.OptionSetWriter(b.Progress),
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
			fmt.Fprintln(b.Progress)
		}
	}
	var bufs [2]gometric.Matrix
	load := func(idx []int, slot int) batch {
		bt := batch{idx: idx}
		bt.x, bt.labels, bt.err = b.Dataset.Batch(idx, bufs[slot])
		if bt.err == nil {
			bufs[slot] = bt.x
		}
		return bt
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
		res, err := b.step(cur)
		if b.SubsetBatchMiner != nil {
			bsz = b.trained
		}
		if next != nil {
			cur = <-next
		}
		if err != nil {
			finish()
			return info, false, fmt.Errorf("%s: epoch %d, iteration %d: %w", name, epoch, it, err)
		}
		mined := res.Mined
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
			bar.Describe(describe(epoch, res.Loss, b.mining || mined != (miners.Counts{}), mined))
			_ = bar.Add(1)
		}
		var herr error
		if b.EndOfIterationHook != nil {
			ii := IterationInfo{
				Epoch: epoch, Iteration: it, GlobalIteration: (epoch-1)*ipe + it,
				Loss: res.Loss, Parts: res.Parts, Mined: mined, BatchSize: bsz,
				Duration: time.Since(itStart),
			}
			herr = b.EndOfIterationHook(b, ii)
		}
		if herr = b.agree(herr); herr != nil {
			finish()
			return info, false, b.hookError(herr, "epoch %d, iteration %d: end-of-iteration hook", epoch, it)
		}
		if err := stepSchedulers(b.LRSchedulersByIteration); err != nil {
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

// setHooks gives b a trainer's own hooks, called with the trainer t (PML's
// hooks receive the trainer); nil hooks stay unset.
func setHooks[T any](b *Base, t T, iter func(T, IterationInfo) error, epoch func(T, EpochInfo) error) {
	if c, ok := any(t).(interface{ Components() []Component }); ok {
		b.components = c.Components // the trainer's models, for setModes
	}
	if f, ok := any(t).(interface{ frozen(string) bool }); ok {
		b.frozenRole = f.frozen // the trainer's FreezeThese, for setModes
	}
	if iter != nil {
		b.EndOfIterationHook = func(_ *Base, it IterationInfo) error { return iter(t, it) }
	}
	if epoch != nil {
		b.EndOfEpochHook = func(_ *Base, ep EpochInfo) error { return epoch(t, ep) }
	}
}
