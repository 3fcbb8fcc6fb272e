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
//
// The zero value is PML's defaults, the same regularizer as NewLp
// returns. Compute is safe for concurrent use as long as the fields are
// not changed meanwhile and Reducer is safe for concurrent use.
type Lp struct {
	// P is PML's p, at least 1. If P is 0, 2 (PML's default) is used.
	P float64
	// Power is PML's power, finite and not 0. If Power is 0, 1 (PML's
	// default) is used.
	Power float64
	// Reducer is nil for PML's default, MeanReducer.
	Reducer reducers.Reducer
}

// NewLp returns an Lp regularizer with PML's defaults (p = 2, power = 1,
// MeanReducer).
func NewLp() *Lp { return &Lp{P: 2, Power: 1} }

// Compute implements Regularizer.
func (l *Lp) Compute(x *mat.Dense) (float64, *mat.Dense, error) {
	const name = "regularizers.Lp"
	if l == nil {
		return 0, nil, nilReceiver(name)
	}
	if err := check.Matrix(name, "input", x); err != nil {
		return 0, nil, err
	}
	p, power := l.P, l.Power
	if p == 0 {
		p = 2
	}
	if power == 0 {
		power = 1
	}
	if err := validP(name, p); err != nil {
		return 0, nil, err
	}
	if math.IsNaN(power) || math.IsInf(power, 0) {
		return 0, nil, check.Settingf(name, "power = %v, want a finite non-zero number", power)
	}
	n, c := x.Dims()
	norms := rownorm.Norms(x, p)
	values := make([]float64, n)
	for i, v := range norms {
		values[i] = math.Pow(v, power)
		if math.IsInf(values[i], 0) || math.IsNaN(values[i]) {
			return 0, nil, check.Errorf(name, gometric.ErrNonFinite, "row %d has norm %v, which to the power %v is %v", i, v, power, values[i])
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
		rownorm.NormGrad(grad.RawRowView(i), x.RawRowView(i), p, v, g[i]*power*math.Pow(v, power-1))
	}
	return finish(name, val, grad)
}
