package regularizers

import (
	"fmt"
	"math"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// RegularFace mirrors PML's RegularFaceRegularizer: for every row (class
// weight) i, the similarity to its closest other row, reduced by Reducer
// (nil means MeanReducer). Distance must be a similarity (inverted); nil
// means PML's default, CosineSimilarity.
//
// The zero value is PML's defaults, the same regularizer as
// NewRegularFace returns. Compute is safe for concurrent use as long as
// the fields are not changed meanwhile and Distance and Reducer are safe
// for concurrent use.
type RegularFace struct {
	// Distance is nil for PML's default, CosineSimilarity.
	Distance distances.Distance
	// Reducer is nil for PML's default, MeanReducer.
	Reducer reducers.Reducer
}

// NewRegularFace returns a RegularFace regularizer with PML's defaults.
func NewRegularFace() *RegularFace { return &RegularFace{} }

// Compute implements Regularizer. The input needs at least two rows.
func (rf *RegularFace) Compute(x *mat.Dense) (float64, *mat.Dense, error) {
	const name = "regularizers.RegularFace"
	if rf == nil {
		return 0, nil, nilReceiver(name)
	}
	if err := check.Matrix(name, "input", x); err != nil {
		return 0, nil, err
	}
	dist := rf.Distance
	if dist == nil {
		dist = distances.NewCosineSimilarity()
	}
	if !dist.Settings().Inverted {
		return 0, nil, check.Settingf(name, "distance %T is not a similarity (PML asserts is_inverted)", dist)
	}
	n, _ := x.Dims()
	sim, err := dist.Matrix(x, nil)
	if err != nil {
		return 0, nil, err
	}
	// PML fills the diagonal with the dtype's lowest value, then takes
	// smallest_dist (the maximum of a similarity) per row; the first
	// index wins ties.
	closest := make([]int, n)
	values := make([]float64, n)
	row := make([]float64, n)
	for i := 0; i < n; i++ {
		copy(row, sim.RawRowView(i))
		row[i] = -math.MaxFloat64
		_, j, err := distances.Smallest(dist, row)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: similarity row %d: %w", name, i, err)
		}
		closest[i], values[i] = j, sim.At(i, j)
	}
	val, g, err := reduce(orMean(rf.Reducer), values, n, 0, false)
	if err != nil {
		return 0, nil, err
	}
	gm := mat.NewDense(n, n, nil)
	for i, j := range closest {
		gm.Set(i, j, g[i])
	}
	grad, _, err := dist.MatrixVJP(x, nil, sim, gm)
	if err != nil {
		return 0, nil, err
	}
	return finish(name, val, grad)
}
