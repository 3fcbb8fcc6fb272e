package trainers

import (
	"context"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

const (
	damlName      = "trainers.DeepAdversarialMetricLearning"
	roleGenerator = "generator"
	lossSynth     = "synth_loss"
	lossGAdv      = "g_adv_loss"
	lossGHard     = "g_hard_loss"
	lossGReg      = "g_reg_loss"

	// defaultGTripletsPerAnchor is PML's g_triplets_per_anchor default.
	defaultGTripletsPerAnchor = 100
	// damlSeedStream is the second word of the PCG state of the synthetic
	// triplets' generator; the epoch is added to it.
	damlSeedStream = 0x6461_6d6c // "daml"
	// l2NormEps is torch.nn.functional.normalize's eps.
	l2NormEps = 1e-12
)

// MaxSynthTriplets bounds the synthetic triplets of one batch of
// DeepAdversarialMetricLearning, N·k for a batch of N samples and k =
// GTripletsPerAnchor: the synth and g_adv losses build distance matrices
// of (3·N·k)² float64 values (2048 triplets: 6144 rows, 302 MB per
// matrix), as PML's losses do on the 3·N·k synthetic embeddings.
const MaxSynthTriplets = 2048

// DeepAdversarialMetricLearning mirrors PML's
// trainers.DeepAdversarialMetricLearning (DAML, Duan et al. 2018): a
// TrainWithClassifier plus a generator (PML's models["generator"]) that
// turns real (anchor, positive, negative) triplets of trunk outputs into
// hard synthetic negatives, trained adversarially against the metric.
//
// At every iteration the trunk embeds the batch (N×D, PML's penultimate
// embeddings). Depending on the epoch's phase:
//
//   - metric ("metric_loss", "classifier_loss"): the embedder maps the
//     trunk output to the embeddings, on which the metric loss (with the
//     tuple Miner) and, when Classifier is set, the classifier's
//     cross-entropy are computed, as TrainWithClassifier's;
//   - adversarial ("g_adv_loss", "g_hard_loss", "g_reg_loss"): random
//     triplets are drawn from the batch's labels (PML's
//     convert_to_triplets(None, labels, t_per_anchor=GTripletsPerAnchor):
//     tuples.RandomTriplets), the rows [h_a, h_p, h_n] of the trunk output
//     are concatenated (T×3D) and the Generator maps them to T synthetic
//     negatives s (T×D); the rows a, p, s are interleaved (PML's
//     unslice_by_n: a₀, p₀, s₀, a₁, ...) and embedded by the embedder,
//     and the triplets (3i, 3i+1, 3i+2) (miners.EmbeddingsAlreadyPackaged-
//     AsTriplets) go to GAdvLoss — a TripletMargin whose margin is
//     negated and whose distance is PML's NegativeLpDistance (the Lp
//     distance times −1): relu(d(a,s) − d(a,p) − margin) with PML's
//     defaults, which pulls the synthetic negatives towards the anchors;
//     g_hard_loss is torch's mse_loss (mean) between the L2-normalised
//     synthetic negatives and the normalised real anchors, g_reg_loss the
//     same against the normalised real negatives;
//   - both: the two above and "synth_loss", SynthLoss on the interleaved
//     synthetic triplets.
//
// The phase of epoch e (PML's update_loss_weights) is metric-alone for
// e ≤ MetricAloneEpochs, generator-alone for MetricAloneEpochs < e ≤
// MetricAloneEpochs+GAloneEpochs, and both afterwards; the losses of the
// other phases have weight 0 (LossWeightsAt) and are not computed. The
// total loss is Σ LossWeights[name]·loss, and its gradient flows, as one
// torch backward does, into every model it depends on: the generator
// (from g_adv, synth, g_hard and g_reg), the embedder (from every loss it
// embedded: it runs once per iteration on the stacked rows [real rows;
// interleaved synthetic rows], so its gradient is the sum over both, as
// PML's two calls in one graph), the classifier, and the trunk (through
// the real rows, the a and p rows of the synthetic triplets, the
// generator's input gradient and the normalised targets of g_hard and
// g_reg). As PML's step_optimizers, the trunk, embedder and classifier
// are updated in the metric and both phases, the generator in the
// generator-alone and both phases; in the generator-alone phase the trunk
// only runs forward (PML sets its requires_grad to False) and the
// classifier does not run; in the metric-alone phase the generator does
// not run. A batch in which no triplet can be drawn (no label with two
// samples and a negative) has no synthetic path: its adversarial losses
// are 0 and the generator is not stepped (PML's mse_loss of empty tensors
// is NaN).
//
// Departures from PML, all documented at their fields: FreezeThese is
// honoured (PML's DAML re-enables every model's gradient and steps
// regardless of freeze_these); GAdvLoss is copied when Train starts, so
// the caller's loss is not mutated (PML negates its margin and replaces
// its distance in place); the Classifier is optional, as in PML, though
// TrainWithClassifier requires one.
//
// NewDeepAdversarialMetricLearning fills the required fields; the zero
// value has none of them, and Train refuses it (and a nil
// *DeepAdversarialMetricLearning) with an error wrapping
// gometric.ErrSetting naming the constructor. A
// DeepAdversarialMetricLearning is not safe for concurrent use: it holds
// a seeded generator and per-iteration buffers; run one Train at a time.
type DeepAdversarialMetricLearning struct {
	// TrainWithClassifier holds the trunk, embedder, metric loss, tuple
	// miner, optional classifier, data and loop settings (see its
	// fields). Its hooks and MetricLossOnly's must stay nil: set
	// DeepAdversarialMetricLearning's. LossOptimizer must be nil: as
	// PML's step_optimizers, DAML steps only the trunk, embedder,
	// classifier and generator optimizers, so a learnable metric or synth
	// loss's parameters are never updated. Classifier may be nil (then
	// "classifier_loss" is 0, as PML's without a classifier). LossWeights
	// may name "metric_loss", "classifier_loss", "synth_loss",
	// "g_adv_loss", "g_hard_loss" and "g_reg_loss" (a missing name weighs
	// 1); FreezeThese may name "trunk", "embedder", "classifier" and
	// "generator" (a frozen model is not stepped; the gradient still
	// flows through it).
	TrainWithClassifier
	// Generator maps the concatenated trunk outputs of a triplet,
	// [anchor, positive, negative] (3·D values, D the trunk's
	// EmbeddingSize), to a synthetic negative of D values (PML's
	// models["generator"]), e.g. a models.MLP with Sizes {3·D, ..., D}.
	// It must be a model of its own.
	Generator models.InputGradStepper
	// GeneratorOptimizer updates the Generator (PML's
	// generator_optimizer); required unless FreezeThese holds
	// "generator". Use an Optimizer of its own.
	GeneratorOptimizer *models.Optimizer
	// SynthLoss is the metric loss on the synthetic triplets (PML's
	// loss_funcs["synth_loss"]), given the interleaved rows and their
	// labels with the triplets (3i, 3i+1, 3i+2). Required.
	SynthLoss losses.Loss
	// GAdvLoss is the generator's adversarial loss (PML's
	// loss_funcs["g_adv_loss"], which must be a TripletMarginLoss).
	// Required. Train uses a copy made when it starts, with the margin
	// negated and the distance replaced by PML's NegativeLpDistance
	// (LpDistance's defaults — normalised, p 2, power 1 — times −1): the
	// caller's Distance is ignored, as PML overwrites it; its reducer,
	// Swap, SmoothLoss and regulariser are kept.
	GAdvLoss *losses.TripletMargin
	// MetricAloneEpochs and GAloneEpochs are PML's metric_alone_epochs and
	// g_alone_epochs (default 0, which is a legal setting: no such
	// phase); negative counts are refused.
	MetricAloneEpochs, GAloneEpochs int
	// GTripletsPerAnchor is PML's g_triplets_per_anchor, the random
	// triplets drawn per anchor for the generator. If GTripletsPerAnchor
	// is 0, 100 (PML's default) is used; negative is refused. A batch of
	// N samples draws up to N·GTripletsPerAnchor triplets, at most
	// MaxSynthTriplets (an ErrSetting error names both otherwise): PML's
	// default 100 with batches of 64 exceeds it, so set it, e.g. to 16.
	// The draws come from a PCG generator seeded with Seed and the epoch,
	// so a run is reproducible and a run resumed at an epoch draws what
	// a continuous one would.
	GTripletsPerAnchor int

	// EndOfIterationHook and EndOfEpochHook are PML's hooks, as
	// MetricLossOnly's; IterationInfo.Parts also holds the unweighted
	// "classifier_loss", "synth_loss", "g_adv_loss", "g_hard_loss" and
	// "g_reg_loss" of the losses computed in the epoch's phase.
	EndOfIterationHook func(t *DeepAdversarialMetricLearning, it IterationInfo) error
	EndOfEpochHook     func(t *DeepAdversarialMetricLearning, ep EpochInfo) error

	// State of one Train: the epoch's phase and triplet generator, the
	// synthetic losses' pipelines and g_adv's copy.
	phase            damlPhase
	rng              *rand.Rand
	synthObj, advObj losses.Objective
	adv              losses.TripletMargin
	// Which models ran in the iteration (and so may step).
	embRan, clsRan, genRan bool
	// Buffers of one iteration.
	total                     float64
	parts                     map[string]float64
	mined                     miners.Counts
	dh, gin, stack, gemb, ds  []float32
	labels3                   []int
	rowS, rowA, rowN, gS, gAN []float64
}

// damlPhase is the phase of an epoch: which losses are active.
type damlPhase struct{ metric, adv, both bool }

// NewDeepAdversarialMetricLearning returns a DeepAdversarialMetricLearning
// with PML's required arguments — the trunk and its optimizer, the batch
// size, the metric loss, the synth loss, the adversarial TripletMargin
// loss, the generator and its optimizer, the training set — and PML's
// defaults otherwise: no classifier (set Classifier and
// ClassifierOptimizer to add one; CrossEntropy is its loss), every loss
// of weight 1, no embedder, no miner, MetricAloneEpochs and GAloneEpochs
// 0, GTripletsPerAnchor 100 (see its field for the batch sizes it fits).
func NewDeepAdversarialMetricLearning(enc models.Encoder, opt *models.Optimizer, batchSize int, metricLoss, synthLoss losses.Loss, gAdvLoss *losses.TripletMargin, generator models.InputGradStepper, generatorOpt *models.Optimizer, dataset datasets.Dataset) *DeepAdversarialMetricLearning {
	return &DeepAdversarialMetricLearning{
		TrainWithClassifier: TrainWithClassifier{
			MetricLossOnly: MetricLossOnly{Encoder: enc, Optimizer: opt, BatchSize: batchSize, Loss: metricLoss, Dataset: dataset},
			ClassifierLoss: losses.NewCrossEntropy(),
		},
		Generator:          generator,
		GeneratorOptimizer: generatorOpt,
		SynthLoss:          synthLoss,
		GAdvLoss:           gAdvLoss,
	}
}

// damlLosses are PML's DAML loss names, in its order.
var damlLosses = []string{lossMetric, lossClassifier, lossSynth, lossGAdv, lossGHard, lossGReg}

// phaseAt is PML's update_loss_weights for epoch.
func (t *DeepAdversarialMetricLearning) phaseAt(epoch int) damlPhase {
	metricAlone := epoch <= t.MetricAloneEpochs
	advAlone := !metricAlone && epoch-t.MetricAloneEpochs <= t.GAloneEpochs
	both := !metricAlone && !advAlone
	return damlPhase{metric: metricAlone || both, adv: advAlone || both, both: both}
}

// LossWeightsAt returns the loss weights in force at epoch (from 1), as
// PML's update_loss_weights sets them: LossWeights (1 for a missing name)
// for the losses of the epoch's phase, 0 for the others, with every one
// of PML's six loss names. It is nil for a nil receiver.
func (t *DeepAdversarialMetricLearning) LossWeightsAt(epoch int) map[string]float64 {
	if t == nil {
		return nil
	}
	ph := t.phaseAt(epoch)
	out := make(map[string]float64, len(damlLosses))
	for _, k := range damlLosses {
		active := false
		switch k {
		case lossMetric, lossClassifier:
			active = ph.metric
		case lossSynth:
			active = ph.both
		default:
			active = ph.adv
		}
		out[k] = 0
		if active {
			out[k] = t.weight(k)
		}
	}
	return out
}

// Train runs epochs startEpoch to numEpochs inclusive (PML's
// train(start_epoch, num_epochs)), as MetricLossOnly.Train, in each
// epoch's phase.
func (t *DeepAdversarialMetricLearning) Train(ctx context.Context, startEpoch, numEpochs int) ([]EpochInfo, error) {
	if t == nil {
		return nil, fmt.Errorf("%s.Train: nil receiver: %w", damlName, gometric.ErrSetting)
	}
	if err := notDistributed(damlName, t.Comm); err != nil {
		return nil, err
	}
	checked := ctx != nil && startEpoch >= 1
	if checked {
		if err := t.validate(); err != nil {
			return nil, err
		}
	}
	b := t.prepare(damlName)
	if checked {
		// The embedder's checks, before DAML takes the role from Base.
		if err := b.validate(); err != nil {
			return nil, err
		}
		t.setupLosses()
	}
	// DAML runs the embedder itself (on real and synthetic rows) and
	// steps it in StepOptimizers.
	b.Embedder, b.EmbedderOptimizer = nil, nil
	b.CalculateLoss = t.calculate
	b.StepOptimizers = t.stepOptimizers
	setHooks(b, t, t.EndOfIterationHook, nil)
	b.EndOfEpochHook = func(_ *Base, ep EpochInfo) error {
		var err error
		if t.EndOfEpochHook != nil {
			err = t.EndOfEpochHook(t, ep)
		}
		t.enterEpoch(b, ep.Epoch+1)
		return err
	}
	t.enterEpoch(b, startEpoch)
	return b.train(ctx, startEpoch, numEpochs)
}

// setupLosses makes g_adv's copy (PML's negated margin and
// NegativeLpDistance) and the synthetic losses' pipelines.
func (t *DeepAdversarialMetricLearning) setupLosses() {
	t.adv = *t.GAdvLoss
	t.adv.Margin = -t.GAdvLoss.Margin
	t.adv.Distance = negLp{distances.NewLp()}
	packaged := miners.NewEmbeddingsAlreadyPackagedAsTriplets()
	t.synthObj = losses.Objective{Loss: t.SynthLoss, Miner: packaged}
	t.advObj = losses.Objective{Loss: &t.adv, Miner: packaged}
}

// enterEpoch sets the phase of epoch, the trunk's freezing in the Base
// (frozen in the generator-alone phase; the embedder is DAML's) and the
// triplet generator.
func (t *DeepAdversarialMetricLearning) enterEpoch(b *Base, epoch int) {
	t.phase = t.phaseAt(epoch)
	freeze := make([]string, 0, len(t.FreezeThese)+1)
	for _, r := range t.FreezeThese {
		if r != roleEmbedder && !slices.Contains(freeze, r) {
			freeze = append(freeze, r)
		}
	}
	if !t.phase.metric && !slices.Contains(freeze, roleTrunk) {
		freeze = append(freeze, roleTrunk)
	}
	b.FreezeThese = freeze
	t.rng = rand.New(rand.NewPCG(t.Seed, damlSeedStream+uint64(epoch)))
}

// validate checks DAML's settings; Base.validate checks the rest.
func (t *DeepAdversarialMetricLearning) validate() error {
	if t.Encoder == nil && t.Loss == nil && t.Dataset == nil && t.Optimizer == nil && t.Generator == nil && t.SynthLoss == nil && t.GAdvLoss == nil {
		return fmt.Errorf("%s: not made by NewDeepAdversarialMetricLearning (the zero value has no encoder, optimizer, losses, generator or data set); use NewDeepAdversarialMetricLearning(enc, opt, batchSize, metricLoss, synthLoss, gAdvLoss, generator, generatorOpt, dataset): %w", damlName, gometric.ErrSetting)
	}
	switch {
	case t.Encoder == nil:
		return fmt.Errorf("%s: Encoder is nil: %w", damlName, gometric.ErrSetting)
	case t.Loss == nil:
		return fmt.Errorf("%s: Loss (the metric loss) is nil: %w", damlName, gometric.ErrSetting)
	case check.Nil(t.SynthLoss):
		return fmt.Errorf("%s: SynthLoss is nil: %w", damlName, gometric.ErrSetting)
	case t.GAdvLoss == nil:
		return fmt.Errorf("%s: GAdvLoss is nil (PML's g_adv_loss, a TripletMargin): %w", damlName, gometric.ErrSetting)
	case check.Nil(t.Generator):
		return fmt.Errorf("%s: Generator is nil: %w", damlName, gometric.ErrSetting)
	case t.LossOptimizer != nil:
		return fmt.Errorf("%s: LossOptimizer is set, but DAML never steps a loss's parameters (PML's step_optimizers steps only the trunk, embedder, classifier and generator); leave it nil: %w", damlName, gometric.ErrSetting)
	case t.SubsetBatchMiner != nil && t.Embedder != nil:
		return fmt.Errorf("%s: SubsetBatchMiner with an Embedder: DAML runs the embedder itself, so the subset miner would see the trunk's output, not the embeddings PML's compute_embeddings gives it; drop one of them: %w", damlName, gometric.ErrUnsupported)
	case t.MetricAloneEpochs < 0:
		return fmt.Errorf("%s: MetricAloneEpochs = %d, want at least 0: %w", damlName, t.MetricAloneEpochs, gometric.ErrSetting)
	case t.GAloneEpochs < 0:
		return fmt.Errorf("%s: GAloneEpochs = %d, want at least 0: %w", damlName, t.GAloneEpochs, gometric.ErrSetting)
	case t.GTripletsPerAnchor < 0:
		return fmt.Errorf("%s: GTripletsPerAnchor = %d, want at least 1 (0 means PML's 100): %w", damlName, t.GTripletsPerAnchor, gometric.ErrSetting)
	case t.MetricLossOnly.EndOfIterationHook != nil || t.MetricLossOnly.EndOfEpochHook != nil || t.TrainWithClassifier.EndOfIterationHook != nil || t.TrainWithClassifier.EndOfEpochHook != nil:
		return fmt.Errorf("%s: a hook of the embedded TrainWithClassifier or MetricLossOnly is set; set DeepAdversarialMetricLearning's EndOfIterationHook and EndOfEpochHook: %w", damlName, gometric.ErrSetting)
	}
	if err := t.validateNames(damlName, []string{roleTrunk, roleEmbedder, roleClassifier, roleGenerator}, damlLosses); err != nil {
		return err
	}
	if m := t.GAdvLoss.Margin; math.IsNaN(m) || math.IsInf(m, 0) {
		return fmt.Errorf("%s: GAdvLoss.Margin = %v, want a finite margin: %w", damlName, m, gometric.ErrSetting)
	}
	g := t.Generator
	switch {
	case any(g) == any(t.Encoder) || (t.Embedder != nil && any(g) == any(t.Embedder)) || (t.Classifier != nil && any(g) == any(t.Classifier)):
		return fmt.Errorf("%s: Generator is the trunk, the embedder or the classifier; give it a model of its own: %w", damlName, gometric.ErrSetting)
	case t.GeneratorOptimizer == nil && !t.frozen(roleGenerator):
		return fmt.Errorf("%s: GeneratorOptimizer is nil (freeze the generator with FreezeThese to train without one): %w", damlName, gometric.ErrSetting)
	case t.GeneratorOptimizer != nil && (t.GeneratorOptimizer == t.Optimizer || t.GeneratorOptimizer == t.EmbedderOptimizer || t.GeneratorOptimizer == t.ClassifierOptimizer):
		return fmt.Errorf("%s: GeneratorOptimizer is another role's Optimizer; give the generator an Optimizer of its own: %w", damlName, gometric.ErrSetting)
	}
	d := t.Encoder.EmbeddingSize()
	if in := g.InputShape(); len(in) != 1 || in[0] != 3*d {
		return fmt.Errorf("%s: the generator takes %v but a triplet of trunk outputs has 3·%d = %d values: %w", damlName, in, d, 3*d, gometric.ErrShape)
	}
	if e := g.EmbeddingSize(); e != d {
		return fmt.Errorf("%s: the generator outputs %d values but the trunk's outputs have %d: %w", damlName, e, d, gometric.ErrShape)
	}
	if k := t.perAnchor(); t.BatchSampler == nil && t.BatchSize > 0 && t.BatchSize > MaxSynthTriplets/k {
		return t.tooManyTriplets(t.BatchSize, k)
	}
	if t.Classifier != nil {
		return t.validateClassifier(damlName)
	}
	if t.frozen(roleClassifier) {
		return fmt.Errorf("%s: FreezeThese holds %q but Classifier is nil: %w", damlName, roleClassifier, gometric.ErrSetting)
	}
	return nil
}

// perAnchor is GTripletsPerAnchor with PML's default.
func (t *DeepAdversarialMetricLearning) perAnchor() int {
	if t.GTripletsPerAnchor == 0 {
		return defaultGTripletsPerAnchor
	}
	return t.GTripletsPerAnchor
}

func (t *DeepAdversarialMetricLearning) tooManyTriplets(n, k int) error {
	return fmt.Errorf("%s: GTripletsPerAnchor = %d with batches of %d samples draws up to %d·%d synthetic triplets (the synth and g_adv losses build distance matrices of their 3× as many rows squared), above the limit of %d; lower GTripletsPerAnchor: %w",
		damlName, k, n, n, k, MaxSynthTriplets, gometric.ErrSetting)
}

// zeroedBuf returns buf resized to n values, zeroed.
func zeroedBuf[T any](buf []T, n int) []T {
	buf = slices.Grow(buf[:0], n)[:n]
	clear(buf)
	return buf
}

// calculate is PML's DAML calculate_loss on the trunk output h (N×D): it
// returns the weighted total loss and d(total)/dh, having run (and left
// the gradients in) the embedder, the classifier and the generator.
func (t *DeepAdversarialMetricLearning) calculate(h gometric.Matrix, labels []int) (BatchLoss, error) {
	n, d := h.Rows, h.Cols
	t.total, t.mined = 0, miners.Counts{}
	t.parts = map[string]float64{}
	t.embRan, t.clsRan, t.genRan = false, false, false
	t.dh = zeroedBuf(t.dh, n*d)
	out := func() BatchLoss {
		return BatchLoss{Loss: t.total, Grad: gometric.Matrix{Rows: n, Cols: d, Data: t.dh}, Parts: t.parts, Mined: t.mined}
	}
	var trip *tuples.Triplets
	if t.phase.adv {
		k := t.perAnchor()
		if n > MaxSynthTriplets/k {
			return BatchLoss{}, t.tooManyTriplets(n, k)
		}
		var err error
		if trip, err = tuples.RandomTriplets(labels, labels, true, k, nil, t.rng); err != nil {
			return BatchLoss{}, fmt.Errorf("synthetic triplets: %w", err)
		}
	}
	if trip == nil || len(trip.A) == 0 {
		if !t.phase.metric {
			return out(), nil
		}
		_, dX, err := t.throughEmbedder(h, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
			return t.rowsLoss(e, labels, n, 0)
		})
		if err != nil {
			return BatchLoss{}, err
		}
		copy(t.dh, dX.Data)
		return out(), nil
	}
	nt := len(trip.A)
	// The generator's input: [h_a, h_p, h_n] per triplet.
	t.gin = zeroedBuf(t.gin, nt*3*d)
	for i := range nt {
		row := t.gin[i*3*d : (i+1)*3*d]
		copy(row[:d], h.Data[trip.A[i]*d:])
		copy(row[d:2*d], h.Data[trip.P[i]*d:])
		copy(row[2*d:], h.Data[trip.N[i]*d:(trip.N[i]+1)*d])
	}
	t.labels3 = slices.Grow(t.labels3[:0], 3*nt)[:3*nt]
	for i := range nt {
		t.labels3[3*i], t.labels3[3*i+1], t.labels3[3*i+2] = labels[trip.A[i]], labels[trip.P[i]], labels[trip.N[i]]
	}
	nReal := 0
	if t.phase.metric {
		nReal = n
	}
	_, dGin, err := t.Generator.TrainStepInput(gometric.Matrix{Rows: nt, Cols: 3 * d, Data: t.gin}, func(s gometric.Matrix) (float32, gometric.Matrix, error) {
		return t.generatorLoss(h, s, labels, trip, nReal)
	})
	if err != nil {
		return BatchLoss{}, fmt.Errorf("generator: %w", err)
	}
	t.genRan = true
	for i := range nt {
		row := dGin.Data[i*3*d : (i+1)*3*d]
		addRow(t.dh[trip.A[i]*d:(trip.A[i]+1)*d], row[:d])
		addRow(t.dh[trip.P[i]*d:(trip.P[i]+1)*d], row[d:2*d])
		addRow(t.dh[trip.N[i]*d:(trip.N[i]+1)*d], row[2*d:])
	}
	return out(), nil
}

// addRow adds src to dst (of the same length).
func addRow(dst, src []float32) {
	for j, v := range src {
		dst[j] += v
	}
}

// generatorLoss is the generator's loss function on the synthetic
// negatives s (T×D): the embedder runs on [h (when nReal > 0); a, p, s
// interleaved], the real rows' and synthetic rows' losses are computed,
// the gradients of h's rows are added to t.dh, and g_hard and g_reg are
// added; it returns the total loss and d(total)/ds.
func (t *DeepAdversarialMetricLearning) generatorLoss(h, s gometric.Matrix, labels []int, trip *tuples.Triplets, nReal int) (float32, gometric.Matrix, error) {
	nt, d := s.Rows, s.Cols
	rows := nReal + 3*nt
	t.stack = slices.Grow(t.stack[:0], rows*d)[:rows*d]
	copy(t.stack, h.Data[:nReal*d])
	for i := range nt {
		base := (nReal + 3*i) * d
		copy(t.stack[base:base+d], h.Data[trip.A[i]*d:])
		copy(t.stack[base+d:base+2*d], h.Data[trip.P[i]*d:])
		copy(t.stack[base+2*d:base+3*d], s.Data[i*d:(i+1)*d])
	}
	_, dX, err := t.throughEmbedder(gometric.Matrix{Rows: rows, Cols: d, Data: t.stack}, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
		return t.rowsLoss(e, labels, nReal, nt)
	})
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	addRow(t.dh[:nReal*d], dX.Data[:nReal*d])
	t.ds = zeroedBuf(t.ds, nt*d)
	for i := range nt {
		base := (nReal + 3*i) * d
		addRow(t.dh[trip.A[i]*d:(trip.A[i]+1)*d], dX.Data[base:base+d])
		addRow(t.dh[trip.P[i]*d:(trip.P[i]+1)*d], dX.Data[base+d:base+2*d])
		copy(t.ds[i*d:(i+1)*d], dX.Data[base+2*d:base+3*d])
	}
	wh, wr := t.weight(lossGHard), t.weight(lossGReg)
	hard, reg := t.generatorMSE(h, s, trip, wh, wr)
	t.parts[lossGHard], t.parts[lossGReg] = hard, reg
	t.total += wh*hard + wr*reg
	return float32(t.total), gometric.Matrix{Rows: nt, Cols: d, Data: t.ds}, nil
}

// throughEmbedder runs fn on the embeddings of x: through the embedder's
// training step when there is one (returning d/dx), else on x itself.
func (t *DeepAdversarialMetricLearning) throughEmbedder(x gometric.Matrix, fn models.LossFunc) (float32, gometric.Matrix, error) {
	if t.Embedder == nil {
		return fn(x)
	}
	l, dx, err := t.Embedder.TrainStepInput(x, fn)
	if err != nil {
		return 0, gometric.Matrix{}, fmt.Errorf("embedder: %w", err)
	}
	t.embRan = true
	return l, dx, nil
}

// rowsLoss is the loss on the embedder's output e: the metric (and
// classifier) loss of its first nReal rows, the real batch, and the synth
// and g_adv losses of the next 3·nt rows, the interleaved synthetic
// triplets. It adds to t.total and returns it with d(total)/de.
func (t *DeepAdversarialMetricLearning) rowsLoss(e gometric.Matrix, labels []int, nReal, nt int) (float32, gometric.Matrix, error) {
	c := e.Cols
	t.gemb = zeroedBuf(t.gemb, e.Rows*c)
	if nReal > 0 {
		real := gometric.Matrix{Rows: nReal, Cols: c, Data: e.Data[:nReal*c]}
		var bl BatchLoss
		var err error
		if t.Classifier != nil {
			bl, err = t.TrainWithClassifier.calculate(real, labels)
			t.clsRan = err == nil && t.weight(lossClassifier) > 0
		} else {
			bl, err = t.metricLoss(real, labels)
		}
		if err != nil {
			return 0, gometric.Matrix{}, err
		}
		copy(t.gemb, bl.Grad.Data)
		maps.Copy(t.parts, bl.Parts)
		t.total += bl.Loss
		t.mined = bl.Mined
	}
	if nt > 0 {
		synth := gometric.Matrix{Rows: 3 * nt, Cols: c, Data: e.Data[nReal*c:]}
		g := t.gemb[nReal*c:]
		if t.phase.both {
			if err := t.addObjective(&t.synthObj, lossSynth, synth, g); err != nil {
				return 0, gometric.Matrix{}, err
			}
		}
		if err := t.addObjective(&t.advObj, lossGAdv, synth, g); err != nil {
			return 0, gometric.Matrix{}, err
		}
	}
	return float32(t.total), gometric.Matrix{Rows: e.Rows, Cols: c, Data: t.gemb}, nil
}

// addObjective adds the weighted loss name of obj on the synthetic rows
// to t.total and its weighted gradient to g.
func (t *DeepAdversarialMetricLearning) addObjective(obj *losses.Objective, name string, synth gometric.Matrix, g []float32) error {
	_, gs, err := obj.Compute(synth, t.labels3)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	res, _ := obj.Last()
	w := t.weight(name)
	t.parts[name] = res.Loss
	t.total += w * res.Loss
	for i, v := range gs.Data {
		g[i] += float32(w * float64(v))
	}
	return nil
}

// generatorMSE returns g_hard and g_reg, torch's mse_loss (mean over T×D)
// of normalize(s) against normalize(h_a) and normalize(h_n), and adds the
// gradients of wh·g_hard + wr·g_reg with respect to s to t.ds and with
// respect to h's rows to t.dh (torch's normalize: x/max(‖x‖₂, 1e-12)).
func (t *DeepAdversarialMetricLearning) generatorMSE(h, s gometric.Matrix, trip *tuples.Triplets, wh, wr float64) (hard, reg float64) {
	nt, d := s.Rows, s.Cols
	t.rowS, t.rowA, t.rowN = zeroedBuf(t.rowS, d), zeroedBuf(t.rowA, d), zeroedBuf(t.rowN, d)
	t.gS, t.gAN = zeroedBuf(t.gS, d), zeroedBuf(t.gAN, d)
	scale := 2 / (float64(nt) * float64(d))
	for i := range nt {
		ns := l2Normalize(t.rowS, s.Data[i*d:(i+1)*d])
		na := l2Normalize(t.rowA, h.Data[trip.A[i]*d:(trip.A[i]+1)*d])
		nn := l2Normalize(t.rowN, h.Data[trip.N[i]*d:(trip.N[i]+1)*d])
		for j := range d {
			da, dn := t.rowS[j]-t.rowA[j], t.rowS[j]-t.rowN[j]
			hard += da * da
			reg += dn * dn
			t.gS[j] = scale * (wh*da + wr*dn)
		}
		l2NormalizeVJP(t.ds[i*d:(i+1)*d], t.rowS, t.gS, ns)
		for j := range d {
			t.gAN[j] = -scale * wh * (t.rowS[j] - t.rowA[j])
		}
		l2NormalizeVJP(t.dh[trip.A[i]*d:(trip.A[i]+1)*d], t.rowA, t.gAN, na)
		for j := range d {
			t.gAN[j] = -scale * wr * (t.rowS[j] - t.rowN[j])
		}
		l2NormalizeVJP(t.dh[trip.N[i]*d:(trip.N[i]+1)*d], t.rowN, t.gAN, nn)
	}
	m := float64(nt) * float64(d)
	return hard / m, reg / m
}

// l2Normalize writes x/max(‖x‖₂, 1e-12) to y and returns the divisor.
func l2Normalize(y []float64, x []float32) float64 {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	den := max(math.Sqrt(ss), l2NormEps)
	for j, v := range x {
		y[j] = float64(v) / den
	}
	return den
}

// l2NormalizeVJP adds to dx the gradient through y = x/den given g =
// d/dy: (g − y(y·g))/den when the norm is above eps, g/eps otherwise.
func l2NormalizeVJP(dx []float32, y, g []float64, den float64) {
	var yg float64
	if den > l2NormEps {
		for j, v := range y {
			yg += v * g[j]
		}
	}
	for j := range dx {
		dx[j] += float32((g[j] - y[j]*yg) / den)
	}
}

// stepOptimizers is PML's DAML step_optimizers: the embedder and the
// classifier step in the metric phases, the generator in the adversarial
// ones (the trunk is Base's); a model that did not run, is frozen or is
// not stepped in the phase has its gradients cleared.
func (t *DeepAdversarialMetricLearning) stepOptimizers() error {
	defer func() { t.embRan, t.clsRan, t.genRan = false, false, false }()
	ph := t.phase
	if t.Embedder != nil {
		if ph.metric && t.embRan && !t.frozen(roleEmbedder) {
			if err := t.Embedder.Step(t.EmbedderOptimizer); err != nil {
				return err
			}
		} else {
			t.Embedder.ZeroGrad()
		}
	}
	if t.Classifier != nil {
		if ph.metric && t.clsRan && !t.frozen(roleClassifier) {
			if err := t.Classifier.Step(t.ClassifierOptimizer); err != nil {
				return err
			}
		} else {
			t.Classifier.ZeroGrad()
		}
	}
	if ph.adv && t.genRan && !t.frozen(roleGenerator) {
		return t.Generator.Step(t.GeneratorOptimizer)
	}
	t.Generator.ZeroGrad()
	return nil
}

// LabelMapping is MetricLossOnly.LabelMapping; nil for a nil receiver.
func (t *DeepAdversarialMetricLearning) LabelMapping() []int {
	if t == nil {
		return nil
	}
	return t.MetricLossOnly.LabelMapping()
}

// negLp is PML's NegativeLpDistance: an Lp distance whose matrix and
// pairwise distances are multiplied by −1 (not a similarity: Inverted
// stays false).
type negLp struct{ lp *distances.Lp }

func (d negLp) Matrix(q, r *mat.Dense) (*mat.Dense, error) {
	m, err := d.lp.Matrix(q, r)
	if err != nil {
		return nil, err
	}
	m.Scale(-1, m)
	return m, nil
}

func (d negLp) MatrixVJP(q, r, m, grad *mat.Dense) (*mat.Dense, *mat.Dense, error) {
	if grad == nil {
		return d.lp.MatrixVJP(q, r, nil, nil)
	}
	// The VJP of −Lp is minus Lp's VJP at Lp's own matrix, −m: m is
	// negated in place for the call and restored (a sign flip is exact),
	// so no N×M matrix is copied.
	if m != nil {
		m.Scale(-1, m)
		defer m.Scale(-1, m)
	}
	gq, gr, err := d.lp.MatrixVJP(q, r, m, grad)
	if err != nil {
		return nil, nil, err
	}
	if gq != nil {
		gq.Scale(-1, gq)
	}
	if gr != nil && gr != gq {
		gr.Scale(-1, gr)
	}
	return gq, gr, nil
}

func (d negLp) Pairwise(x, y *mat.Dense) ([]float64, error) {
	v, err := d.lp.Pairwise(x, y)
	for i := range v {
		v[i] = -v[i]
	}
	return v, err
}

func (d negLp) PairwiseVJP(x, y *mat.Dense, grad []float64) (*mat.Dense, *mat.Dense, error) {
	ng := make([]float64, len(grad))
	for i, g := range grad {
		ng[i] = -g
	}
	return d.lp.PairwiseVJP(x, y, ng)
}

func (d negLp) Settings() distances.Settings { return d.lp.Settings() }
