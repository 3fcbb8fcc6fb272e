package losses

import (
	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/rownorm"
	"gonum.org/v1/gonum/mat"
)

// classMatrix is the N×K similarity matrix between the embeddings and K
// class vectors (the rows of ref), with its VJP. For PML's default
// CosineSimilarity (P 2, Power 1) and DotProductSimilarity (normalised, P
// 2, Power 1) it is computed here, as the distance would (rows divided by
// max(‖row‖, 1e-12), then one GEMM), without the distance's revalidation
// of inputs the loss has already checked; otherwise through the distance.
type classMatrix struct {
	dist     distances.Distance
	x, ref   *mat.Dense
	m        *mat.Dense
	fast     bool
	xn, rn   *mat.Dense
	xnm, rnm []float64
}

// unitDot reports whether d is a normalising dot product with P 2 and
// Power 1.
func unitDot(d distances.Distance) bool {
	switch v := d.(type) {
	case *distances.CosineSimilarity:
		return v != nil && v.P == 2 && v.Power == 1
	case *distances.DotProductSimilarity:
		return v != nil && v.NormalizeEmbeddings && v.P == 2 && v.Power == 1
	}
	return false
}

func newClassMatrix(name string, dist distances.Distance, x, ref *mat.Dense) (*classMatrix, error) {
	cm := &classMatrix{dist: dist, x: x, ref: ref, fast: unitDot(dist)}
	if !cm.fast {
		m, err := dist.Matrix(x, ref)
		if err != nil {
			return nil, wrap(name, err)
		}
		cm.m = m
		return cm, nil
	}
	n, d := x.Dims()
	k, _ := ref.Dims()
	cm.xn, cm.xnm = rownorm.Normalize(x, 2)
	cm.rn, cm.rnm = rownorm.Normalize(ref, 2)
	cm.m = mat.NewDense(n, k, nil)
	a, b, c := cm.xn.RawMatrix(), cm.rn.RawMatrix(), cm.m.RawMatrix()
	gemm.Dgemm(false, true, n, k, d, 1, a.Data, a.Stride, b.Data, b.Stride, 0, c.Data, c.Stride)
	return cm, nil
}

// vjp returns the gradients with respect to x and ref given g =
// d(loss)/d(m).
func (cm *classMatrix) vjp(name string, g *mat.Dense) (dx, dref *mat.Dense, err error) {
	if !cm.fast {
		dx, dref, err = cm.dist.MatrixVJP(cm.x, cm.ref, cm.m, g)
		return dx, dref, wrap(name, err)
	}
	n, d := cm.x.Dims()
	k, _ := cm.ref.Dims()
	dxn, drn := mat.NewDense(n, d, nil), mat.NewDense(k, d, nil)
	gr, xr, rr := g.RawMatrix(), cm.xn.RawMatrix(), cm.rn.RawMatrix()
	o := dxn.RawMatrix()
	gemm.Dgemm(false, false, n, d, k, 1, gr.Data, gr.Stride, rr.Data, rr.Stride, 0, o.Data, o.Stride)
	o = drn.RawMatrix()
	gemm.Dgemm(true, false, k, d, n, 1, gr.Data, gr.Stride, xr.Data, xr.Stride, 0, o.Data, o.Stride)
	return rownorm.NormalizeVJP(cm.x, dxn, 2, cm.xnm), rownorm.NormalizeVJP(cm.ref, drn, 2, cm.rnm), nil
}
