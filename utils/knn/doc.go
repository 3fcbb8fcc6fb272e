// Package knn finds the k nearest neighbours of float32 vectors: exactly,
// in pure Go (blocked GEMM over query and reference tiles with a bounded
// heap per query), or through FAISS with the faiss build tag. It also
// clusters with k-means. It is the search behind PML's FaissKNN and
// FaissKMeans, which the AccuracyCalculator uses.
//
// Exact (and the one-shot Search) is the pure-Go counterpart of FAISS's
// IndexFlatL2 and IndexFlatIP: squared L2 distances computed as
// ‖q‖² + ‖r‖² − 2q·r from the float32 GEMM of internal/gemm, as FAISS does,
// or inner products. Its results do not depend on the number of threads,
// and ties go to the smaller reference index. On amd64 with AVX2 and FMA
// the GEMM runs internal/gemm's assembly kernels; build with
// GOEXPERIMENT=simd to use its archsimd kernels and vector heap scans
// instead.
//
// KMeans is a pure-Go k-means (k-means++ seeding, Lloyd iterations,
// deterministic for a seed) in place of faiss.Kmeans; it cannot reproduce
// FAISS's clustering bit for bit (different initialisation and generator).
package knn
