// Package lse is PML's masked log-sum-exp (loss_and_miner_utils.logsumexp)
// for one row, with its gradient.
package lse

import "math"

// NegInf is torch.finfo(float64).min, the finite sentinel PML fills masked
// entries with (not -Inf).
const NegInf = -math.MaxFloat64

// Row returns PML's lmu.logsumexp of one row: entries where keep is false
// (keep nil keeps all) are replaced by NegInf, a 0 is appended when addOne,
// and a row with no kept entry gives 0. When w is non-nil (len(x)) it
// receives d(result)/d(x): the softmax weights of the kept entries, 0
// elsewhere and for a row with no kept entry.
func Row(x []float64, keep []bool, addOne bool, w []float64) float64 {
	any := false
	mx := math.Inf(-1)
	for i, v := range x {
		if keep != nil && !keep[i] {
			continue
		}
		any = true
		if v > mx {
			mx = v
		}
	}
	if !any {
		for i := range w {
			w[i] = 0
		}
		return 0
	}
	if addOne && mx < 0 {
		mx = 0
	}
	var s float64
	for i, v := range x {
		if keep != nil && !keep[i] {
			if w != nil {
				w[i] = 0
			}
			continue
		}
		e := math.Exp(v - mx)
		if w != nil {
			w[i] = e
		}
		s += e
	}
	if addOne {
		s += math.Exp(-mx)
	}
	for i := range w {
		w[i] /= s
	}
	return mx + math.Log(s)
}
