// Package lse is PML's masked log-sum-exp (loss_and_miner_utils.logsumexp)
// for one row, with its gradient, and the exponential it uses (Exp, and
// Exps for many values at once), faster than math.Exp: the exponentials
// of the softmax-like losses are a large part of their cost.
package lse

import "math"

// NegInf is torch.finfo(float64).min, the finite sentinel PML fills masked
// entries with (not -Inf).
const NegInf = -math.MaxFloat64

// Row returns PML's lmu.logsumexp of one row: entries where keep is false
// (keep nil keeps all) are replaced by NegInf, a 0 is appended when addOne,
// and a row with no kept entry gives 0. When w is non-nil (len(x)) it
// receives d(result)/d(x): the softmax weights of the kept entries, 0
// elsewhere and for a row with no kept entry. w may be x itself (x is then
// overwritten).
func Row(x []float64, keep []bool, addOne bool, w []float64) float64 {
	if keep == nil && w != nil && len(x) > 0 {
		return rowAll(x, addOne, w[:len(x)])
	}
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
		clear(w)
		return 0
	}
	if addOne && mx < 0 {
		mx = 0
	}
	// The exponentials are taken in chunks through Exps, in w or, without
	// w, in a buffer on the stack; masked entries become exp(−Inf) = 0.
	var buf [64]float64
	var s float64
	for lo := 0; lo < len(x); {
		var out []float64
		if w != nil {
			out = w[lo:len(x)]
		} else {
			out = buf[:min(len(buf), len(x)-lo)]
		}
		for i := range out {
			if keep != nil && !keep[lo+i] {
				out[i] = math.Inf(-1)
			} else {
				out[i] = x[lo+i] - mx
			}
		}
		Exps(out)
		for _, e := range out {
			s += e
		}
		lo += len(out)
	}
	if addOne {
		s += Exp(-mx)
	}
	if w != nil {
		inv := 1 / s
		for i := range w {
			w[i] *= inv
		}
	}
	return mx + math.Log(s)
}

// rowAll is Row without a mask, with w, for a non-empty x: the same
// operations in fewer passes.
func rowAll(x []float64, addOne bool, w []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range x {
		if v > mx {
			mx = v
		}
	}
	if addOne && mx < 0 {
		mx = 0
	}
	for i, v := range x {
		w[i] = v - mx
	}
	Exps(w)
	var s float64
	for _, e := range w {
		s += e
	}
	if addOne {
		s += Exp(-mx)
	}
	inv := 1 / s
	for i := range w {
		w[i] *= inv
	}
	return mx + math.Log(s)
}
