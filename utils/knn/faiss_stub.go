//go:build !faiss

package knn

import (
	"fmt"

	"github.com/gometric/gometric"
)

// FaissBuilt reports whether this binary was built with the faiss tag, so the
// FAISS backend (NewFaiss, FaissKMeans) is available.
const FaissBuilt = false

// FAISS's k-means defaults (faiss.ClusteringParameters), which PML's
// FaissKMeans uses when given no keyword arguments.
const (
	// FaissKMeansIter is FAISS's default number of Lloyd iterations (niter).
	FaissKMeansIter = 25
	// FaissKMeansSeed is FAISS's default random seed.
	FaissKMeansSeed = 1234
)

// errNoFaiss is what every FAISS entry point returns in a build without the
// faiss tag.
func errNoFaiss(component string) error {
	return fmt.Errorf("%s: built without the faiss tag: run scripts/install-faiss.sh and build with -tags faiss: %w", component, gometric.ErrUnsupported)
}

// Faiss is PML's FaissKNN index backed by FAISS. This build has no FAISS
// (it was built without the faiss tag): NewFaiss returns an error wrapping
// gometric.ErrUnsupported, and the methods of a zero or nil Faiss return
// the same error (Len, Dim, IsTrained: 0 or false; Close: nil). Run
// scripts/install-faiss.sh and build with -tags faiss. It holds nothing and
// is safe for concurrent use.
type Faiss struct{}

// NewFaiss would return a FAISS index made by faiss.index_factory(dim,
// description, metric), mirroring the index_init_fn of PML's FaissKNN. In
// this build (no faiss tag) it returns an error wrapping
// gometric.ErrUnsupported.
func NewFaiss(description string, dim int, metric Metric) (*Faiss, error) {
	return nil, errNoFaiss("knn.Faiss")
}

// Description is the index_factory string; empty in this build.
func (f *Faiss) Description() string { return "" }

// Dim is the vector dimension; 0 in this build.
func (f *Faiss) Dim() int { return 0 }

// Metric is the index's metric; L2 in this build.
func (f *Faiss) Metric() Metric { return L2 }

// Len is the number of vectors added; 0 in this build.
func (f *Faiss) Len() int { return 0 }

// IsTrained reports whether the index is trained; false in this build.
func (f *Faiss) IsTrained() bool { return false }

// Train trains the index (FAISS's Index.train); unsupported in this build.
func (f *Faiss) Train(x gometric.Matrix) error { return errNoFaiss("knn.Faiss") }

// Add appends reference vectors (FAISS's Index.add); unsupported in this
// build.
func (f *Faiss) Add(x gometric.Matrix) error { return errNoFaiss("knn.Faiss") }

// SetParameter sets a FAISS search parameter; unsupported in this build.
func (f *Faiss) SetParameter(name string, value float64) error { return errNoFaiss("knn.Faiss") }

// Search returns the k nearest references of every query (FAISS's
// Index.search); unsupported in this build.
func (f *Faiss) Search(query gometric.Matrix, k int) (Result, error) {
	return Result{}, errNoFaiss("knn.Faiss")
}

// Close frees the index; a no-op in this build.
func (f *Faiss) Close() error { return nil }

// FaissKMeans is PML's FaissKMeans (FAISS's k-means, then nearest-centroid
// assignment). In this build (no faiss tag) it returns an error wrapping
// gometric.ErrUnsupported.
func FaissKMeans(x gometric.Matrix, k, iter int, seed int64) (assign []int, centroids gometric.Matrix, err error) {
	return nil, gometric.Matrix{}, errNoFaiss("knn.FaissKMeans")
}

var _ Index = (*Faiss)(nil)

// Save would write the index in FAISS's own file format; unsupported in
// this build.
func (f *Faiss) Save(path string) error { return errNoFaiss("knn.Faiss") }

// LoadFaiss would read an index in FAISS's own file format (faiss's
// write_index); in this build (no faiss tag) it returns an error wrapping
// gometric.ErrUnsupported.
func LoadFaiss(path string) (*Faiss, error) { return nil, errNoFaiss("knn.LoadFaiss") }
