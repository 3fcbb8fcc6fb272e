package losses

import (
	"fmt"
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/lse"
	"gonum.org/v1/gonum/mat"
)

// crossEntropyRow is torch.nn.functional.cross_entropy (reduction "none")
// for one row of logits: logsumexp(x) − x[target], computed stably (the
// row's maximum is subtracted before exponentiating). When grad is non-nil
// (len(x)) it receives d(result)/d(x) = softmax(x) − onehot(target).
// Entries of −Inf are allowed (they get probability 0); target must index
// x. grad may be x itself (the logits are then overwritten).
func crossEntropyRow(x []float64, target int, grad []float64) float64 {
	xt := x[target]
	v := lse.Row(x, nil, false, grad)
	if grad != nil {
		grad[target]--
	}
	return v - xt
}

// softmaxRow writes torch.softmax(x) into p (len(x)), stably, and returns
// logsumexp(x). Entries of −Inf get probability 0.
func softmaxRow(x, p []float64) float64 {
	return lse.Row(x, nil, false, p)
}

// CrossEntropy mirrors torch.nn.CrossEntropyLoss with reduction "mean": the
// classification loss of N rows of logits (N×C) against integer targets in
// [0, C). PML users pass it as TrainWithClassifier's
// loss_funcs["classifier_loss"] (see trainers.TrainWithClassifier). It is
// not a metric loss (it takes logits and targets, not embeddings), so it
// does not implement Loss.
//
// The zero value is torch's defaults (no class weights, no label
// smoothing); NewCrossEntropy returns it. A CrossEntropy is safe for
// concurrent use when its fields are not changed meanwhile: Compute keeps
// no state.
type CrossEntropy struct {
	// Weight, when not nil, holds C finite non-negative class weights
	// (torch's weight): row i counts Weight[target i] times, and the mean
	// divides by the sum of the rows' weights, as torch's.
	Weight []float64
	// LabelSmoothing in [0, 1] mixes the one-hot target with the uniform
	// distribution over the C classes (torch's label_smoothing); 0 is none.
	LabelSmoothing float64
}

// NewCrossEntropy returns torch.nn.CrossEntropyLoss() with its defaults:
// mean reduction, no class weights, no label smoothing.
func NewCrossEntropy() *CrossEntropy { return &CrossEntropy{} }

const ceName = "losses.CrossEntropy"

// Compute returns the mean cross-entropy of logits (N×C, N ≥ 1, C ≥ 1,
// finite) against targets (N labels in [0, C)), as
// torch.nn.functional.cross_entropy, computed stably (log-sum-exp). When
// grad is not nil it must be N×C and distinct from logits; it receives
// d(loss)/d(logits). A target outside [0, C), a non-finite logit, a
// result that overflows float64 (logits near ±1.8e308) and targets whose
// class weights sum to 0 (torch's NaN) are errors.
func (c *CrossEntropy) Compute(logits *mat.Dense, targets []int, grad *mat.Dense) (float64, error) {
	if c == nil {
		return 0, fmt.Errorf("%s: nil receiver: %w", ceName, gometric.ErrSetting)
	}
	if logits == nil || logits.IsEmpty() {
		return 0, fmt.Errorf("%s: no logits: %w", ceName, gometric.ErrShape)
	}
	n, k := logits.Dims()
	if len(targets) != n {
		return 0, fmt.Errorf("%s: %d targets for %d rows of logits: %w", ceName, len(targets), n, gometric.ErrLabels)
	}
	eps := c.LabelSmoothing
	if !(eps >= 0 && eps <= 1) {
		return 0, fmt.Errorf("%s: LabelSmoothing = %v, want a value in [0, 1]: %w", ceName, eps, gometric.ErrSetting)
	}
	if c.Weight != nil {
		if len(c.Weight) != k {
			return 0, fmt.Errorf("%s: %d class weights for %d classes: %w", ceName, len(c.Weight), k, gometric.ErrShape)
		}
		for j, w := range c.Weight {
			if !(w >= 0 && w <= math.MaxFloat64) {
				return 0, fmt.Errorf("%s: Weight[%d] = %v, want a finite weight ≥ 0: %w", ceName, j, w, gometric.ErrSetting)
			}
		}
	}
	if grad != nil {
		if gr, gc := grad.Dims(); gr != n || gc != k {
			return 0, fmt.Errorf("%s: grad is %d×%d, want %d×%d: %w", ceName, gr, gc, n, k, gometric.ErrShape)
		}
		if grad == logits {
			return 0, fmt.Errorf("%s: grad is logits; give it a matrix of its own: %w", ceName, gometric.ErrSetting)
		}
	}
	wsum := 0.0 // Σ_c Weight[c] (C without weights)
	weight := func(j int) float64 { return 1 }
	if c.Weight != nil {
		weight = func(j int) float64 { return c.Weight[j] }
		for _, w := range c.Weight {
			wsum += w
		}
	} else {
		wsum = float64(k)
	}
	total := 0.0 // Σ_i Weight[target i]
	for i, y := range targets {
		if y < 0 || y >= k {
			return 0, fmt.Errorf("%s: target %d = %d, want a class in [0, %d): %w", ceName, i, y, k, gometric.ErrLabels)
		}
		total += weight(y)
		for j, v := range logits.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("%s: logit (%d, %d) = %v: %w", ceName, i, j, v, gometric.ErrNonFinite)
			}
		}
	}
	if total == 0 || math.IsInf(total, 0) || math.IsInf(wsum, 0) {
		return 0, fmt.Errorf("%s: the targets' class weights sum to %v, want a positive finite sum (torch gives NaN): %w", ceName, total, gometric.ErrSetting)
	}
	var p []float64
	if grad == nil {
		p = make([]float64, k)
	}
	var nll, smooth float64
	for i, y := range targets {
		x := logits.RawRowView(i)
		if grad != nil {
			p = grad.RawRowView(i)
		}
		// −log p_j = (max − x_j) + log Σ exp(x − max): the terms are
		// kept apart so that log Σ is not lost against a huge max.
		mx := x[0]
		for _, v := range x {
			mx = max(mx, v)
		}
		for j, v := range x {
			p[j] = v - mx
		}
		ls := lse.Row(p, nil, false, p) // p = softmax(x)
		wy := weight(y)
		nll += wy * ((mx - x[y]) + ls)
		if eps > 0 {
			for j, v := range x {
				smooth += weight(j) * ((mx - v) + ls)
			}
		}
		if grad != nil {
			// (1−ε)·w_y/W·(p − onehot(y)) + ε/(C·W)·(p·Σw − w).
			a, b := (1-eps)*wy/total, eps/(float64(k)*total)
			for j := range p {
				g := a*p[j] + b*(p[j]*wsum-weight(j))
				if j == y {
					g -= a
				}
				p[j] = g
			}
		}
	}
	loss := (1-eps)*nll/total + eps/float64(k)*smooth/total
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return 0, fmt.Errorf("%s: the loss overflows float64 (logits too far apart): %w", ceName, gometric.ErrNonFinite)
	}
	return loss, nil
}
