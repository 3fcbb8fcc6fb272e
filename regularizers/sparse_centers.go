package regularizers

import (
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/mat"
)

// SparseCenters mirrors PML's SparseCentersRegularizer, for weight matrices
// holding CentersPerClass consecutive centres for each of NumClasses
// classes. For every pair i < j of centres of the same class it takes
// sqrt(2 + tiny - min(2·cos(i, j), 2)) and reduces these with Reducer (nil
// means PML's default, DivisorReducer, with divisor 2 × the number of such
// pairs). Distance must be CosineSimilarity (nil means that default).
//
// NumClasses and CentersPerClass have no default (PML requires them), so
// the zero value is refused with an error wrapping gometric.ErrSetting
// that names NewSparseCenters; a value with both set and nil Distance and
// Reducer is PML's defaults. Compute is safe for concurrent use as long as
// the fields are not changed meanwhile and Distance and Reducer are safe
// for concurrent use.
type SparseCenters struct {
	// NumClasses is PML's num_classes, at least 1.
	NumClasses int
	// CentersPerClass is PML's centers_per_class, at least 2.
	CentersPerClass int
	// Distance is nil for PML's default, CosineSimilarity (the only one
	// PML accepts).
	Distance distances.Distance
	// Reducer is nil for PML's default, DivisorReducer.
	Reducer reducers.Reducer
}

// NewSparseCenters returns a SparseCenters regularizer with PML's defaults.
func NewSparseCenters(numClasses, centersPerClass int) *SparseCenters {
	return &SparseCenters{NumClasses: numClasses, CentersPerClass: centersPerClass}
}

// tiny is torch.finfo(torch.float64).tiny, PML's small_val.
const tiny = 2.2250738585072014e-308

// Compute implements Regularizer. x must have NumClasses·CentersPerClass
// rows.
func (sc *SparseCenters) Compute(x *mat.Dense) (float64, *mat.Dense, error) {
	const name = "regularizers.SparseCenters"
	if sc == nil {
		return 0, nil, nilReceiver(name)
	}
	if sc.NumClasses == 0 && sc.CentersPerClass == 0 {
		return 0, nil, check.Settingf(name, "NumClasses and CentersPerClass are 0 (a zero value?); use NewSparseCenters(numClasses, centersPerClass)")
	}
	if err := check.Matrix(name, "input", x); err != nil {
		return 0, nil, err
	}
	if sc.NumClasses < 1 {
		return 0, nil, check.Settingf(name, "NumClasses = %d, want >= 1", sc.NumClasses)
	}
	if sc.CentersPerClass <= 1 {
		return 0, nil, check.Settingf(name, "CentersPerClass = %d, want > 1", sc.CentersPerClass)
	}
	if r, _ := x.Dims(); sc.NumClasses > r/sc.CentersPerClass {
		return 0, nil, check.Errorf(name, gometric.ErrShape, "weights have %d rows, want NumClasses × CentersPerClass = %d × %d", r, sc.NumClasses, sc.CentersPerClass)
	}
	dist := sc.Distance
	if dist == nil {
		dist = distances.NewCosineSimilarity()
	}
	if _, ok := dist.(*distances.CosineSimilarity); !ok {
		return 0, nil, check.Settingf(name, "distance %T, want *distances.CosineSimilarity (as PML asserts)", dist)
	}
	n, c := x.Dims()
	k := sc.CentersPerClass
	if err := check.Dims(name, "weights", x, sc.NumClasses*k, c); err != nil {
		return 0, nil, err
	}
	sim, err := dist.Matrix(x, nil)
	if err != nil {
		return 0, nil, err
	}
	// Same-class pairs i < j in row-major order, as PML's boolean mask.
	type pair struct{ i, j int }
	pairs := make([]pair, 0, sc.NumClasses*k*(k-1)/2)
	values := make([]float64, 0, cap(pairs))
	clamped := make([]bool, 0, cap(pairs))
	for i := 0; i < n; i++ {
		end := (i/k + 1) * k
		for j := i + 1; j < end; j++ {
			s := 2 * sim.At(i, j)
			over := s > 2 // torch.clamp passes the gradient at the bound
			if over {
				s = 2
			}
			pairs = append(pairs, pair{i, j})
			values = append(values, math.Sqrt(2+tiny-s))
			clamped = append(clamped, over)
		}
	}
	r := sc.Reducer
	if r == nil {
		r = reducers.NewDivisor()
	}
	val, g, err := reduce(r, values, n, float64(2*len(pairs)), true)
	if err != nil {
		return 0, nil, err
	}
	gm := mat.NewDense(n, n, nil)
	for q, pr := range pairs {
		if clamped[q] || g[q] == 0 {
			continue
		}
		if values[q] == 0 {
			// 2 + tiny rounds to 2, so sqrt's derivative is infinite
			// here, as it is in PML.
			return 0, nil, check.Errorf(name, gometric.ErrNonFinite, "centres %d and %d of class %d coincide (cosine 1): the gradient is infinite", pr.i, pr.j, pr.i/k)
		}
		// d sqrt(2 + tiny - 2c)/dc = -1/sqrt(...).
		gm.Set(pr.i, pr.j, -g[q]/values[q])
	}
	grad, _, err := dist.MatrixVJP(x, nil, sim, gm)
	if err != nil {
		return 0, nil, err
	}
	return finish(name, val, grad)
}
