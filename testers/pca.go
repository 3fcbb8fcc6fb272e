package testers

import (
	"fmt"
	"math"
	"sort"

	"github.com/gometric/gometric"
	"gonum.org/v1/gonum/mat"
)

// standardPCA is PML's maybe_normalize with pca set:
// c_f.torch_standard_scaler (column mean, unbiased std) and then
// inference.run_pca (FAISS's PCAMatrix: centre, project on the top dims
// eigenvectors of the covariance). x must be finite.
func standardPCA(x gometric.Matrix, dims int, what string) (gometric.Matrix, error) {
	n, d := x.Rows, x.Cols
	if n < 2 {
		return gometric.Matrix{}, fmt.Errorf("%s: PCA of %d embedding: the standard deviation needs at least 2 (PML gives NaN): %w", what, n, gometric.ErrNonFinite)
	}
	z := mat.NewDense(n, d, nil)
	for j := range d {
		var s float64
		for i := range n {
			s += float64(x.Data[i*d+j])
		}
		mu := s / float64(n)
		var ss float64
		for i := range n {
			v := float64(x.Data[i*d+j]) - mu
			ss += v * v
		}
		sd := math.Sqrt(ss / float64(n-1))
		if sd == 0 {
			return gometric.Matrix{}, fmt.Errorf("%s: PCA: embedding dimension %d is constant, so standardising it divides by 0 (PML gives NaN): %w", what, j, gometric.ErrNonFinite)
		}
		for i := range n {
			z.Set(i, j, (float64(x.Data[i*d+j])-mu)/sd)
		}
	}
	return project(z, dims)
}

// project centres z and projects it on the dims leading principal
// directions (eigenvalues in decreasing order, each direction's sign fixed
// so its largest-magnitude coordinate is positive).
func project(z *mat.Dense, dims int) (gometric.Matrix, error) {
	n, d := z.Dims()
	for j := range d {
		var s float64
		for i := range n {
			s += z.At(i, j)
		}
		mu := s / float64(n)
		for i := range n {
			z.Set(i, j, z.At(i, j)-mu)
		}
	}
	var cov mat.SymDense
	cov.SymOuterK(1, z.T())
	var eig mat.EigenSym
	if !eig.Factorize(&cov, true) {
		return gometric.Matrix{}, fmt.Errorf("PCA: the eigendecomposition did not converge: %w", gometric.ErrNonFinite)
	}
	vals := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, d)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	w := mat.NewDense(d, dims, nil)
	for c := range dims {
		k := order[c]
		best, sign := 0.0, 1.0
		for r := range d {
			if v := vecs.At(r, k); math.Abs(v) > best {
				best, sign = math.Abs(v), math.Copysign(1, v)
			}
		}
		for r := range d {
			w.Set(r, c, sign*vecs.At(r, k))
		}
	}
	var y mat.Dense
	y.Mul(z, w)
	out := gometric.Matrix{Rows: n, Cols: dims, Data: make([]float32, n*dims)}
	for i := range n {
		for j := range dims {
			out.Data[i*dims+j] = float32(y.At(i, j))
		}
	}
	return out, nil
}
