package trainers

import (
	"fmt"
	"math"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
)

// Role and loss names, PML's keys of models, optimizers and loss_funcs.
const (
	roleTrunk      = "trunk"
	roleEmbedder   = "embedder"
	lossMetric     = "metric_loss"
	maxLossWeight  = 1e12
	maxFreezeNames = 16
)

// frozen reports whether FreezeThese names role.
func (t *MetricLossOnly) frozen(role string) bool { return slices.Contains(t.FreezeThese, role) }

// weight is LossWeights[name], 1 when missing.
func (t *MetricLossOnly) weight(name string) float64 {
	if w, ok := t.LossWeights[name]; ok {
		return w
	}
	return 1
}

// validateRoles checks the embedder, the loss weights, the frozen roles,
// the clippers and the schedulers.
func (t *MetricLossOnly) validateRoles() error {
	if len(t.FreezeThese) > maxFreezeNames {
		return fmt.Errorf("%s: FreezeThese holds %d names, want at most %d: %w", name, len(t.FreezeThese), maxFreezeNames, gometric.ErrSetting)
	}
	for _, r := range t.FreezeThese {
		if r != roleTrunk && r != roleEmbedder && r != lossMetric {
			return fmt.Errorf("%s: FreezeThese holds %q, want %q, %q or %q: %w", name, r, roleTrunk, roleEmbedder, lossMetric, gometric.ErrSetting)
		}
	}
	for k, w := range t.LossWeights {
		if k != lossMetric {
			return fmt.Errorf("%s: LossWeights holds %q; MetricLossOnly's only loss is %q: %w", name, k, lossMetric, gometric.ErrSetting)
		}
		if math.IsNaN(w) || math.Abs(w) > maxLossWeight {
			return fmt.Errorf("%s: LossWeights[%q] = %v, want a finite weight of magnitude at most %g: %w", name, k, w, maxLossWeight, gometric.ErrSetting)
		}
	}
	for i, c := range t.GradientClippers {
		if c == nil {
			return fmt.Errorf("%s: GradientClippers[%d] is nil: %w", name, i, gometric.ErrSetting)
		}
	}
	for _, ss := range []struct {
		what string
		s    []models.LRScheduler
	}{{"LRSchedulersByIteration", t.LRSchedulersByIteration}, {"LRSchedulersByEpoch", t.LRSchedulersByEpoch}} {
		for i, s := range ss.s {
			if s == nil {
				return fmt.Errorf("%s: %s[%d] is nil: %w", name, ss.what, i, gometric.ErrSetting)
			}
		}
	}
	if t.Embedder == nil {
		if t.frozen(roleEmbedder) {
			return fmt.Errorf("%s: FreezeThese holds %q but Embedder is nil: %w", name, roleEmbedder, gometric.ErrSetting)
		}
		return nil
	}
	if any(t.Embedder) == any(t.Encoder) {
		return fmt.Errorf("%s: Embedder is the trunk (Encoder); give it a model of its own: %w", name, gometric.ErrSetting)
	}
	if t.EmbedderOptimizer == nil && !t.frozen(roleEmbedder) {
		return fmt.Errorf("%s: Embedder is set but EmbedderOptimizer is nil: %w", name, gometric.ErrSetting)
	}
	if t.EmbedderOptimizer != nil && t.EmbedderOptimizer == t.Optimizer {
		return fmt.Errorf("%s: EmbedderOptimizer is the trunk's Optimizer; give the embedder an Optimizer of its own: %w", name, gometric.ErrSetting)
	}
	if in, e := t.Embedder.InputShape(), t.Encoder.EmbeddingSize(); len(in) != 1 || in[0] != e {
		return fmt.Errorf("%s: the embedder takes %v but the trunk's output has %d values: %w", name, in, e, gometric.ErrShape)
	}
	return nil
}

// setLabelMap builds the mapping of SetMinLabelToZero from the data set's
// labels (PML's LabelMapper: sorted distinct labels).
func (t *MetricLossOnly) setLabelMap() {
	t.labelMap, t.index = nil, nil
	if !t.SetMinLabelToZero {
		return
	}
	t.labelMap = slices.Clone(t.Dataset.Labels())
	slices.Sort(t.labelMap)
	t.labelMap = slices.Compact(t.labelMap)
	t.index = make(map[int]int, len(t.labelMap))
	for i, l := range t.labelMap {
		t.index[l] = i
	}
}

// LabelMapping returns the data set's sorted distinct labels when
// SetMinLabelToZero is set: label i of a batch is LabelMapping()[i] of
// the data set (PML's LabelMapper's map, inverted). It is nil before Train
// and without SetMinLabelToZero, and nil for a nil receiver.
func (t *MetricLossOnly) LabelMapping() []int {
	if t == nil {
		return nil
	}
	return slices.Clone(t.labelMap)
}

// labels maps a batch's labels when SetMinLabelToZero is set.
func (t *MetricLossOnly) labels(ls []int) ([]int, error) {
	if t.index == nil {
		return ls, nil
	}
	t.relabel = slices.Grow(t.relabel[:0], len(ls))[:len(ls)]
	for i, l := range ls {
		m, ok := t.index[l]
		if !ok {
			return nil, fmt.Errorf("label %d of the batch is not among the data set's labels: %w", l, gometric.ErrLabels)
		}
		t.relabel[i] = m
	}
	return t.relabel, nil
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

// scale returns w·g in t's buffer (g itself when w is 1).
func (t *MetricLossOnly) scale(g gometric.Matrix, w float64) gometric.Matrix {
	if w == 1 {
		return g
	}
	t.scaled = slices.Grow(t.scaled[:0], len(g.Data))[:len(g.Data)]
	for i, v := range g.Data {
		t.scaled[i] = float32(w * float64(v))
	}
	return gometric.Matrix{Rows: g.Rows, Cols: g.Cols, Data: t.scaled}
}

// step runs one iteration on a loaded batch: PML's forward_and_backward
// (trunk, embedder, weighted metric loss, backward, gradient clippers)
// followed by step_optimizers for the roles not frozen, as a loop of one's
// own writes it with a losses.Objective.
func (t *MetricLossOnly) step(b batch) (losses.Result, miners.Counts, error) {
	obj := &t.obj
	labels, err := t.labels(b.labels)
	if err != nil {
		return losses.Result{}, miners.Counts{}, err
	}
	w := t.weight(lossMetric)
	metric := func(e gometric.Matrix) (float32, gometric.Matrix, error) {
		l, g, err := obj.Compute(e, labels)
		if err != nil || w == 1 {
			return l, g, err
		}
		return float32(w * float64(l)), t.scale(g, w), nil
	}
	fn := metric
	if t.Embedder != nil {
		fn = func(h gometric.Matrix) (float32, gometric.Matrix, error) {
			return t.Embedder.TrainStepInput(h, metric)
		}
	}
	if t.frozen(roleTrunk) {
		var h gometric.Matrix
		if h, err = t.Encoder.Embed(b.x); err == nil {
			_, _, err = fn(h)
		}
	} else {
		_, err = t.Encoder.TrainStep(b.x, fn)
	}
	res, mined := obj.Last()
	if w != 1 {
		res.Loss *= w
		for _, g := range res.ParamGrads {
			if g != nil {
				g.Scale(w, g)
			}
		}
	}
	if err != nil {
		return res, mined, err
	}
	for i, c := range t.GradientClippers {
		if err := c(); err != nil {
			return res, mined, fmt.Errorf("gradient clipper %d: %w", i, err)
		}
	}
	if !t.frozen(roleTrunk) {
		if err := t.Encoder.Step(t.Optimizer); err != nil {
			return res, mined, err
		}
	}
	if t.Embedder != nil {
		if t.frozen(roleEmbedder) {
			t.Embedder.ZeroGrad()
		} else if err := t.Embedder.Step(t.EmbedderOptimizer); err != nil {
			return res, mined, err
		}
	}
	if !t.frozen(lossMetric) {
		if err := obj.StepParams(t.LossOptimizer); err != nil {
			return res, mined, err
		}
	}
	return res, mined, nil
}
