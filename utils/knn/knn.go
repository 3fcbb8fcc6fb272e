package knn

import (
	"fmt"
	"math"

	"github.com/gometric/gometric"
)

// Matrix is a row-major float32 matrix: row i is Data[i*Cols : (i+1)*Cols].
// kNN, k-means and indexes work in float32, as PML's evaluation does.
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// Row returns row i (a view).
func (m Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// Validate checks that the matrix is non-empty, that Data has Rows×Cols
// values and that they are finite. what names it in the error.
func (m Matrix) Validate(component, what string) error {
	if m.Rows <= 0 || m.Cols <= 0 {
		return fmt.Errorf("%s: %s is empty (%d×%d): %w", component, what, m.Rows, m.Cols, gometric.ErrShape)
	}
	if len(m.Data)%m.Cols != 0 || len(m.Data)/m.Cols != m.Rows { // Rows*Cols could overflow
		return fmt.Errorf("%s: %s has %d values for %d×%d: %w", component, what, len(m.Data), m.Rows, m.Cols, gometric.ErrShape)
	}
	for i, v := range m.Data {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s: %s has %v at row %d, column %d: %w", component, what, v, i/m.Cols, i%m.Cols, gometric.ErrNonFinite)
		}
	}
	return nil
}

// Metric is the measure an index searches with.
type Metric int

const (
	// L2 ranks by squared Euclidean distance, smallest first (FAISS's
	// METRIC_L2, IndexFlatL2).
	L2 Metric = iota
	// InnerProduct ranks by inner product, largest first (FAISS's
	// METRIC_INNER_PRODUCT, IndexFlatIP).
	InnerProduct
)

// String returns the metric's name.
func (m Metric) String() string {
	switch m {
	case L2:
		return "L2"
	case InnerProduct:
		return "InnerProduct"
	}
	return fmt.Sprintf("Metric(%d)", int(m))
}

// Result holds the k nearest references of every query, nearest first.
type Result struct {
	// K is the number of neighbours per query.
	K int
	// Indices[q*K+j] is the reference index of query q's j-th neighbour.
	Indices []int
	// Distances[q*K+j] is its squared L2 distance or inner product, as
	// FAISS reports them.
	Distances []float32
}

// Index is a searchable set of reference vectors, PML's knn_func backends
// (FaissKNN with IndexFlatL2 / IndexFlatIP, or any FAISS index factory
// string with the faiss build tag).
type Index interface {
	// Add appends reference vectors; their indices continue from Len().
	Add(x Matrix) error
	// Search returns the k nearest references of every query row.
	Search(query Matrix, k int) (Result, error)
	// Len is the number of references added.
	Len() int
	// Dim is the vector dimension.
	Dim() int
	// Metric is the index's metric.
	Metric() Metric
}
