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
package regularizers
