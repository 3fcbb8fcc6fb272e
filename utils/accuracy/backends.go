package accuracy

import (
	"io"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/knn"
)

// PMLKMeansIter is the number of k-means iterations PML's AccuracyCalculator
// asks for (FaissKMeans(niter=20)).
const PMLKMeansIter = 20

// ExactKNN is the default KNNFunc: the exact pure-Go search
// knn.Search(query, reference, k, knn.L2), the equivalent of PML's default
// FaissKNN (an IndexFlatL2).
func ExactKNN(query, reference gometric.Matrix, k int) (knn.Result, error) {
	return knn.Search(query, reference, k, knn.L2)
}

// DefaultKMeans is the default KMeansFunc: the pure-Go knn.KMeans
// (k-means++ initialisation, PMLKMeansIter Lloyd iterations, seed 0), the
// counterpart of PML's default FaissKMeans(niter=20). It cannot reproduce
// FAISS's clustering draw for draw, so NMI and AMI can differ slightly from
// PML's on data without clear clusters; FaissKMeans matches PML's.
func DefaultKMeans(x gometric.Matrix, k int) ([]int, error) {
	assign, _, err := knn.KMeans(x, k, knn.KMeansOptions{Iter: PMLKMeansIter})
	return assign, err
}

// FaissKNN is PML's default knn_func, FaissKNN(): an exact FAISS
// IndexFlatL2 ("Flat") built for every call. It needs the faiss build tag;
// otherwise it returns an error wrapping gometric.ErrUnsupported.
func FaissKNN(query, reference gometric.Matrix, k int) (knn.Result, error) {
	return IndexKNN(func(dim int) (knn.Index, error) { return knn.NewFaiss("Flat", dim, knn.L2) })(query, reference, k)
}

// FaissKMeans is PML's default kmeans_func, FaissKMeans(niter=20): FAISS's
// k-means with its default seed, then every row assigned to its nearest
// centroid. It needs the faiss build tag; otherwise it returns an error
// wrapping gometric.ErrUnsupported.
func FaissKMeans(x gometric.Matrix, k int) ([]int, error) {
	assign, _, err := knn.FaissKMeans(x, k, PMLKMeansIter, knn.FaissKMeansSeed)
	return assign, err
}

// IndexKNN returns a KNNFunc that builds a fresh index with newIndex for
// every call, adds the reference to it, searches it and closes it when it
// is an io.Closer: PML's FaissKNN with an index_init_fn (reset before and
// after). newIndex receives the dimension, e.g.
//
//	func(d int) (knn.Index, error) { return knn.NewExact(d, knn.InnerProduct), nil }
func IndexKNN(newIndex func(dim int) (knn.Index, error)) KNNFunc {
	return func(query, reference gometric.Matrix, k int) (res knn.Result, err error) {
		if newIndex == nil {
			return knn.Result{}, check.Settingf("accuracy.IndexKNN", "newIndex is nil")
		}
		idx, err := newIndex(reference.Cols)
		if err != nil {
			return knn.Result{}, err
		}
		if idx == nil {
			return knn.Result{}, check.Settingf("accuracy.IndexKNN", "newIndex returned a nil index")
		}
		if c, ok := idx.(io.Closer); ok {
			defer func() {
				if cerr := c.Close(); err == nil && cerr != nil {
					res, err = knn.Result{}, cerr
				}
			}()
		}
		if err := idx.Add(reference); err != nil {
			return knn.Result{}, err
		}
		return idx.Search(query, k)
	}
}
