package trainers

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"gonum.org/v1/gonum/mat"
)

const (
	twcName        = "trainers.TrainWithClassifier"
	roleClassifier = "classifier"
	lossClassifier = "classifier_loss"
)

// TrainWithClassifier mirrors PML's trainers.TrainWithClassifier: a
// MetricLossOnly whose embeddings also feed a classifier (PML's
// models["classifier"]) trained with a classification loss (PML's
// loss_funcs["classifier_loss"], torch's CrossEntropyLoss: ClassifierLoss).
// The loss is LossWeights["metric_loss"]·metric loss +
// LossWeights["classifier_loss"]·CrossEntropy(classifier(embeddings),
// labels); the gradient with respect to the embeddings is the sum of the
// two, back through the embedder and the trunk. As in PML, the classifier
// runs only when the classifier loss's weight is positive (a missing
// weight is 1), and its targets are the batch's labels (relabelled to
// 0..k−1 when SetMinLabelToZero is set), which must lie in [0, C) for a
// classifier of C outputs.
//
// The embedded MetricLossOnly holds the trunk, embedder, metric loss,
// miner, data and loop settings (see its fields); its two hooks must stay
// nil: set TrainWithClassifier's, which receive the TrainWithClassifier.
// FreezeThese may also name "classifier" (its weights are kept; the
// gradient still flows through it to the embeddings) and
// "classifier_loss".
//
// NewTrainWithClassifier fills the required fields; the zero value has
// none of them, and Train refuses it (and a nil *TrainWithClassifier) with
// an error wrapping gometric.ErrSetting naming NewTrainWithClassifier. A
// TrainWithClassifier is not safe for concurrent use: run one Train at a
// time.
type TrainWithClassifier struct {
	MetricLossOnly
	// Classifier maps the embeddings to C logits (PML's
	// models["classifier"]); its input size must be the embedding size
	// (the Embedder's output, or the trunk's without one). An MLP of two
	// Sizes is torch's nn.Linear. It must not be the trunk or the
	// embedder.
	Classifier models.InputGradStepper
	// ClassifierOptimizer updates the Classifier (PML's
	// classifier_optimizer); required unless FreezeThese holds
	// "classifier". Use an Optimizer of its own.
	ClassifierOptimizer *models.Optimizer
	// ClassifierLoss is the classification loss. If ClassifierLoss is nil,
	// torch's CrossEntropyLoss() (losses.NewCrossEntropy) is used.
	ClassifierLoss *losses.CrossEntropy

	// EndOfIterationHook and EndOfEpochHook are PML's hooks, as
	// MetricLossOnly's; IterationInfo.Parts also holds "classifier_loss"
	// (the unweighted cross-entropy).
	EndOfIterationHook func(t *TrainWithClassifier, it IterationInfo) error
	EndOfEpochHook     func(t *TrainWithClassifier, ep EpochInfo) error

	// Buffers of one iteration: the logits and their gradient in float64,
	// the weighted gradient in float32, the summed embedding gradient.
	logits, dlogits *mat.Dense
	dlogits32, sum  []float32
	ce              float64
}

// NewTrainWithClassifier returns a TrainWithClassifier with PML's required
// arguments — the trunk and its optimizer, the batch size, the metric
// loss, the classifier and its optimizer, the training set — and PML's
// defaults otherwise: CrossEntropy as the classifier loss, both losses of
// weight 1, no miner, no sampler, no embedder, one pass per epoch.
func NewTrainWithClassifier(enc models.Encoder, opt *models.Optimizer, batchSize int, metricLoss losses.Loss, classifier models.InputGradStepper, classifierOpt *models.Optimizer, dataset datasets.Dataset) *TrainWithClassifier {
	return &TrainWithClassifier{
		MetricLossOnly:      MetricLossOnly{Encoder: enc, Optimizer: opt, BatchSize: batchSize, Loss: metricLoss, Dataset: dataset},
		Classifier:          classifier,
		ClassifierOptimizer: classifierOpt,
		ClassifierLoss:      losses.NewCrossEntropy(),
	}
}

// Train runs epochs startEpoch to numEpochs inclusive (PML's
// train(start_epoch, num_epochs)), as MetricLossOnly.Train, stepping the
// classifier's optimizer too.
func (t *TrainWithClassifier) Train(ctx context.Context, startEpoch, numEpochs int) ([]EpochInfo, error) {
	if t == nil {
		return nil, fmt.Errorf("%s.Train: nil receiver: %w", twcName, gometric.ErrSetting)
	}
	if err := notDistributed(twcName, t.Comm); err != nil {
		return nil, err
	}
	if ctx != nil && startEpoch >= 1 {
		if err := t.validate(); err != nil {
			return nil, err
		}
	}
	b := t.prepare(twcName)
	b.CalculateLoss = t.calculate
	stepMetric := b.StepOptimizers
	b.StepOptimizers = func() error {
		switch {
		case t.frozen(roleClassifier) || t.weight(lossClassifier) <= 0:
			t.Classifier.ZeroGrad()
		default:
			if err := t.Classifier.Step(t.ClassifierOptimizer); err != nil {
				return err
			}
		}
		return stepMetric()
	}
	setHooks(b, t, t.EndOfIterationHook, t.EndOfEpochHook)
	return b.train(ctx, startEpoch, numEpochs)
}

// validate checks the settings of the metric loss and of the classifier;
// Base.validate checks the rest.
func (t *TrainWithClassifier) validate() error {
	if t.Encoder == nil && t.Loss == nil && t.Dataset == nil && t.Optimizer == nil && t.Classifier == nil {
		return fmt.Errorf("%s: not made by NewTrainWithClassifier (the zero value has no encoder, optimizer, loss, classifier or data set); use NewTrainWithClassifier(enc, opt, batchSize, metricLoss, classifier, classifierOpt, dataset): %w", twcName, gometric.ErrSetting)
	}
	if err := t.validateMetric(twcName, []string{roleTrunk, roleEmbedder, roleClassifier, lossMetric, lossClassifier}, []string{lossMetric, lossClassifier}); err != nil {
		return err
	}
	if t.MetricLossOnly.EndOfIterationHook != nil || t.MetricLossOnly.EndOfEpochHook != nil {
		return fmt.Errorf("%s: a hook of the embedded MetricLossOnly is set; set TrainWithClassifier's EndOfIterationHook and EndOfEpochHook: %w", twcName, gometric.ErrSetting)
	}
	if t.Classifier == nil {
		return fmt.Errorf("%s: Classifier is nil: %w", twcName, gometric.ErrSetting)
	}
	return t.validateClassifier(twcName)
}

// validateClassifier checks a non-nil Classifier, its optimizer and the
// data set's labels against its outputs, for the trainer component.
func (t *TrainWithClassifier) validateClassifier(twcName string) error {
	c := t.Classifier
	switch {
	case any(c) == any(t.Encoder) || (t.Embedder != nil && any(c) == any(t.Embedder)):
		return fmt.Errorf("%s: Classifier is the trunk or the embedder; give it a model of its own: %w", twcName, gometric.ErrSetting)
	case t.ClassifierOptimizer == nil && !t.frozen(roleClassifier):
		return fmt.Errorf("%s: ClassifierOptimizer is nil (freeze the classifier with FreezeThese to train without one): %w", twcName, gometric.ErrSetting)
	case t.ClassifierOptimizer != nil && (t.ClassifierOptimizer == t.Optimizer || t.ClassifierOptimizer == t.EmbedderOptimizer || t.ClassifierOptimizer == t.LossOptimizer):
		return fmt.Errorf("%s: ClassifierOptimizer is another role's Optimizer; give the classifier an Optimizer of its own: %w", twcName, gometric.ErrSetting)
	}
	e := t.Encoder.EmbeddingSize()
	if t.Embedder != nil {
		e = t.Embedder.EmbeddingSize()
	}
	if in := c.InputShape(); len(in) != 1 || in[0] != e {
		return fmt.Errorf("%s: the classifier takes %v but the embeddings have %d values: %w", twcName, in, e, gometric.ErrShape)
	}
	if t.Dataset == nil {
		return nil // Base.validate reports it
	}
	classes := c.EmbeddingSize()
	labels, err := levelLabels(twcName, t.Dataset, t.LabelHierarchyLevel)
	if err != nil {
		return nil // Base.validate reports it
	}
	if t.SetMinLabelToZero {
		distinct := slices.Compact(slices.Sorted(slices.Values(labels)))
		if len(distinct) > classes {
			return fmt.Errorf("%s: the data set has %d classes but the classifier has %d outputs: %w", twcName, len(distinct), classes, gometric.ErrLabels)
		}
		return nil
	}
	for i, l := range labels {
		if l < 0 || l >= classes {
			return fmt.Errorf("%s: label %d of sample %d is not a class of the classifier's %d outputs (want 0..%d; set SetMinLabelToZero to relabel): %w", twcName, l, i, classes, classes-1, gometric.ErrLabels)
		}
	}
	return nil
}

// calculate is PML's TrainWithClassifier.calculate_loss: the weighted
// metric loss plus the weighted cross-entropy of the classifier's logits,
// the classifier trained in the same pass; the embeddings' gradient is the
// sum of both.
func (t *TrainWithClassifier) calculate(e gometric.Matrix, labels []int) (BatchLoss, error) {
	out, err := t.metricLoss(e, labels)
	if err != nil {
		return out, err
	}
	wc := t.weight(lossClassifier)
	if wc <= 0 { // PML: no logits, classifier_loss 0
		return out, nil
	}
	t.ce = 0
	_, dE, err := t.Classifier.TrainStepInput(e, func(logits gometric.Matrix) (float32, gometric.Matrix, error) {
		return t.classifierLoss(logits, labels, wc)
	})
	if err != nil {
		return out, fmt.Errorf("classifier: %w", err)
	}
	out.Parts = maps.Clone(out.Parts)
	if out.Parts == nil {
		out.Parts = map[string]float64{}
	}
	out.Parts[lossClassifier] = t.ce
	out.Loss += wc * t.ce
	t.sum = slices.Grow(t.sum[:0], len(dE.Data))[:len(dE.Data)]
	for i, g := range out.Grad.Data {
		t.sum[i] = g + dE.Data[i]
	}
	out.Grad = gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: t.sum}
	return out, nil
}

// classifierLoss is the classifier's loss function: wc × cross-entropy of
// the logits against the labels, in float64; t.ce keeps the unweighted
// value.
func (t *TrainWithClassifier) classifierLoss(logits gometric.Matrix, labels []int, wc float64) (float32, gometric.Matrix, error) {
	n, c := logits.Rows, logits.Cols
	if t.logits == nil || t.logits.RawMatrix().Rows != n || t.logits.RawMatrix().Cols != c {
		t.logits, t.dlogits = mat.NewDense(n, c, nil), mat.NewDense(n, c, nil)
	}
	raw := t.logits.RawMatrix().Data
	for i, v := range logits.Data {
		raw[i] = float64(v)
	}
	ce := t.ClassifierLoss
	if ce == nil {
		ce = losses.NewCrossEntropy()
	}
	v, err := ce.Compute(t.logits, labels, t.dlogits)
	if err != nil {
		return 0, gometric.Matrix{}, err
	}
	t.ce = v
	t.dlogits32 = slices.Grow(t.dlogits32[:0], n*c)[:n*c]
	for i, g := range t.dlogits.RawMatrix().Data {
		t.dlogits32[i] = float32(wc * g)
	}
	return float32(wc * v), gometric.Matrix{Rows: n, Cols: c, Data: t.dlogits32}, nil
}

// LabelMapping is MetricLossOnly.LabelMapping: the data set's sorted
// distinct labels when SetMinLabelToZero is set (the classifier's class i
// is LabelMapping()[i]); nil before Train, without SetMinLabelToZero and
// for a nil receiver.
func (t *TrainWithClassifier) LabelMapping() []int {
	if t == nil {
		return nil
	}
	return t.MetricLossOnly.LabelMapping()
}
