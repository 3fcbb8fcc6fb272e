package regularizers

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// Lp mirrors PML's LpRegularizer: the P-norm of every row raised to Power,
// reduced by Reducer (nil means PML's default, MeanReducer).
type Lp struct {
	P, Power float64
	Reducer  reducers.Reducer
}

// NewLp returns an Lp regularizer with PML's defaults (p = 2, power = 1,
// MeanReducer).
func NewLp() *Lp { return &Lp{P: 2, Power: 1} }

// Compute implements Regularizer.
func (l *Lp) Compute(x *mat.Dense) (float64, *mat.Dense, error) {
	const name = "regularizers.Lp"
	if err := check.Matrix(name, "input", x); err != nil {
		return 0, nil, err
	}
	if err := validP(name, l.P); err != nil {
		return 0, nil, err
	}
	if l.Power == 0 || math.IsNaN(l.Power) || math.IsInf(l.Power, 0) {
		return 0, nil, check.Settingf(name, "power = %v, want a finite non-zero number", l.Power)
	}
	n, c := x.Dims()
	norms := rownorm.Norms(x, l.P)
	values := make([]float64, n)
	for i, v := range norms {
		values[i] = math.Pow(v, l.Power)
		if math.IsInf(values[i], 0) || math.IsNaN(values[i]) {
			return 0, nil, check.Errorf(name, gometric.ErrNonFinite, "row %d has norm %v, which to the power %v is %v", i, v, l.Power, values[i])
		}
	}
	val, g, err := reduce(orMean(l.Reducer), values, n, 0, false)
	if err != nil {
		return 0, nil, err
	}
	grad := mat.NewDense(n, c, nil)
	for i, v := range norms {
		if g[i] == 0 {
			continue
		}
		// d(norm^power)/d(norm) = power·norm^(power-1).
		rownorm.NormGrad(grad.RawRowView(i), x.RawRowView(i), l.P, v, g[i]*l.Power*math.Pow(v, l.Power-1))
	}
	return finish(name, val, grad)
}
