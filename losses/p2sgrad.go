package losses

import (
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	"github.com/gometric/gometric/internal/rownorm"
	"github.com/gometric/gometric/reducers"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// P2SGrad mirrors PML's P2SGradLoss (Zhang et al., "P2SGrad: Refined
// Gradients for Optimizing Deep Face Models", CVPR 2019): the mean, over
// the N×C entries, of (cos θ_ic − onehot(y_i)_c)², where cos θ_ic is the
// product of embedding i with column c of Weight (D×C; PML's parameter
// "weight") divided by the embedding's norm, clamped to [−1, 1]. One
// already reduced sub-loss "loss".
//
// As in PML, every Compute first renormalises the columns of Weight in
// place (torch's renorm(2, 1, 1e-5)·1e5: a column of norm r > 1e-5 is
// scaled by 1e-5/(r + 1e-7)·1e5, any other multiplied by 1e5), checks that
// each column then has unit norm within 1e-5 (PML asserts it; an error
// here), and the gradient in Result.ParamGrads is with respect to the
// renormalised Weight. Labels are required and must lie in [0, NumClasses);
// ref embeddings and tuples are not supported (as in PML). The distance and
// reducer of Base are not used (PML ignores them too).
//
// Make it with NewP2SGrad(descriptorsDim, numClasses, rng): its zero value
// (or a literal) is refused, see Base. Compute renormalises Weight in
// place, so a P2SGrad is not safe for concurrent use.
type P2SGrad struct {
	Base
	// NumClasses is PML's num_classes; Weight must be D×NumClasses.
	NumClasses int
	// Weight is the D×C parameter "weight". New draws it uniform in
	// [−1, 1) and renormalises its columns, as PML's constructor.
	Weight *mat.Dense
}

// NewP2SGrad returns a P2SGrad loss for PML's P2SGradLoss(descriptors_dim,
// num_classes). Weight is drawn from rng; the random stream differs from
// torch's. A nil rng means math/rand/v2's global generator (fresh draws at
// every call, safe for concurrent use); pass a seeded *rand.Rand for
// reproducible weights. Both sizes must be positive.
func NewP2SGrad(descriptorsDim, numClasses int, rng *rand.Rand) (*P2SGrad, error) {
	const name = "losses.P2SGrad"
	if err := checkSizes(name, descriptorsDim, numClasses); err != nil {
		return nil, err
	}
	w := mat.NewDense(descriptorsDim, numClasses, nil)
	fillUniform(randsrc.Or(rng), w, -1, 1)
	renormColumns(w)
	return &P2SGrad{Base: defaultBase(), NumClasses: numClasses, Weight: w}, nil
}

// Params implements Learnable: "weight" (D×C).
func (l *P2SGrad) Params() []*Param {
	if l == nil {
		return nil
	}
	return []*Param{{Name: "weight", Value: l.Weight}}
}

// renormColumns is torch's w.renorm(2, 1, 1e-5).mul(1e5) in place.
func renormColumns(w *mat.Dense) {
	r, c := w.Dims()
	raw := w.RawMatrix()
	var col []float64
	for j := range c {
		var s float64
		for i := range r {
			v := raw.Data[i*raw.Stride+j]
			s += v * v
		}
		norm := math.Sqrt(s)
		if !rownorm.Safe(s) {
			// Squares that overflow or underflow: the scaled norm.
			col = colOf(col, w, j)
			norm = rownorm.Scaled(col, 2)
		}
		f := 1.0
		if norm > 1e-5 {
			f = 1e-5 / (norm + 1e-7)
		}
		for i := range r {
			raw.Data[i*raw.Stride+j] = raw.Data[i*raw.Stride+j] * f * 1e5
		}
	}
}

// colOf returns column j of w in buf (reallocated when short).
func colOf(buf []float64, w *mat.Dense, j int) []float64 {
	r, _ := w.Dims()
	if cap(buf) < r {
		buf = make([]float64, r)
	}
	buf = buf[:r]
	for i := range buf {
		buf[i] = w.At(i, j)
	}
	return buf
}

var p2sGradDecl = decl{
	name:         "losses.P2SGrad",
	ctor:         "NewP2SGrad(descriptorsDim, numClasses, rng)",
	needLabels:   true,
	noRef:        true,
	noTuples:     true,
	subLossNames: []string{"loss"},
	defReducer:   func() reducers.Reducer { return reducers.NewMean() },
}

// Compute implements Loss. It renormalises Weight in place first.
func (l *P2SGrad) Compute(b Batch) (Result, error) { return run(&p2sGradDecl, l, b) }

func (l *P2SGrad) compute(in *input) (*term, error) {
	const name = "losses.P2SGrad"
	c := l.NumClasses
	if err := checkParam(name, "Weight", l.Weight, in.d, c); err != nil {
		return nil, err
	}
	if err := checkClassLabels(name, in.labels, c); err != nil {
		return nil, err
	}
	renormColumns(l.Weight)
	w := l.Weight
	wraw := w.RawMatrix()
	var col []float64
	for j := range c {
		var s float64
		for i := range in.d {
			v := wraw.Data[i*wraw.Stride+j]
			s += v * v
		}
		m := math.Sqrt(s)
		if !rownorm.Safe(s) {
			col = colOf(col, w, j)
			m = rownorm.Scaled(col, 2)
		}
		if !(math.Abs(m-1) < 1e-5) {
			return nil, check.Errorf(name, gometric.ErrNonFinite, "column %d of Weight has norm %v after renormalisation, want 1 (PML asserts this; a zero or tiny column cannot be renormalised)", j, m)
		}
	}
	n := in.n
	xm := make([]float64, n)
	for i := range n {
		// Right at any magnitude (rownorm.Norm scales where the squares
		// overflow or underflow).
		xm[i] = rownorm.Norm(in.emb.RawRowView(i), 2)
		if xm[i] == 0 {
			return nil, check.Errorf(name, gometric.ErrNonFinite, "embedding %d has norm 0 (PML divides by it)", i)
		}
	}
	z := mat.NewDense(n, c, nil)
	z.Mul(in.emb, w)
	cos := mat.NewDense(n, c, nil)
	var sum float64
	for i := range n {
		zr, cr := z.RawRowView(i), cos.RawRowView(i)
		for j := range c {
			v := math.Max(-1, math.Min(1, zr[j]/xm[i]))
			cr[j] = v
			if j == in.labels[i] {
				v--
			}
			sum += v * v
		}
	}
	count := float64(n * c)
	return &term{
		subLosses: []reducers.SubLoss{{Name: "loss", Values: []float64{sum / count}, Kind: reducers.AlreadyReduced}},
		backward: func(dv [][]float64, g *grads) error {
			scale := dv[0][0] * 2 / count
			dz := mat.NewDense(n, c, nil)
			dxm := make([]float64, n)
			for i := range n {
				zr, cr, dr := z.RawRowView(i), cos.RawRowView(i), dz.RawRowView(i)
				// A norm beyond [2^-300, 2^300] would overflow or
				// underflow ‖x‖² and ‖x‖³: the terms are then taken on
				// z/‖x‖ and x/‖x‖.
				extreme := !(xm[i] >= 0x1p-300 && xm[i] <= 0x1p300)
				for j := range c {
					r := zr[j] / xm[i]
					if r < -1 || r > 1 {
						continue // clamped: no gradient
					}
					t := 0.0
					if j == in.labels[i] {
						t = 1
					}
					dc := scale * (cr[j] - t)
					dr[j] = dc / xm[i]
					if extreme {
						dxm[i] -= dc * r
					} else {
						dxm[i] -= dc * zr[j] / (xm[i] * xm[i])
					}
				}
				if extreme {
					dxm[i] /= xm[i]
				}
			}
			// dX = dz·Wᵀ + (dxm_i/‖x_i‖)·x_i ; dW = Xᵀ·dz.
			blas64.Gemm(blas.NoTrans, blas.Trans, 1, dz.RawMatrix(), wraw, 1, g.q.RawMatrix())
			for i := range n {
				row, x := g.q.RawRowView(i), in.emb.RawRowView(i)
				if f := dxm[i] / xm[i]; xm[i] >= 0x1p-300 && xm[i] <= 0x1p300 {
					for k, v := range x {
						row[k] += f * v
					}
					continue
				}
				for k, v := range x {
					row[k] += dxm[i] * (v / xm[i])
				}
			}
			pg := g.param("weight", in.d, c)
			var dw mat.Dense
			dw.Mul(in.emb.T(), dz)
			pg.Add(pg, &dw)
			return nil
		},
	}, nil
}
