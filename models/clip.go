package models

import (
	"fmt"
	"math"

	"github.com/gometric/gometric"
)

// ClipGradNorm scales the gradients of params so that their total
// normType-norm (over all of them, as one vector) is at most maxNorm:
// torch.nn.utils.clip_grad_norm_(parameters, max_norm, norm_type). When
// the total norm exceeds maxNorm every gradient is multiplied by
// maxNorm/(norm + 1e-6). It returns the total norm before clipping. Call
// it between Encoder.TrainStep and Step. normType is any p > 0 (2 is
// torch's usual choice), or +Inf for the largest absolute value. A non-finite total norm is an
// error wrapping gometric.ErrNonFinite and leaves the gradients (torch's
// error_if_nonfinite=True). It is safe for concurrent use on disjoint
// parameters.
func ClipGradNorm(params []*Param, maxNorm, normType float64) (float64, error) {
	const c = "models.ClipGradNorm"
	if !finite(maxNorm) || maxNorm < 0 {
		return 0, fmt.Errorf("%s: maxNorm = %v, want ≥ 0 and finite: %w", c, maxNorm, gometric.ErrSetting)
	}
	if math.IsNaN(normType) || normType <= 0 || math.IsInf(normType, -1) {
		return 0, fmt.Errorf("%s: normType = %v, want > 0 or +Inf: %w", c, normType, gometric.ErrSetting)
	}
	if err := checkClipParams(c, params); err != nil {
		return 0, err
	}
	var total float64
	for _, p := range params {
		g32, g64 := gradData(p)
		if math.IsInf(normType, 1) {
			total = max(total, maxAbs(g32), maxAbs(g64))
		} else {
			total += powSum(g32, normType) + powSum(g64, normType)
		}
	}
	if !math.IsInf(normType, 1) {
		total = math.Pow(total, 1/normType)
	}
	if !finite(total) {
		return total, fmt.Errorf("%s: the total %v-norm of the gradients is %v: %w", c, normType, total, gometric.ErrNonFinite)
	}
	coef := maxNorm / (total + 1e-6)
	if coef < 1 {
		for _, p := range params {
			g32, g64 := gradData(p)
			for i := range g32 {
				g32[i] *= float32(coef)
			}
			for i := range g64 {
				g64[i] *= coef
			}
		}
	}
	return total, nil
}

// ClipGradValue clamps every gradient value of params to [-clip, clip]:
// torch.nn.utils.clip_grad_value_(parameters, clip_value). Call it between
// Encoder.TrainStep and Step. NaN gradients are left as they are (as
// torch's clamp). It is safe for concurrent use on disjoint parameters.
func ClipGradValue(params []*Param, clip float64) error {
	const c = "models.ClipGradValue"
	if math.IsNaN(clip) || clip < 0 {
		return fmt.Errorf("%s: clip = %v, want ≥ 0: %w", c, clip, gometric.ErrSetting)
	}
	if err := checkClipParams(c, params); err != nil {
		return err
	}
	c32 := float32(clip)
	for _, p := range params {
		g32, g64 := gradData(p)
		for i, v := range g32 {
			g32[i] = min(max(v, -c32), c32)
		}
		for i, v := range g64 {
			g64[i] = min(max(v, -clip), clip)
		}
	}
	return nil
}

func checkClipParams(c string, params []*Param) error {
	if len(params) == 0 {
		return fmt.Errorf("%s: no parameters: %w", c, gometric.ErrShape)
	}
	for i, p := range params {
		if p == nil || p.value == nil || p.grad == nil {
			return fmt.Errorf("%s: parameter %d is nil or not made by an encoder or NewDenseParam: %w", c, i, gometric.ErrShape)
		}
	}
	return nil
}

func gradData(p *Param) ([]float32, []float64) {
	g32, _ := p.grad.Data().([]float32)
	g64, _ := p.grad.Data().([]float64)
	return g32, g64
}

func maxAbs[T float](xs []T) float64 {
	var m float64
	for _, v := range xs {
		a := math.Abs(float64(v))
		if a > m || math.IsNaN(a) {
			m = a
		}
	}
	return m
}

func powSum[T float](xs []T, p float64) float64 {
	var s float64
	for _, v := range xs {
		a := math.Abs(float64(v))
		switch p {
		case 1:
			s += a
		case 2:
			s += a * a
		default:
			s += math.Pow(a, p)
		}
	}
	return s
}
