// Package regularizers mirrors PML's regularizers: penalties on a matrix
// whose rows are embeddings or class weights (LpRegularizer,
// ZeroMeanRegularizer, CenterInvariantRegularizer, RegularFaceRegularizer,
// SparseCentersRegularizer).
//
// Each regularizer computes one value per row (or per centre pair), reduces
// them with its reducer (PML's default per class when the Reducer field is
// nil) and returns the reduced value with its gradient with respect to the
// input matrix. Losses use them as embedding_regularizer and
// weight_regularizer.
//
// Inputs of any finite magnitude give the right penalty and gradient (row
// norms are scaled where their sums of powers overflow or underflow; the
// cosine regularizers normalise every finite row) or, when the penalty or
// the gradient exceeds float64's range, an error wrapping
// gometric.ErrNonFinite.
//
// New<Name> returns PML's defaults. The zero value of every regularizer
// but SparseCenters is PML's defaults too (each field's doc says which 0
// stands for a default); SparseCenters needs its class and centre counts,
// so its zero value is refused with an error wrapping gometric.ErrSetting
// that names NewSparseCenters. Compute on a nil regularizer returns an
// error. The regularizers keep no state and are safe for concurrent use
// as long as their fields are not changed meanwhile.
package regularizers
