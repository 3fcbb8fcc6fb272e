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
		row := x.RawRowView(i)
		for _, v := range row {
			sums[i] += v
		}
		if math.IsInf(sums[i], 0) || math.IsNaN(sums[i]) {
			sums[i] = scaledSum(row)
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

// scaledSum returns the sum of x (finite entries) when a partial sum
// overflowed: the entries are scaled by 2^-k, k = ⌈log₂ len(x)⌉, so no
// partial sum can overflow, and the sum scaled back (+Inf or -Inf only
// when the sum itself exceeds float64's range).
func scaledSum(x []float64) float64 {
	_, k := math.Frexp(float64(len(x)))
	var s float64
	for _, v := range x {
		s += math.Ldexp(v, -k)
	}
	return math.Ldexp(s, k)
}
