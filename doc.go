// Package gometric is deep metric learning for Go: the modules of
// pytorch-metric-learning (PML) 2.8.1 — distances, reducers, regularizers,
// losses, miners, samplers, trainers, testers and utilities — rebuilt as Go
// packages that give PML's numbers.
//
// The root package holds what every layer shares: the sentinel errors that
// all components wrap (so errors.Is works across the library) and the
// conversion from row slices to gonum matrices with validation.
//
// The components live in sub-packages:
//
//	utils/tuples  PML's loss_and_miner_utils (pairs, triplets, weights)
//	distances     LpDistance, CosineSimilarity, DotProductSimilarity, SNRDistance
//	reducers      MeanReducer, SumReducer, AvgNonZeroReducer, ... MultipleReducers
//	regularizers  LpRegularizer, ZeroMeanRegularizer, CenterInvariantRegularizer, ...
package gometric
