package knn

import (
	"fmt"

	"github.com/gometric/gometric"
)

// Metric is the measure an index searches with. Its zero value is L2. A
// Metric is a plain value, safe for concurrent use.
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

// Result holds the k nearest references of every query, nearest first. It
// is plain data, safe for concurrent reads; its zero value holds no
// queries.
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
// string with the faiss build tag). Exact and Faiss allow concurrent
// Search calls but no Add concurrent with anything; other implementations
// say what they allow.
type Index interface {
	// Add appends reference vectors; their indices continue from Len().
	Add(x gometric.Matrix) error
	// Search returns the k nearest references of every query row.
	Search(query gometric.Matrix, k int) (Result, error)
	// Len is the number of references added.
	Len() int
	// Dim is the vector dimension.
	Dim() int
	// Metric is the index's metric.
	Metric() Metric
}
