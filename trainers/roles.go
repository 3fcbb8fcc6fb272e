package trainers

import (
	"fmt"
	"math"
	"slices"

	"github.com/gometric/gometric"
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

// validateNames checks FreezeThese against the trainer's roles and
// LossWeights against its loss names.
func (t *MetricLossOnly) validateNames(component string, roles, lossNames []string) error {
	if len(t.FreezeThese) > maxFreezeNames {
		return fmt.Errorf("%s: FreezeThese holds %d names, want at most %d: %w", component, len(t.FreezeThese), maxFreezeNames, gometric.ErrSetting)
	}
	for _, r := range t.FreezeThese {
		if !slices.Contains(roles, r) {
			return fmt.Errorf("%s: FreezeThese holds %q, want one of %q: %w", component, r, roles, gometric.ErrSetting)
		}
	}
	for k, w := range t.LossWeights {
		if !slices.Contains(lossNames, k) {
			return fmt.Errorf("%s: LossWeights holds %q; the losses are %q: %w", component, k, lossNames, gometric.ErrSetting)
		}
		if math.IsNaN(w) || math.Abs(w) > maxLossWeight {
			return fmt.Errorf("%s: LossWeights[%q] = %v, want a finite weight of magnitude at most %g: %w", component, k, w, maxLossWeight, gometric.ErrSetting)
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

// metricLoss is MetricLossOnly's calculate_loss: the weighted metric loss
// of the embeddings and its gradient, through the losses.Objective; the
// loss's learnable parameters' gradients are weighted too.
func (t *MetricLossOnly) metricLoss(e gometric.Matrix, labels []int) (BatchLoss, error) {
	obj := &t.obj
	w := t.weight(lossMetric)
	_, g, err := obj.Compute(e, labels)
	res, mined := obj.Last()
	out := BatchLoss{Loss: res.Loss, Parts: res.Parts, Mined: mined}
	if w != 1 {
		out.Loss *= w
		for _, pg := range res.ParamGrads {
			if pg != nil {
				pg.Scale(w, pg)
			}
		}
	}
	if err != nil {
		return out, err
	}
	out.Grad = t.scale(g, w)
	return out, nil
}
