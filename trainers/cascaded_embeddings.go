package trainers

import (
	"context"
	"fmt"
	"io"
	"math"
	"reflect"
	"slices"
	"strconv"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

const ceName = "trainers.CascadedEmbeddings"

// CascadedEmbeddings mirrors PML's trainers.CascadedEmbeddings (after
// Hard-Aware Deeply Cascaded Embedding): the embeddings are cut into
// consecutive blocks of columns, EmbeddingSizes[0] columns, then
// EmbeddingSizes[1], ..., which together must be the whole embedding (the
// Embedder's output, or the trunk's without one). Block i has its own
// metric loss "metric_loss_i" (Losses[i]), optional tuple miner
// "tuple_miner_i" (Miners[i]) and optional classifier "classifier_i"
// (Classifiers[i], trained with the cross-entropy "classifier_loss_i" and
// its own optimizer). The loss is the sum over the blocks of
// LossWeights[name]·loss; the gradient of each block's losses fills that
// block's columns of the one N×E gradient sent back through the embedder
// and the trunk.
//
// As in PML: a loss whose weight is 0 or less is not computed (its part
// is 0 and no gradient flows through it; a classifier whose loss is
// skipped does not run), but a block's miner still mines; and when
// Miners[i] is a *miners.HDC, it filters the previous block's tuples
// (PML's set_idx_externally; all pairs when block i−1 has no miner or i
// is 0) instead of the batch's pairs, so the cascade keeps ever harder
// pairs. The metric losses of every block run first, then the
// classifiers, as PML's calculate_loss does. IterationInfo.Parts holds
// every loss name with its unweighted value; Loss is the weighted total
// (PML's total_loss) and Mined the sum of the blocks' miners' counts.
//
// NewCascadedEmbeddings fills the required fields; the zero value has none
// of them, and Train refuses it (and a nil *CascadedEmbeddings) with an
// error wrapping gometric.ErrSetting naming NewCascadedEmbeddings. The
// other fields' zero values are PML's defaults. A CascadedEmbeddings is
// not safe for concurrent use: it holds the losses' buffers from one
// iteration to the next, so run one Train at a time.
type CascadedEmbeddings struct {
	// Encoder is the trunk (PML's models["trunk"]) and Optimizer its
	// optimizer (trunk_optimizer), as MetricLossOnly's.
	Encoder   models.Encoder
	Optimizer *models.Optimizer
	// Embedder and EmbedderOptimizer are the optional embedder after the
	// trunk (PML's models["embedder"]), as MetricLossOnly's.
	Embedder          models.InputGradStepper
	EmbedderOptimizer *models.Optimizer

	// EmbeddingSizes are PML's embedding_sizes: the widths of the
	// consecutive blocks, each at least 1, summing to the embedding size.
	EmbeddingSizes []int
	// Losses[i] is block i's metric loss (PML's
	// loss_funcs["metric_loss_i"]); a nil entry, or an index beyond the
	// slice, means block i has none. Losses may be shorter than
	// EmbeddingSizes, never longer; the same goes for the other per-block
	// slices below.
	Losses []losses.Loss
	// LossOptimizers[i] updates Losses[i]'s learnable parameters (PML's
	// metric_loss_i_optimizer), required when it implements
	// losses.Learnable with at least one parameter (unless FreezeThese
	// holds "metric_loss_i"). Each an Optimizer of its own.
	LossOptimizers []*models.Optimizer
	// Miners[i], when not nil, picks the tuples of block i's loss (PML's
	// mining_funcs["tuple_miner_i"]); a *miners.HDC filters the previous
	// block's tuples (see the type's doc).
	Miners []miners.Miner
	// Classifiers[i], when not nil, maps block i's EmbeddingSizes[i]
	// columns to C logits (PML's models["classifier_i"]; an MLP of two
	// Sizes, e.g. {EmbeddingSizes[i], C}, is torch's nn.Linear); its
	// targets are the batch's labels, which must lie in [0, C). It must
	// be a model of its own (not the trunk, the embedder or another
	// block's classifier).
	Classifiers []models.InputGradStepper
	// ClassifierOptimizers[i] updates Classifiers[i] (PML's
	// classifier_i_optimizer); required unless FreezeThese holds
	// "classifier_i". Each an Optimizer of its own.
	ClassifierOptimizers []*models.Optimizer
	// ClassifierLosses[i] is Classifiers[i]'s loss (PML's
	// loss_funcs["classifier_loss_i"]). If it is nil (or the slice is
	// shorter), torch's CrossEntropyLoss() (losses.NewCrossEntropy) is
	// used: every classifier has a loss.
	ClassifierLosses []*losses.CrossEntropy

	// Dataset, Sampler, BatchSampler, BatchSize, IterationsPerEpoch and
	// Seed are as MetricLossOnly's.
	Dataset            datasets.Dataset
	Sampler            samplers.Sampler
	BatchSampler       samplers.BatchSampler
	BatchSize          int
	IterationsPerEpoch int
	Seed               uint64

	// LossWeights are PML's loss_weights over the loss names
	// "metric_loss_i" (i with a Losses[i]) and "classifier_loss_i" (i with
	// a Classifiers[i]). A nil map weighs every loss 1 (PML's default);
	// a non-nil map must name every loss (PML asserts that loss_weights
	// contains each loss name), and a weight of 0 or less leaves that loss
	// out. An unknown name, or a non-finite weight, is refused.
	LossWeights map[string]float64
	// FreezeThese names the roles not updated (PML's freeze_these):
	// "trunk", "embedder", "classifier_i", "metric_loss_i",
	// "classifier_loss_i", as MetricLossOnly's and TrainWithClassifier's.
	FreezeThese []string
	// GradientClippers, LRSchedulersByIteration, LRSchedulersByEpoch,
	// SetMinLabelToZero, LabelHierarchyLevel and SubsetBatchMiner are as
	// MetricLossOnly's.
	GradientClippers                             []func() error
	LRSchedulersByIteration, LRSchedulersByEpoch []models.LRScheduler
	SetMinLabelToZero                            bool
	LabelHierarchyLevel                          int
	SubsetBatchMiner                             func(emb gometric.Matrix, labels []int) ([]int, error)

	// EndOfIterationHook and EndOfEpochHook are PML's hooks, as
	// MetricLossOnly's, receiving the CascadedEmbeddings.
	EndOfIterationHook func(t *CascadedEmbeddings, it IterationInfo) error
	EndOfEpochHook     func(t *CascadedEmbeddings, ep EpochInfo) error
	// Progress, when not nil, receives a progress bar per epoch.
	Progress io.Writer

	// blocks are the per-block buffers and state; grad is the N×E
	// gradient of the embeddings.
	blocks []cascadeBlock
	grad   []float32
	core   Base
}

// cascadeBlock is one block's pipeline and buffers.
type cascadeBlock struct {
	obj   losses.Objective
	miner blockMiner
	// x holds the block's columns, contiguous; e64 and dense them in
	// float64 for a miner whose loss is skipped.
	x     []float32
	e64   []float64
	dense *mat.Dense
	// The classifier's loss and buffers.
	ce              *losses.CrossEntropy
	logits, dlogits *mat.Dense
	dlogits32       []float32
	ceValue         float64
	// metricOn and classifierOn say that the last iteration computed the
	// block's metric loss and trained its classifier.
	metricOn, classifierOn bool
}

// blockMiner is a block's miner as the Objective's: it hands an HDC the
// previous block's tuples (PML's set_idx_externally) and keeps what it
// mined for the next block.
type blockMiner struct {
	m    miners.Miner
	prev tuples.Tuples
	out  tuples.Tuples
}

func (b *blockMiner) Mine(in miners.Input) (tuples.Tuples, error) {
	b.out = nil
	var tup tuples.Tuples
	var err error
	if h, ok := b.m.(*miners.HDC); ok {
		prev := b.prev
		if check.Nil(prev) {
			prev = nil
		}
		if err = h.SetIndicesExternally(prev, in.Labels); err != nil {
			return nil, err
		}
		tup, err = h.Mine(in)
		h.ResetIndices()
	} else {
		tup, err = b.m.Mine(in)
	}
	if err != nil {
		return nil, err
	}
	b.out = tup
	return tup, nil
}

// NewCascadedEmbeddings returns a CascadedEmbeddings with PML's required
// arguments — embedding_sizes, the trunk and its optimizer, the batch
// size, the metric losses by block and the training set — and PML's
// defaults otherwise: no miners, no classifiers, every loss of weight 1,
// no sampler, no embedder, one pass per epoch.
func NewCascadedEmbeddings(embeddingSizes []int, enc models.Encoder, opt *models.Optimizer, batchSize int, metricLosses []losses.Loss, dataset datasets.Dataset) *CascadedEmbeddings {
	return &CascadedEmbeddings{EmbeddingSizes: embeddingSizes, Encoder: enc, Optimizer: opt, BatchSize: batchSize, Losses: metricLosses, Dataset: dataset}
}

// Train runs epochs startEpoch to numEpochs inclusive (PML's
// train(start_epoch, num_epochs)), as MetricLossOnly.Train, stepping the
// blocks' classifiers' and losses' optimizers too.
func (t *CascadedEmbeddings) Train(ctx context.Context, startEpoch, numEpochs int) ([]EpochInfo, error) {
	if t == nil {
		return nil, fmt.Errorf("%s.Train: nil receiver: %w", ceName, gometric.ErrSetting)
	}
	if ctx != nil && startEpoch >= 1 {
		if err := t.validate(); err != nil {
			return nil, err
		}
	}
	b := t.prepare()
	setHooks(b, t, t.EndOfIterationHook, t.EndOfEpochHook)
	return b.train(ctx, startEpoch, numEpochs)
}

// LabelMapping is MetricLossOnly.LabelMapping: the data set's sorted
// distinct labels (at LabelHierarchyLevel) when SetMinLabelToZero is set;
// nil before Train, without SetMinLabelToZero and for a nil receiver.
func (t *CascadedEmbeddings) LabelMapping() []int {
	if t == nil {
		return nil
	}
	return t.core.LabelMapping()
}

// Per-block names: PML's keys with the block's index.
func metricName(i int) string     { return "metric_loss_" + strconv.Itoa(i) }
func classifierName(i int) string { return "classifier_" + strconv.Itoa(i) }
func ceLossName(i int) string     { return "classifier_loss_" + strconv.Itoa(i) }

// at returns s[i], or the zero value beyond s.
func at[T any](s []T, i int) T {
	var zero T
	if i < len(s) {
		return s[i]
	}
	return zero
}

// weight is LossWeights[name]: 1 for every loss with a nil map (PML's
// default); validate has checked that a non-nil map names every loss.
func (t *CascadedEmbeddings) weight(name string) float64 {
	if t.LossWeights == nil {
		return 1
	}
	return t.LossWeights[name]
}

// same reports whether a and b are the same value (false for values of
// types that cannot be compared).
func same(a, b any) bool {
	if a == nil || b == nil {
		return false
	}
	ta := reflect.TypeOf(a)
	return ta == reflect.TypeOf(b) && ta.Comparable() && a == b
}

// embeddingSize is the size of the embeddings the blocks cut.
func (t *CascadedEmbeddings) embeddingSize() int {
	if t.Embedder != nil && !check.Nil(t.Embedder) {
		return t.Embedder.EmbeddingSize()
	}
	return t.Encoder.EmbeddingSize()
}

// validate checks the blocks' settings; Base.validate checks the rest.
func (t *CascadedEmbeddings) validate() error {
	if t.Encoder == nil && t.Optimizer == nil && t.Dataset == nil && t.EmbeddingSizes == nil && t.Losses == nil {
		return fmt.Errorf("%s: not made by NewCascadedEmbeddings (the zero value has no embedding sizes, encoder, optimizer, losses or data set); use NewCascadedEmbeddings(embeddingSizes, enc, opt, batchSize, metricLosses, dataset): %w", ceName, gometric.ErrSetting)
	}
	if check.Nil(t.Encoder) {
		return fmt.Errorf("%s: Encoder is nil: %w", ceName, gometric.ErrSetting)
	}
	if err := t.validateSizes(); err != nil {
		return err
	}
	names, err := t.validateBlocks()
	if err != nil {
		return err
	}
	if err := t.validateNames(names); err != nil {
		return err
	}
	if err := t.validateOptimizers(); err != nil {
		return err
	}
	return t.validateClassifierLabels()
}

// validateSizes checks EmbeddingSizes and the lengths of the per-block
// slices.
func (t *CascadedEmbeddings) validateSizes() error {
	e, k := t.embeddingSize(), len(t.EmbeddingSizes)
	if k == 0 {
		return fmt.Errorf("%s: EmbeddingSizes is empty; give the width of every block: %w", ceName, gometric.ErrSetting)
	}
	if k > e {
		return fmt.Errorf("%s: %d EmbeddingSizes for embeddings of %d values; each block needs at least 1: %w", ceName, k, e, gometric.ErrShape)
	}
	sum := 0
	for i, s := range t.EmbeddingSizes {
		if s < 1 || s > e-sum {
			return fmt.Errorf("%s: EmbeddingSizes[%d] = %d, want 1 to %d (the embeddings have %d values, %d before block %d): %w", ceName, i, s, e-sum, e, sum, i, gometric.ErrShape)
		}
		sum += s
	}
	if sum != e {
		return fmt.Errorf("%s: EmbeddingSizes %v sum to %d but the embeddings have %d values: %w", ceName, t.EmbeddingSizes, sum, e, gometric.ErrShape)
	}
	for _, l := range []struct {
		what string
		n    int
	}{
		{"Losses", len(t.Losses)}, {"LossOptimizers", len(t.LossOptimizers)}, {"Miners", len(t.Miners)},
		{"Classifiers", len(t.Classifiers)}, {"ClassifierOptimizers", len(t.ClassifierOptimizers)}, {"ClassifierLosses", len(t.ClassifierLosses)},
	} {
		if l.n > k {
			return fmt.Errorf("%s: %s has %d entries for %d blocks (EmbeddingSizes): %w", ceName, l.what, l.n, k, gometric.ErrSetting)
		}
	}
	return nil
}

// validateBlocks checks each block's loss, miner and classifier and
// returns the loss names.
func (t *CascadedEmbeddings) validateBlocks() ([]string, error) {
	var names []string
	for i, size := range t.EmbeddingSizes {
		if l := at(t.Losses, i); l != nil {
			if check.Nil(l) {
				return nil, fmt.Errorf("%s: Losses[%d] is a nil %T: %w", ceName, i, l, gometric.ErrSetting)
			}
			names = append(names, metricName(i))
			if lr, ok := l.(losses.Learnable); ok {
				ps := lr.Params()
				for j, p := range ps {
					if p == nil || p.Value == nil || p.Value.IsEmpty() {
						return nil, fmt.Errorf("%s: the loss %T of block %d: learnable parameter %d is nil or empty: %w", ceName, l, i, j, gometric.ErrShape)
					}
				}
				if len(ps) > 0 && at(t.LossOptimizers, i) == nil && !t.frozen(metricName(i)) {
					return nil, fmt.Errorf("%s: the loss %T of block %d has learnable parameters but LossOptimizers[%d] is nil: %w", ceName, l, i, i, gometric.ErrSetting)
				}
				for j := range i {
					if same(l, at(t.Losses, j)) && len(ps) > 0 {
						return nil, fmt.Errorf("%s: Losses[%d] is Losses[%d], a loss with learnable parameters; give each block a loss of its own: %w", ceName, i, j, gometric.ErrSetting)
					}
				}
			}
		} else if at(t.LossOptimizers, i) != nil {
			return nil, fmt.Errorf("%s: LossOptimizers[%d] is set but block %d has no loss: %w", ceName, i, i, gometric.ErrSetting)
		}
		if m := at(t.Miners, i); m != nil && check.Nil(m) {
			return nil, fmt.Errorf("%s: Miners[%d] is a nil %T: %w", ceName, i, m, gometric.ErrSetting)
		}
		c := at(t.Classifiers, i)
		if c == nil {
			if at(t.ClassifierOptimizers, i) != nil || at(t.ClassifierLosses, i) != nil {
				return nil, fmt.Errorf("%s: ClassifierOptimizers[%d] or ClassifierLosses[%d] is set but Classifiers[%d] is nil: %w", ceName, i, i, i, gometric.ErrSetting)
			}
			continue
		}
		switch {
		case check.Nil(c):
			return nil, fmt.Errorf("%s: Classifiers[%d] is a nil %T: %w", ceName, i, c, gometric.ErrSetting)
		case same(c, t.Encoder) || same(c, t.Embedder):
			return nil, fmt.Errorf("%s: Classifiers[%d] is the trunk or the embedder; give it a model of its own: %w", ceName, i, gometric.ErrSetting)
		case at(t.ClassifierOptimizers, i) == nil && !t.frozen(classifierName(i)):
			return nil, fmt.Errorf("%s: ClassifierOptimizers[%d] is nil (freeze %q with FreezeThese to train without one): %w", ceName, i, classifierName(i), gometric.ErrSetting)
		}
		for j := range i {
			if same(c, at(t.Classifiers, j)) {
				return nil, fmt.Errorf("%s: Classifiers[%d] is Classifiers[%d]; give each block a model of its own: %w", ceName, i, j, gometric.ErrSetting)
			}
		}
		if in := c.InputShape(); len(in) != 1 || in[0] != size {
			return nil, fmt.Errorf("%s: Classifiers[%d] takes %v but block %d has %d columns: %w", ceName, i, in, i, size, gometric.ErrShape)
		}
		names = append(names, ceLossName(i))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no block has a loss or a classifier; set Losses or Classifiers: %w", ceName, gometric.ErrSetting)
	}
	return names, nil
}

// frozen reports whether FreezeThese names role.
func (t *CascadedEmbeddings) frozen(role string) bool { return slices.Contains(t.FreezeThese, role) }

// validateNames checks LossWeights against the loss names and
// FreezeThese against the roles.
func (t *CascadedEmbeddings) validateNames(names []string) error {
	for k, w := range t.LossWeights {
		if !slices.Contains(names, k) {
			return fmt.Errorf("%s: LossWeights holds %q; the losses are %q: %w", ceName, k, names, gometric.ErrSetting)
		}
		if math.IsNaN(w) || math.Abs(w) > maxLossWeight {
			return fmt.Errorf("%s: LossWeights[%q] = %v, want a finite weight of magnitude at most %g: %w", ceName, k, w, maxLossWeight, gometric.ErrSetting)
		}
	}
	if t.LossWeights != nil {
		for _, n := range names {
			if _, ok := t.LossWeights[n]; !ok {
				return fmt.Errorf("%s: LossWeights lacks %q; a non-nil LossWeights must weigh every loss (%q), as PML's loss_weights must (weigh it 0 to leave it out): %w", ceName, n, names, gometric.ErrSetting)
			}
		}
	}
	if len(t.FreezeThese) > maxFreezeNames {
		return fmt.Errorf("%s: FreezeThese holds %d names, want at most %d: %w", ceName, len(t.FreezeThese), maxFreezeNames, gometric.ErrSetting)
	}
	roles := append([]string{roleTrunk, roleEmbedder}, names...)
	for i := range t.EmbeddingSizes {
		if at(t.Classifiers, i) != nil {
			roles = append(roles, classifierName(i))
		}
	}
	for _, r := range t.FreezeThese {
		if !slices.Contains(roles, r) {
			return fmt.Errorf("%s: FreezeThese holds %q, want one of %q: %w", ceName, r, roles, gometric.ErrSetting)
		}
	}
	return nil
}

// validateOptimizers checks that no two roles share an Optimizer.
func (t *CascadedEmbeddings) validateOptimizers() error {
	type role struct {
		name string
		opt  *models.Optimizer
	}
	all := []role{{"the trunk's Optimizer", t.Optimizer}, {"EmbedderOptimizer", t.EmbedderOptimizer}}
	for i, o := range t.LossOptimizers {
		all = append(all, role{fmt.Sprintf("LossOptimizers[%d]", i), o})
	}
	for i, o := range t.ClassifierOptimizers {
		all = append(all, role{fmt.Sprintf("ClassifierOptimizers[%d]", i), o})
	}
	for i, a := range all {
		for _, b := range all[:i] {
			if a.opt != nil && a.opt == b.opt {
				return fmt.Errorf("%s: %s is %s; give each role an Optimizer of its own: %w", ceName, a.name, b.name, gometric.ErrSetting)
			}
		}
	}
	return nil
}

// validateClassifierLabels checks that the labels the classifiers get
// (at LabelHierarchyLevel, relabelled when SetMinLabelToZero is set) are
// classes of each classifier.
func (t *CascadedEmbeddings) validateClassifierLabels() error {
	if check.Nil(t.Dataset) {
		return nil // Base.validate reports it
	}
	labels, err := levelLabels(ceName, t.Dataset, t.LabelHierarchyLevel)
	if err != nil {
		return nil // Base.validate reports it
	}
	var distinct int
	if t.SetMinLabelToZero {
		distinct = len(slices.Compact(slices.Sorted(slices.Values(labels))))
	}
	for i := range t.EmbeddingSizes {
		c := at(t.Classifiers, i)
		if c == nil {
			continue
		}
		classes := c.EmbeddingSize()
		if t.SetMinLabelToZero {
			if distinct > classes {
				return fmt.Errorf("%s: the data set has %d classes but Classifiers[%d] has %d outputs: %w", ceName, distinct, i, classes, gometric.ErrLabels)
			}
			continue
		}
		for k, l := range labels {
			if l < 0 || l >= classes {
				return fmt.Errorf("%s: label %d of sample %d is not a class of Classifiers[%d]'s %d outputs (want 0..%d; set SetMinLabelToZero to relabel): %w", ceName, l, k, i, classes, classes-1, gometric.ErrLabels)
			}
		}
	}
	return nil
}

// prepare sets up t.core to run the cascade.
func (t *CascadedEmbeddings) prepare() *Base {
	b := &t.core
	b.name = ceName
	b.Encoder, b.Optimizer = t.Encoder, t.Optimizer
	b.Embedder, b.EmbedderOptimizer = t.Embedder, t.EmbedderOptimizer
	b.Dataset, b.Sampler, b.BatchSampler = t.Dataset, t.Sampler, t.BatchSampler
	b.BatchSize, b.IterationsPerEpoch, b.Seed = t.BatchSize, t.IterationsPerEpoch, t.Seed
	b.FreezeThese, b.GradientClippers = t.FreezeThese, t.GradientClippers
	b.LRSchedulersByIteration, b.LRSchedulersByEpoch = t.LRSchedulersByIteration, t.LRSchedulersByEpoch
	b.SetMinLabelToZero, b.Progress = t.SetMinLabelToZero, t.Progress
	b.LabelHierarchyLevel, b.SubsetBatchMiner = t.LabelHierarchyLevel, t.SubsetBatchMiner
	b.EndOfIterationHook, b.EndOfEpochHook = nil, nil
	b.mining = slices.ContainsFunc(t.Miners, func(m miners.Miner) bool { return m != nil })
	if len(t.blocks) != len(t.EmbeddingSizes) {
		t.blocks = make([]cascadeBlock, len(t.EmbeddingSizes))
	}
	for i := range t.blocks {
		blk := &t.blocks[i]
		blk.ce = at(t.ClassifierLosses, i)
		if blk.ce == nil {
			blk.ce = losses.NewCrossEntropy()
		}
	}
	b.CalculateLoss = t.calculate
	b.StepOptimizers = t.step
	return b
}

// calculate is PML's CascadedEmbeddings.calculate_loss on e, the N×E
// embeddings.
func (t *CascadedEmbeddings) calculate(e gometric.Matrix, labels []int) (BatchLoss, error) {
	n, cols := e.Rows, e.Cols
	if sum := t.sizesSum(); cols != sum || len(t.blocks) != len(t.EmbeddingSizes) {
		return BatchLoss{}, fmt.Errorf("embeddings of %d values for blocks of %v (%d): %w", cols, t.EmbeddingSizes, sum, gometric.ErrShape)
	}
	t.grad = slices.Grow(t.grad[:0], n*cols)[:n*cols]
	clear(t.grad)
	out := BatchLoss{Parts: map[string]float64{}}
	var prev tuples.Tuples
	s := 0
	for i, size := range t.EmbeddingSizes {
		blk := &t.blocks[i]
		blk.x = slices.Grow(blk.x[:0], n*size)[:n*size]
		for r := range n {
			copy(blk.x[r*size:(r+1)*size], e.Data[r*cols+s:r*cols+s+size])
		}
		x := gometric.Matrix{Rows: n, Cols: size, Data: blk.x}
		tup, err := t.metricBlock(i, blk, x, labels, prev, s, &out)
		if err != nil {
			return out, err
		}
		prev = tup
		s += size
	}
	s = 0
	for i, size := range t.EmbeddingSizes {
		if err := t.classifierBlock(i, &t.blocks[i], labels, s, &out); err != nil {
			return out, err
		}
		s += size
	}
	out.Grad = gometric.Matrix{Rows: n, Cols: cols, Data: t.grad}
	return out, nil
}

// sizesSum is the sum of EmbeddingSizes.
func (t *CascadedEmbeddings) sizesSum() int {
	s := 0
	for _, k := range t.EmbeddingSizes {
		s += k
	}
	return s
}

// metricBlock mines block i's columns x (prev are the previous block's
// tuples, for an HDC miner) and computes its weighted metric loss, adding
// its gradient to columns s.. of t.grad; it returns the block's tuples
// (nil without a miner).
func (t *CascadedEmbeddings) metricBlock(i int, blk *cascadeBlock, x gometric.Matrix, labels []int, prev tuples.Tuples, s int, out *BatchLoss) (tuples.Tuples, error) {
	blk.metricOn = false
	loss, m := at(t.Losses, i), at(t.Miners, i)
	blk.miner = blockMiner{m: m, prev: prev}
	w := t.weight(metricName(i))
	if loss == nil || w <= 0 {
		if loss != nil {
			out.Parts[metricName(i)] = 0 // PML: maybe_get_metric_loss returns 0
		}
		if m == nil {
			return nil, nil
		}
		// PML mines even when the loss is left out.
		tup, err := blk.miner.Mine(miners.Input{Embeddings: blk.float64(x), Labels: labels})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", "tuple_miner_"+strconv.Itoa(i), err)
		}
		addCounts(&out.Mined, miners.CountOf(tup))
		return tup, nil
	}
	blk.obj.Loss, blk.obj.Miner = loss, nil
	if m != nil {
		blk.obj.Miner = &blk.miner
	}
	_, g, err := blk.obj.Compute(x, labels)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", metricName(i), err)
	}
	res, mined := blk.obj.Last()
	if w != 1 {
		for _, pg := range res.ParamGrads {
			if pg != nil {
				pg.Scale(w, pg)
			}
		}
	}
	blk.metricOn = true
	out.Parts[metricName(i)] = res.Loss
	out.Loss += w * res.Loss
	addCounts(&out.Mined, mined)
	t.addGrad(g, w, s)
	return blk.miner.out, nil
}

// float64 returns x as a float64 matrix in blk's buffers.
func (blk *cascadeBlock) float64(x gometric.Matrix) *mat.Dense {
	nd := x.Rows * x.Cols
	blk.e64 = slices.Grow(blk.e64[:0], nd)[:nd]
	for k, v := range x.Data[:nd] {
		blk.e64[k] = float64(v)
	}
	if blk.dense == nil || &blk.dense.RawMatrix().Data[0] != &blk.e64[0] {
		blk.dense = mat.NewDense(x.Rows, x.Cols, blk.e64)
	} else if r, c := blk.dense.Dims(); r != x.Rows || c != x.Cols {
		blk.dense = mat.NewDense(x.Rows, x.Cols, blk.e64)
	}
	return blk.dense
}

// addCounts adds c to dst.
func addCounts(dst *miners.Counts, c miners.Counts) {
	dst.PosPairs += c.PosPairs
	dst.NegPairs += c.NegPairs
	dst.Triplets += c.Triplets
}

// addGrad adds w·g, an N×size gradient, to columns s.. of t.grad.
func (t *CascadedEmbeddings) addGrad(g gometric.Matrix, w float64, s int) {
	cols, size := t.sizesSum(), g.Cols
	for r := range g.Rows {
		dst, src := t.grad[r*cols+s:r*cols+s+size], g.Data[r*size:(r+1)*size]
		if w == 1 {
			for k, v := range src {
				dst[k] += v
			}
			continue
		}
		for k, v := range src {
			dst[k] += float32(w * float64(v))
		}
	}
}

// classifierBlock trains block i's classifier, when it has one and its
// loss's weight is positive, on the block's columns, adding the gradient
// with respect to them to columns s.. of t.grad.
func (t *CascadedEmbeddings) classifierBlock(i int, blk *cascadeBlock, labels []int, s int, out *BatchLoss) error {
	blk.classifierOn = false
	c := at(t.Classifiers, i)
	if c == nil {
		return nil
	}
	w := t.weight(ceLossName(i))
	if w <= 0 { // PML: classifier_loss_i is 0
		out.Parts[ceLossName(i)] = 0
		return nil
	}
	size := t.EmbeddingSizes[i]
	x := gometric.Matrix{Rows: len(blk.x) / size, Cols: size, Data: blk.x}
	blk.ceValue = 0
	_, dx, err := c.TrainStepInput(x, func(logits gometric.Matrix) (float32, gometric.Matrix, error) {
		return blk.classifierLoss(logits, labels, w)
	})
	if err != nil {
		return fmt.Errorf("%s: %w", classifierName(i), err)
	}
	if dx.Rows != x.Rows || dx.Cols != size || len(dx.Data) != x.Rows*size {
		return fmt.Errorf("%s: a %d×%d input gradient for %d×%d inputs: %w", classifierName(i), dx.Rows, dx.Cols, x.Rows, size, gometric.ErrShape)
	}
	blk.classifierOn = true
	out.Parts[ceLossName(i)] = blk.ceValue
	out.Loss += w * blk.ceValue
	t.addGrad(dx, 1, s) // w is in the classifier's loss already
	return nil
}

// classifierLoss is w × the block's cross-entropy of the logits against
// the labels, in float64; blk.ceValue keeps the unweighted value.
func (blk *cascadeBlock) classifierLoss(logits gometric.Matrix, labels []int, w float64) (float32, gometric.Matrix, error) {
	n, c := logits.Rows, logits.Cols
	if blk.logits == nil || blk.logits.RawMatrix().Rows != n || blk.logits.RawMatrix().Cols != c {
		blk.logits, blk.dlogits = mat.NewDense(n, c, nil), mat.NewDense(n, c, nil)
	}
	raw := blk.logits.RawMatrix().Data
	for k, v := range logits.Data[:n*c] {
		raw[k] = float64(v)
	}
	v, err := blk.ce.Compute(blk.logits, labels, blk.dlogits)
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	blk.ceValue = v
	blk.dlogits32 = slices.Grow(blk.dlogits32[:0], n*c)[:n*c]
	for k, g := range blk.dlogits.RawMatrix().Data {
		blk.dlogits32[k] = float32(w * g)
	}
	return float32(w * v), gometric.Matrix{Rows: n, Cols: c, Data: blk.dlogits32}, nil
}

// step is PML's step_optimizers for the blocks: each trained classifier's
// optimizer and each computed learnable loss's, unless frozen.
func (t *CascadedEmbeddings) step() error {
	for i := range t.blocks {
		blk := &t.blocks[i]
		if blk.metricOn && !t.frozen(metricName(i)) {
			var opt losses.ParamOptimizer
			if o := at(t.LossOptimizers, i); o != nil {
				opt = o
			}
			if err := blk.obj.StepParams(opt); err != nil {
				return fmt.Errorf("%s: %w", metricName(i), err)
			}
		}
		c := at(t.Classifiers, i)
		if c == nil {
			continue
		}
		if !blk.classifierOn || t.frozen(classifierName(i)) {
			c.ZeroGrad()
			continue
		}
		if err := c.Step(at(t.ClassifierOptimizers, i)); err != nil {
			return fmt.Errorf("%s: %w", classifierName(i), err)
		}
	}
	return nil
}
