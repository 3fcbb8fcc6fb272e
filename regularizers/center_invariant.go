package regularizers

import (
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// CenterInvariant mirrors PML's CenterInvariantRegularizer: with s_i the
// squared norm of row i (in Distance's p), the loss of row i is
// (s_i - mean(s))² / 4, reduced by Reducer (nil means MeanReducer).
//
// As in PML, Distance must be an Lp distance with power 1 and no
// normalisation; nil means PML's default, distances.Lp{P: 2, Power: 1}.
//
// The zero value is PML's defaults, the same regularizer as
// NewCenterInvariant returns. Compute is safe for concurrent use as long
// as the fields are not changed meanwhile and Distance and Reducer are
// safe for concurrent use.
type CenterInvariant struct {
	// Distance is nil for PML's default, an unnormalised Lp distance with
	// p = 2 and power 1.
	Distance distances.Distance
	// Reducer is nil for PML's default, MeanReducer.
	Reducer reducers.Reducer
}

// NewCenterInvariant returns a CenterInvariant regularizer with PML's
// defaults.
func NewCenterInvariant() *CenterInvariant { return &CenterInvariant{} }

// Compute implements Regularizer.
func (ci *CenterInvariant) Compute(x *mat.Dense) (float64, *mat.Dense, error) {
	const name = "regularizers.CenterInvariant"
	if ci == nil {
		return 0, nil, nilReceiver(name)
	}
	if err := check.Matrix(name, "input", x); err != nil {
		return 0, nil, err
	}
	p := 2.0
	if ci.Distance != nil {
		lp, ok := ci.Distance.(*distances.Lp)
		if !ok || lp == nil || lp.Power != 1 || lp.NormalizeEmbeddings {
			return 0, nil, check.Settingf(name, "distance %T %+v, want *distances.Lp with Power 1 and NormalizeEmbeddings false", ci.Distance, ci.Distance.Settings())
		}
		p = lp.P
	}
	if err := validP(name, p); err != nil {
		return 0, nil, err
	}
	n, c := x.Dims()
	norms := rownorm.Norms(x, p)
	var mean float64
	for _, v := range norms {
		mean += v * v
	}
	mean /= float64(n)
	dev := make([]float64, n)
	values := make([]float64, n)
	for i, v := range norms {
		dev[i] = v*v - mean
		values[i] = dev[i] * dev[i] / 4
	}
	val, g, err := reduce(orMean(ci.Reducer), values, n, 0, false)
	if err != nil {
		return 0, nil, err
	}
	// h_i = dL/d(dev_i); dL/ds_j = h_j - mean(h); ds_j/dx_j = 2·n_j·∂n_j/∂x_j.
	h := make([]float64, n)
	var hMean float64
	for i := range h {
		h[i] = g[i] * dev[i] / 2
		hMean += h[i]
	}
	hMean /= float64(n)
	grad := mat.NewDense(n, c, nil)
	for j, v := range norms {
		rownorm.NormGrad(grad.RawRowView(j), x.RawRowView(j), p, v, (h[j]-hMean)*2*v)
	}
	return finish(name, val, grad)
}
