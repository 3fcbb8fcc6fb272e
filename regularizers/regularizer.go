package regularizers

import "gonum.org/v1/gonum/mat"

// Regularizer mirrors PML's BaseRegularizer: a penalty on a matrix whose
// rows are embeddings or class weights, reduced to a scalar by the
// regularizer's reducer.
type Regularizer interface {
	// Compute returns the reduced penalty and its gradient with respect
	// to x (same shape as x). It mirrors BaseRegularizer.forward.
	Compute(x *mat.Dense) (value float64, grad *mat.Dense, err error)
}
