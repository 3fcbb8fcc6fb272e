package trainers

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

const tsName = "trainers.TwoStreamMetricLoss"

// TwoStreamMetricLoss mirrors PML's trainers.TwoStreamMetricLoss: it
// trains the trunk (and the optional embedder) on a two-stream data set
// whose sample i is (anchor i, positive i, label i), a datasets.TwoStream.
// Each batch of N pairs is embedded, and the metric loss is PML's:
//
//   - the tuples are mined with the anchors as queries and the positives
//     as the reference (PML's tuple_miner(anchors, labels, positives,
//     labels)), or, without a Miner, are every triplet (anchor a,
//     positive p, positive n) with label(a) = label(p) ≠ label(n) (PML's
//     get_all_triplets_indices(labels, labels));
//   - the loss is computed on the 2N embeddings [anchors; positives] with
//     the labels [labels; labels] and those tuples, their positive and
//     negative indices shifted by N into the positives' rows (PML's
//     shift_indices_tuple and loss_funcs["metric_loss"](all_embeddings,
//     all_labels, indices_tuple)).
//
// The trunk runs once on the 2N rows [anchors; positives] (PML runs it
// twice, once per stream, and sums the gradients): the two are the same
// for this package's models, which have no batch statistics, and the
// gradients of both streams reach the same weights in one TrainStep.
// IterationInfo.BatchSize is N, the number of pairs.
//
// The embedded MetricLossOnly holds the trunk, embedder, metric loss,
// miner and loop settings (see its fields); its Dataset and hooks must
// stay nil: set Dataset, a datasets.TwoStream, and TwoStreamMetricLoss's
// hooks, which receive the TwoStreamMetricLoss. The loss name for
// LossWeights and FreezeThese is "metric_loss"; as in PML, a weight of 0
// or less leaves the metric loss out (the loss is 0 and no gradient
// flows). Train refuses a Dataset whose streams differ in length, labels
// or sample shape (datasets.NewTwoStream's checks). PML's
// subset_batch_miner is not supported (SubsetBatchMiner is refused), as
// PML's TwoStreamMetricLoss cannot run one on its tuple of streams either.
// LabelHierarchyLevel reads the levels of Dataset.Anchors (LabelLevels and
// LabelsAt, as datasets.MultiLevel), as GlobalTwoStreamEmbeddingSpace does.
//
// NewTwoStreamMetricLoss fills the required fields; the zero value has
// none of them, and Train refuses it (and a nil *TwoStreamMetricLoss) with
// an error wrapping gometric.ErrSetting naming NewTwoStreamMetricLoss. A
// TwoStreamMetricLoss is not safe for concurrent use: run one Train at a
// time.
type TwoStreamMetricLoss struct {
	MetricLossOnly
	// Dataset is the two-stream training set (PML's dataset yielding
	// (anchor, positive, label)).
	Dataset datasets.TwoStream

	// EndOfIterationHook and EndOfEpochHook are PML's hooks, as
	// MetricLossOnly's.
	EndOfIterationHook func(t *TwoStreamMetricLoss, it IterationInfo) error
	EndOfEpochHook     func(t *TwoStreamMetricLoss, ep EpochInfo) error

	// pair is the metric loss on the two streams, run through the
	// embedded MetricLossOnly's Objective; all holds [labels; labels]
	// and zero a zero gradient.
	pair twoStreamLoss
	all  []int
	zero []float32
}

// NewTwoStreamMetricLoss returns a TwoStreamMetricLoss with PML's required
// arguments — the trunk and its optimizer, the batch size (pairs per
// batch), the metric loss and the two-stream training set — and PML's
// defaults otherwise: no miner (all anchor–positive triplets), no
// sampler, no embedder, one pass per epoch.
func NewTwoStreamMetricLoss(enc models.Encoder, opt *models.Optimizer, batchSize int, loss losses.Loss, dataset datasets.TwoStream) *TwoStreamMetricLoss {
	return &TwoStreamMetricLoss{
		MetricLossOnly: MetricLossOnly{Encoder: enc, Optimizer: opt, BatchSize: batchSize, Loss: loss},
		Dataset:        dataset,
	}
}

// Train runs epochs startEpoch to numEpochs inclusive (PML's
// train(start_epoch, num_epochs)), as MetricLossOnly.Train.
func (t *TwoStreamMetricLoss) Train(ctx context.Context, startEpoch, numEpochs int) ([]EpochInfo, error) {
	if t == nil {
		return nil, fmt.Errorf("%s.Train: nil receiver: %w", tsName, gometric.ErrSetting)
	}
	if err := notDistributed(tsName, t.Comm); err != nil {
		return nil, err
	}
	if ctx != nil && startEpoch >= 1 {
		if err := t.validate(); err != nil {
			return nil, err
		}
	}
	b := t.prepare(tsName)
	t.pair.loss, t.pair.miner = t.Loss, t.Miner
	t.obj.Loss, t.obj.Miner = &t.pair, nil
	b.Dataset = twoStreamSet{t.Dataset}
	b.CalculateLoss = t.calculate
	stepMetric := b.StepOptimizers
	b.StepOptimizers = func() error {
		if t.weight(lossMetric) <= 0 { // no metric loss, no gradient
			return nil
		}
		return stepMetric()
	}
	setHooks(b, t, t.EndOfIterationHook, t.EndOfEpochHook)
	return b.train(ctx, startEpoch, numEpochs)
}

// validate checks the settings of the metric loss and of the two-stream
// data set; Base.validate checks the rest.
func (t *TwoStreamMetricLoss) validate() error {
	if t.Encoder == nil && t.Loss == nil && t.Optimizer == nil && t.Dataset.Anchors == nil && t.Dataset.Positives == nil {
		return fmt.Errorf("%s: not made by NewTwoStreamMetricLoss (the zero value has no encoder, optimizer, loss or data set); use NewTwoStreamMetricLoss(enc, opt, batchSize, loss, dataset): %w", tsName, gometric.ErrSetting)
	}
	if err := t.validateMetric(tsName, []string{roleTrunk, roleEmbedder, lossMetric}, []string{lossMetric}); err != nil {
		return err
	}
	if t.MetricLossOnly.EndOfIterationHook != nil || t.MetricLossOnly.EndOfEpochHook != nil {
		return fmt.Errorf("%s: a hook of the embedded MetricLossOnly is set; set TwoStreamMetricLoss's EndOfIterationHook and EndOfEpochHook: %w", tsName, gometric.ErrSetting)
	}
	if t.MetricLossOnly.Dataset != nil {
		return fmt.Errorf("%s: the embedded MetricLossOnly's Dataset is set (%T); TwoStreamMetricLoss trains on Dataset, a datasets.TwoStream (datasets.NewTwoStream(anchors, positives)): %w", tsName, t.MetricLossOnly.Dataset, gometric.ErrSetting)
	}
	if t.SubsetBatchMiner != nil {
		return fmt.Errorf("%s: SubsetBatchMiner is set; PML's TwoStreamMetricLoss runs no subset batch miner on its pairs: %w", tsName, gometric.ErrUnsupported)
	}
	if _, err := datasets.NewTwoStream(t.Dataset.Anchors, t.Dataset.Positives); err != nil {
		return fmt.Errorf("%s: Dataset: %w", tsName, err)
	}
	return nil
}

// calculate is PML's TwoStreamMetricLoss.calculate_loss on e, the 2N
// embeddings [anchors; positives], and the N labels of the pairs.
func (t *TwoStreamMetricLoss) calculate(e gometric.Matrix, labels []int) (BatchLoss, error) {
	n := len(labels)
	if e.Rows != 2*n {
		return BatchLoss{}, fmt.Errorf("%d embeddings for %d pairs, want %d: %w", e.Rows, n, 2*n, gometric.ErrShape)
	}
	if t.weight(lossMetric) <= 0 { // PML: maybe_get_metric_loss returns 0
		size := e.Rows * e.Cols
		t.zero = slices.Grow(t.zero[:0], size)[:size]
		clear(t.zero)
		return BatchLoss{Grad: gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: t.zero}}, nil
	}
	t.all = append(append(t.all[:0], labels...), labels...)
	t.pair.mined = miners.Counts{}
	out, err := t.metricLoss(e, t.all)
	out.Mined = t.pair.mined
	return out, err
}

// LabelMapping is MetricLossOnly.LabelMapping: the data set's sorted
// distinct labels when SetMinLabelToZero is set; nil before Train,
// without SetMinLabelToZero and for a nil receiver.
func (t *TwoStreamMetricLoss) LabelMapping() []int {
	if t == nil {
		return nil
	}
	return t.MetricLossOnly.LabelMapping()
}

// twoStreamLoss is the metric loss of PML's TwoStreamMetricLoss as a
// losses.Loss on the 2N rows [anchors; positives] with labels [labels;
// labels]: it mines anchors against positives, shifts the tuples' positive
// and negative indices by N and computes loss on all 2N rows with them.
// Params exposes loss's parameters, so losses.Objective.StepParams steps
// them.
type twoStreamLoss struct {
	loss  losses.Loss
	miner miners.Miner
	mined miners.Counts
	// Buffers of the shifted tuples.
	trip  tuples.Triplets
	pairs tuples.Pairs
}

func (l *twoStreamLoss) Params() []*losses.Param {
	if lr, ok := l.loss.(losses.Learnable); ok {
		return lr.Params()
	}
	return nil
}

func (l *twoStreamLoss) Compute(b losses.Batch) (losses.Result, error) {
	rows, cols := b.Embeddings.Dims()
	n := rows / 2
	if rows%2 != 0 || len(b.Labels) != rows {
		return losses.Result{}, fmt.Errorf("%d embeddings with %d labels, want [anchors; positives] with [labels; labels]: %w", rows, len(b.Labels), gometric.ErrShape)
	}
	labels, ref := b.Labels[:n], b.Labels[n:]
	var tup tuples.Tuples
	var err error
	if l.miner != nil {
		anchors := b.Embeddings.Slice(0, n, 0, cols).(*mat.Dense)
		positives := b.Embeddings.Slice(n, rows, 0, cols).(*mat.Dense)
		tup, err = l.miner.Mine(miners.Input{Embeddings: anchors, Labels: labels, Ref: positives, RefLabels: ref})
	} else {
		tup, err = tuples.AllTriplets(labels, ref, false)
	}
	if err != nil {
		return losses.Result{}, err
	}
	shifted, err := l.shift(tup, n)
	if err != nil {
		return losses.Result{}, err
	}
	return l.loss.Compute(losses.Batch{Embeddings: b.Embeddings, Labels: b.Labels, Tuples: shifted, Reuse: b.Reuse})
}

// shift is PML's shift_indices_tuple: tup's indices into the positives
// (a triplet's P and N, a pair's P and N) moved by n to the positives'
// rows of [anchors; positives], in l's buffers. tup is checked against n
// queries and n references first, so an index out of range is not moved
// into range.
func (l *twoStreamLoss) shift(tup tuples.Tuples, n int) (tuples.Tuples, error) {
	add := func(dst, src []int) []int {
		dst = dst[:0]
		for _, v := range src {
			dst = append(dst, v+n)
		}
		return dst
	}
	switch v := tup.(type) {
	case *tuples.Triplets:
		if v != nil {
			if err := v.Validate(n, n); err != nil {
				return nil, err
			}
			l.mined = miners.CountOf(v)
			l.trip.A = append(l.trip.A[:0], v.A...)
			l.trip.P, l.trip.N = add(l.trip.P, v.P), add(l.trip.N, v.N)
			return &l.trip, nil
		}
	case *tuples.Pairs:
		if v != nil {
			if err := v.Validate(n, n); err != nil {
				return nil, err
			}
			l.mined = miners.CountOf(v)
			l.pairs.A1, l.pairs.A2 = append(l.pairs.A1[:0], v.A1...), append(l.pairs.A2[:0], v.A2...)
			l.pairs.P, l.pairs.N = add(l.pairs.P, v.P), add(l.pairs.N, v.N)
			return &l.pairs, nil
		}
	}
	return nil, fmt.Errorf("the miner %T returned no pairs or triplets (%T): %w", l.miner, tup, gometric.ErrUnsupported)
}

// twoStreamSet is a datasets.TwoStream as the loop's datasets.Dataset:
// Batch returns the 2N rows [anchors; positives] of N pairs and their N
// labels.
type twoStreamSet struct{ ts datasets.TwoStream }

func (s twoStreamSet) Len() int           { return s.ts.Len() }
func (s twoStreamSet) Labels() []int      { return s.ts.Labels() }
func (s twoStreamSet) SampleShape() []int { return s.ts.Anchors.SampleShape() }

// LabelLevels and LabelsAt are the anchors' label levels (level 0 alone
// when the anchors have no others).
func (s twoStreamSet) LabelLevels() int {
	if ml, ok := s.ts.Anchors.(datasets.MultiLevel); ok {
		return ml.LabelLevels()
	}
	return 1
}

func (s twoStreamSet) LabelsAt(level int) ([]int, error) {
	if ml, ok := s.ts.Anchors.(datasets.MultiLevel); ok {
		return ml.LabelsAt(level)
	}
	if level != 0 {
		return nil, fmt.Errorf("label level %d of a data set with level 0 only: %w", level, gometric.ErrIndex)
	}
	return s.ts.Labels(), nil
}

func (s twoStreamSet) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	n, d := len(idx), 1
	for _, k := range s.SampleShape() {
		if k < 1 || d > math.MaxInt/k {
			return gometric.Matrix{}, nil, fmt.Errorf("sample shape %v: %w", s.SampleShape(), gometric.ErrShape)
		}
		d *= k
	}
	if n > 0 && d > math.MaxInt/2/n {
		return gometric.Matrix{}, nil, fmt.Errorf("%d pairs of %d values overflow a batch: %w", n, d, gometric.ErrShape)
	}
	nd := n * d
	buf := dst.Data
	if cap(buf) < 2*nd {
		buf = make([]float32, 2*nd)
	}
	buf = buf[:2*nd]
	a, p, labels, err := s.ts.Batch(idx, gometric.Matrix{Data: buf[:0:nd]}, gometric.Matrix{Data: buf[nd : nd : 2*nd]})
	if err != nil {
		return gometric.Matrix{}, nil, err
	}
	if len(a.Data) != nd || len(p.Data) != nd {
		return gometric.Matrix{}, nil, fmt.Errorf("a batch of %d pairs of %d values returned %d anchor and %d positive values: %w", n, d, len(a.Data), len(p.Data), gometric.ErrShape)
	}
	if nd > 0 {
		if &a.Data[0] != &buf[0] {
			copy(buf[:nd], a.Data)
		}
		if &p.Data[0] != &buf[nd] {
			copy(buf[nd:], p.Data)
		}
	}
	return gometric.Matrix{Rows: 2 * n, Cols: d, Data: buf}, labels, nil
}
