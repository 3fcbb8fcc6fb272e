package losses

import (
	"fmt"
	"math"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"github.com/gometric/gometric/regularizers"
	"gonum.org/v1/gonum/mat"
)

// WeightReg mirrors PML's WeightRegularizerMixin: an optional regularizer
// applied to a loss's class weights, whose value times WeightRegWeight is
// added as the sub-loss "weight_reg_loss" (an already reduced value). Each
// loss documents which matrix it regularizes (PML passes e.g. ProxyAnchor's
// proxies, SoftTriple's fc transposed): its rows are the regularizer's
// embeddings.
//
// As Base, a WeightReg is made by the loss's constructor (WeightRegWeight
// 1): set the fields of that one. A WeightReg literal put in its place is
// refused with an error wrapping gometric.ErrSetting, since its zero
// WeightRegWeight is not PML's default 1 and 0 is a legal weight.
// WeightReg is settings that the losses only read: safe for concurrent use
// as long as nobody changes them.
type WeightReg struct {
	// WeightRegularizer is PML's weight_regularizer (nil: none, and then
	// there is no "weight_reg_loss" sub-loss).
	WeightRegularizer regularizers.Regularizer
	// WeightRegWeight is PML's weight_reg_weight (default 1). It must be
	// finite when a regularizer is set.
	WeightRegWeight float64

	// made is set by the constructors (defaultWeightReg).
	made bool
}

// defaultWeightReg is PML's default: no regularizer, weight 1.
func defaultWeightReg() WeightReg { return WeightReg{WeightRegWeight: 1, made: true} }

// names appends "weight_reg_loss" to the sub-loss names when a regularizer
// is set (PML's regularization_loss_names hack).
func (w *WeightReg) names(base ...string) []string {
	if w.WeightRegularizer == nil {
		return base
	}
	return append(base, "weight_reg_loss")
}

// checkWeightReg checks that the constructor made w and WeightRegWeight.
func (w *WeightReg) checkWeightReg(name string) error {
	if !w.made {
		return check.Settingf(name, "WeightReg was replaced by a literal, whose WeightRegWeight 0 is not PML's default 1; set the fields of the WeightReg the constructor made")
	}
	if w.WeightRegularizer != nil && (math.IsNaN(w.WeightRegWeight) || math.IsInf(w.WeightRegWeight, 0)) {
		return check.Settingf(name, "WeightRegWeight = %v must be finite", w.WeightRegWeight)
	}
	return nil
}

// addTo appends the "weight_reg_loss" sub-loss to t (creating PML's zero
// losses for names when t is nil) and extends its backward so that the
// regularizer's gradient lands in the gradient of param (rows×cols, the
// shape of value). The regularizer sees value, or value transposed when
// transpose is set. Without a regularizer t is returned unchanged.
func (w *WeightReg) addTo(name string, t *term, names []string, param string, value *mat.Dense, transpose bool) (*term, error) {
	if w.WeightRegularizer == nil {
		return t, nil
	}
	var x mat.Matrix = value
	if transpose {
		x = value.T()
	}
	xd := mat.DenseCopyOf(x)
	v, gx, err := w.WeightRegularizer.Compute(xd)
	if err != nil {
		return nil, fmt.Errorf("weight regularizer: %w", err)
	}
	if t == nil {
		t = zeroTerm(names[:len(names)-1])
	}
	k := len(t.subLosses)
	t.subLosses = append(t.subLosses, reducers.SubLoss{
		Name: "weight_reg_loss", Values: []float64{v * w.WeightRegWeight}, Kind: reducers.AlreadyReduced,
	})
	inner := t.backward
	rows, cols := value.Dims()
	weight := w.WeightRegWeight
	t.backward = func(dv [][]float64, g *grads) error {
		if inner != nil {
			if err := inner(dv[:k], g); err != nil {
				return err
			}
		}
		c := dv[k][0] * weight
		pg := g.param(param, rows, cols)
		if c == 0 {
			return nil
		}
		var gm mat.Matrix = gx
		if transpose {
			gm = gx.T()
		}
		var scaled mat.Dense
		scaled.Scale(c, gm)
		pg.Add(pg, &scaled)
		return nil
	}
	return t, nil
}
