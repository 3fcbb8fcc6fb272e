package losses

import "github.com/gometric/gometric/internal/lse"

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
