package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Param is one learnable tensor (torch's nn.Parameter): an encoder weight
// or bias, or a loss parameter wrapped by NewDenseParam. It implements
// gorgonia.ValueGrad, so any Gorgonia solver can update it in place; the
// Optimizer does so. Its value and gradient keep their memory for the
// Param's lifetime.
//
// Params are made by the encoders (Encoder.Params) and by NewDenseParam;
// the zero value holds no tensor: its Len is 0, its Value nil, its Grad an
// error wrapping gometric.ErrSetting, and an Optimizer refuses it. A Param
// is not safe for concurrent use: an Optimizer writes its value and
// gradient in place.
type Param struct {
	name  string
	shape []int
	value *tensor.Dense
	grad  *tensor.Dense
}

var _ G.ValueGrad = (*Param)(nil)

// newParam allocates a zero parameter of shape (the tensor may have a
// different but equally sized graph shape).
func newParam[T float](name string, shape []int, graphShape ...int) *Param {
	v, _ := newDense[T](graphShape...)
	g, _ := newDense[T](graphShape...)
	return &Param{name: name, shape: slices.Clone(shape), value: v, grad: g}
}

// NewDenseParam wraps a float64 matrix and its gradient (a loss parameter:
// losses.Param's Value and the matching Result.ParamGrads entry) as a
// Param that shares their memory, so that an Optimizer updates value in
// place. Both must have the same dimensions and contiguous rows (as
// mat.NewDense makes them). A solver's Step consumes the gradient: it
// overwrites grad (Gorgonia's solvers zero it).
func NewDenseParam(name string, value, grad *mat.Dense) (*Param, error) {
	const c = "models.NewDenseParam"
	if value == nil || value.IsEmpty() || grad == nil || grad.IsEmpty() {
		return nil, fmt.Errorf("%s: %q: value or gradient is empty: %w", c, name, gometric.ErrShape)
	}
	r, k := value.Dims()
	gr, gk := grad.Dims()
	if gr != r || gk != k {
		return nil, fmt.Errorf("%s: %q: value is %d×%d but gradient is %d×%d: %w", c, name, r, k, gr, gk, gometric.ErrShape)
	}
	rv, rg := value.RawMatrix(), grad.RawMatrix()
	if rv.Stride != k || rg.Stride != k {
		return nil, fmt.Errorf("%s: %q: value or gradient is a strided view (stride %d, %d for %d columns): %w", c, name, rv.Stride, rg.Stride, k, gometric.ErrShape)
	}
	return &Param{
		name:  name,
		shape: []int{r, k},
		value: tensor.New(tensor.WithShape(r, k), tensor.WithBacking(rv.Data[:r*k])),
		grad:  tensor.New(tensor.WithShape(r, k), tensor.WithBacking(rg.Data[:r*k])),
	}, nil
}

// Name is the parameter's name, as in torch's state_dict ("conv1.weight",
// "fc.bias", ...); "" for a nil Param.
func (p *Param) Name() string {
	if p == nil {
		return ""
	}
	return p.name
}

// Shape is the parameter's shape as torch has it (e.g. [16 1 3 3] for a
// convolution weight, [64 1568] for a dense weight, [16] for a bias); nil
// for a nil or zero Param.
func (p *Param) Shape() []int {
	if p == nil {
		return nil
	}
	return slices.Clone(p.shape)
}

// Len is the number of values (0 for a nil or zero Param).
func (p *Param) Len() int {
	if p == nil || p.value == nil {
		return 0
	}
	return p.value.Shape().TotalSize()
}

// Value returns the value tensor (gorgonia.ValueGrad); nil for a nil or
// zero Param.
func (p *Param) Value() G.Value {
	if p == nil || p.value == nil {
		return nil
	}
	return p.value
}

// Grad returns the gradient tensor (gorgonia.ValueGrad); an error for a
// nil or zero Param.
func (p *Param) Grad() (G.Value, error) {
	if p == nil || p.grad == nil {
		return nil, fmt.Errorf("models.Param.Grad: nil or zero Param (made by neither an encoder nor NewDenseParam): %w", gometric.ErrSetting)
	}
	return p.grad, nil
}

// Float32s returns the live value and gradient of a float32 parameter
// (every encoder parameter), row-major in Shape; writes change the
// parameter. It returns nil, nil for a float64 parameter and for a nil or
// zero Param.
func (p *Param) Float32s() (value, grad []float32) {
	if p == nil || p.value == nil || p.grad == nil {
		return nil, nil
	}
	v, _ := p.value.Data().([]float32)
	g, _ := p.grad.Data().([]float32)
	return v, g
}

// zeroGrad sets the gradient to 0.
func (p *Param) zeroGrad() { p.grad.Zero() }

// initUniform fills p with U(-bound, bound) values drawn from rng in
// row-major order (torch's kaiming_uniform_(a=√5) for weights, whose bound
// is 1/√fan_in, and its bias rule, which uses the same bound).
func initUniform[T float](p *Param, bound float64, rng *rand.Rand) {
	v := p.value.Data().([]T)
	for i := range v {
		v[i] = T(bound * (2*rng.Float64() - 1))
	}
}

// kaimingBound is torch's bound for a layer with fan_in inputs.
func kaimingBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }
