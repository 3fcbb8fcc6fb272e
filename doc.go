// Package gometric is deep metric learning for Go: the modules of
// pytorch-metric-learning (PML) 2.8.1 — distances, reducers, regularizers,
// losses, miners, samplers, trainers, testers and utilities — rebuilt as Go
// packages that give PML's numbers.
//
// The root package holds what every layer shares: the sentinel errors that
// all components wrap (so errors.Is works across the library), Matrix, the
// one float32 matrix that carries inputs, embeddings and their gradients
// between packages, and DenseFromRows.
//
// The components live in sub-packages, each importing only the ones below
// it (ARCHITECTURE.md has the table, and a test enforces it):
//
//	utils/tuples     PML's loss_and_miner_utils (pairs, triplets, weights)
//	distances        LpDistance, CosineSimilarity, DotProductSimilarity, SNRDistance, BatchedDistance
//	reducers         MeanReducer, SumReducer, AvgNonZeroReducer, ... MultipleReducers
//	regularizers     LpRegularizer, ZeroMeanRegularizer, CenterInvariantRegularizer, ...
//	miners           MultiSimilarityMiner, TripletMarginMiner, BatchHardMiner, ...
//	losses           every PML loss and wrapper; Objective for a user's own training loop
//	samplers         MPerClassSampler, HierarchicalSampler, ...
//	utils/knn        exact kNN and k-means (FAISS with the faiss build tag)
//	utils/accuracy   AccuracyCalculator
//	utils/inference  MatchFinder, InferenceModel
//	models           Gorgonia encoders, optimizers, the loss op for a Gorgonia graph
//	datasets         Fashion-MNIST, CUB-200-2011, image folders, feature files
//	testers          GlobalEmbeddingSpaceTester
//	trainers         MetricLossOnly
package gometric
