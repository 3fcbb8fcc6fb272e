package regularizers

import (
	"math"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// ZeroMean mirrors PML's ZeroMeanRegularizer: |Σ_k x_ik| for every row i,
// reduced by Reducer (nil means PML's default, MeanReducer).
//
// The zero value is PML's defaults, the same regularizer as NewZeroMean
// returns. Compute is safe for concurrent use as long as Reducer is not
// changed meanwhile and is safe for concurrent use.
type ZeroMean struct {
	// Reducer is nil for PML's default, MeanReducer.
	Reducer reducers.Reducer
}

// NewZeroMean returns a ZeroMean regularizer with PML's defaults.
func NewZeroMean() *ZeroMean { return &ZeroMean{} }

// Compute implements Regularizer.
func (z *ZeroMean) Compute(x *mat.Dense) (float64, *mat.Dense, error) {
	const name = "regularizers.ZeroMean"
	if z == nil {
		return 0, nil, nilReceiver(name)
	}
	if err := check.Matrix(name, "input", x); err != nil {
		return 0, nil, err
	}
	n, c := x.Dims()
	sums := make([]float64, n)
	values := make([]float64, n)
	for i := range sums {
		for _, v := range x.RawRowView(i) {
			sums[i] += v
		}
		values[i] = math.Abs(sums[i])
	}
	val, g, err := reduce(orMean(z.Reducer), values, n, 0, false)
	if err != nil {
		return 0, nil, err
	}
	grad := mat.NewDense(n, c, nil)
	for i, s := range sums {
		var d float64 // torch: d|s|/ds = sign(s), 0 at 0
		switch {
		case s > 0:
			d = g[i]
		case s < 0:
			d = -g[i]
		}
		row := grad.RawRowView(i)
		for k := range row {
			row[k] = d
		}
	}
	return finish(name, val, grad)
}
