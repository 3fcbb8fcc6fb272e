package knn

import (
	"fmt"

	"github.com/gometric/gometric"
)

// Recall returns the recall@k of an approximate search against the exact
// one on the same queries (both Results with the same K and number of
// queries, e.g. a FAISS IVF, HNSW or PQ index against Exact): the mean
// over queries of the fraction of the exact k nearest references that the
// approximate search found among its k. FAISS's -1 (no neighbour) and a
// repeated index count nothing. PML has no counterpart; FAISS's benchmarks
// call this intersection measure k-recall@k.
//
// Errors wrap gometric.ErrShape (no queries, or Results whose K or number
// of queries differ, or whose slices do not hold K per query).
func Recall(approx, exact Result) (float64, error) {
	const c = "knn.Recall"
	k := exact.K
	if k < 1 || approx.K != k || len(exact.Indices)%k != 0 || len(approx.Indices) != len(exact.Indices) || len(exact.Indices) == 0 {
		return 0, fmt.Errorf("%s: results of K %d and %d with %d and %d indices: want the same K ≥ 1 and K per query of the same queries: %w",
			c, approx.K, exact.K, len(approx.Indices), len(exact.Indices), gometric.ErrShape)
	}
	nq := len(exact.Indices) / k
	var sum float64
	seen := make(map[int]struct{}, k)
	for q := range nq {
		clear(seen)
		for _, i := range exact.Indices[q*k : (q+1)*k] {
			seen[i] = struct{}{}
		}
		hits := 0
		for _, i := range approx.Indices[q*k : (q+1)*k] {
			if _, ok := seen[i]; ok && i >= 0 {
				hits++
				delete(seen, i)
			}
		}
		sum += float64(hits) / float64(k)
	}
	return sum / float64(nq), nil
}
