package distributed

import (
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/utils/knn"
)

const shardedName = "distributed.SearchSharded"

// Sharded header fields.
const (
	sOK = iota
	sLen
	sDim
	sMetric
	sQueries
	sK
	sHeader
)

// SearchSharded is exact kNN over references split between the ranks of c:
// rank r holds shard, an index of the references r·… in rank order (the
// global index of a reference is the sum of the lower ranks' Len() plus its
// index in its shard), and every rank passes the same queries. Each rank
// searches its shard for its min(k, Len()) nearest references, the
// per-shard lists are gathered and merged, and every rank gets the global
// k nearest with utils/knn's order: smallest squared L2 distance (largest
// inner product) first, ties broken by the smaller global index. With the
// exact index of utils/knn on amd64 (AVX2/FMA kernels) a product depends
// only on the query and the reference, so the result equals, indices and
// distances, the search of one index holding every shard.
//
// k must lie in [1, total references]. A shard may be empty (Len 0) but not
// nil; every rank's shard must have one dimension and metric, and every
// rank must pass as many queries (an error wrapping a gometric sentinel on
// every rank otherwise). A rank's bad input fails every rank instead of
// leaving them waiting. With a nil c it is shard.Search. It is safe for
// concurrent use as far as shard.Search is, but a Communicator's
// collectives must be issued in the same order on every rank.
func SearchSharded(c Communicator, shard knn.Index, query gometric.Matrix, k int) (knn.Result, error) {
	nilShard := check.Nil(shard)
	if check.Nil(c) {
		if nilShard {
			return knn.Result{}, errNilShard()
		}
		return shard.Search(query, k)
	}
	size, me := c.Size(), c.Rank()
	var n, dim int
	var metric knn.Metric
	var local knn.Result
	var err error
	if nilShard {
		err = errNilShard()
	} else {
		n, dim, metric = shard.Len(), shard.Dim(), shard.Metric()
		if err = query.Validate(shardedName, "query"); err == nil && query.Cols != dim {
			err = check.Errorf(shardedName, gometric.ErrShape, "query has %d columns, the shard dimension %d", query.Cols, dim)
		}
		if err == nil && k < 1 {
			err = check.Settingf(shardedName, "k = %d must be at least 1", k)
		}
		if kk := min(k, n); err == nil && kk > 0 {
			local, err = shard.Search(query, kk)
		}
	}
	head := make([]int, sHeader)
	if err == nil {
		head[sOK] = 1
	}
	head[sLen], head[sDim], head[sMetric], head[sQueries], head[sK] = n, dim, int(metric), query.Rows, k
	heads, counts, cerr := c.AllGatherInts(head, nil, nil)
	if cerr != nil {
		return knn.Result{}, fmt.Errorf("%s: %w", shardedName, cerr)
	}
	if err != nil {
		return knn.Result{}, err
	}
	total, base := 0, 0
	for r := range size {
		if counts[r] != sHeader {
			return knn.Result{}, fmt.Errorf("%s: rank %d sent a header of %d values: %w", shardedName, r, counts[r], ErrComm)
		}
		h := heads[r*sHeader : (r+1)*sHeader]
		if h[sOK] != 1 {
			return knn.Result{}, fmt.Errorf("%s: rank %d's search failed (see its error): %w", shardedName, r, gometric.ErrShape)
		}
		if h[sDim] != head[sDim] || h[sMetric] != head[sMetric] || h[sQueries] != head[sQueries] || h[sK] != k {
			return knn.Result{}, fmt.Errorf("%s: rank %d has dimension %d, metric %v, %d queries, k %d; rank %d dimension %d, metric %v, %d queries, k %d: %w",
				shardedName, r, h[sDim], knn.Metric(h[sMetric]), h[sQueries], h[sK], me, head[sDim], metric, head[sQueries], k, gometric.ErrShape)
		}
		if r < me {
			base += h[sLen]
		}
		total += h[sLen]
	}
	if k > total {
		return knn.Result{}, check.Settingf(shardedName, "k = %d is more than the %d references of all shards", k, total)
	}
	// Gather every shard's lists, with global indices.
	nq := query.Rows
	idx := make([]int, len(local.Indices))
	for i, v := range local.Indices {
		idx[i] = v + base
	}
	dist := make([]float64, len(local.Distances))
	for i, v := range local.Distances {
		dist[i] = float64(v)
	}
	allIdx, icounts, err := c.AllGatherInts(idx, nil, nil)
	if err != nil {
		return knn.Result{}, fmt.Errorf("%s: %w", shardedName, err)
	}
	allDist, _, err := c.AllGatherFloat64s(dist, nil, nil)
	if err != nil {
		return knn.Result{}, fmt.Errorf("%s: %w", shardedName, err)
	}
	// Per rank: its k (min(k, Len)) and where its lists start.
	ks := make([]int, size)
	starts := make([]int, size)
	off := 0
	for r := range size {
		ks[r] = min(k, heads[r*sHeader+sLen])
		if icounts[r] != nq*ks[r] {
			return knn.Result{}, fmt.Errorf("%s: rank %d sent %d neighbours, want %d: %w", shardedName, r, icounts[r], nq*ks[r], ErrComm)
		}
		starts[r] = off
		off += icounts[r]
	}
	out := knn.Result{K: k, Indices: make([]int, nq*k), Distances: make([]float32, nq*k)}
	pos := make([]int, size)
	ip := metric == knn.InnerProduct
	for q := range nq {
		clear(pos)
		for j := range k {
			best := -1
			var bd float64
			var bi int
			for r := range size {
				if pos[r] >= ks[r] {
					continue
				}
				at := starts[r] + q*ks[r] + pos[r]
				d, i := allDist[at], allIdx[at]
				better := best < 0
				if !better {
					if ip {
						better = d > bd || (d == bd && i < bi)
					} else {
						better = d < bd || (d == bd && i < bi)
					}
				}
				if better {
					best, bd, bi = r, d, i
				}
			}
			pos[best]++
			out.Indices[q*k+j] = bi
			out.Distances[q*k+j] = float32(bd)
		}
	}
	return out, nil
}

// errNilShard is the error for a nil shard.
func errNilShard() error {
	return check.Settingf(shardedName, "shard is nil; pass an index (knn.NewExact(dim, metric)), empty if this rank holds no references")
}
