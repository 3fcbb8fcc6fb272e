package knn

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/workers"
)

// DefaultKMeansIter is the number of Lloyd iterations KMeans runs when
// KMeansOptions.Iter is 0: PML's FaissKMeans passes niter=20 to faiss.Kmeans.
const DefaultKMeansIter = 20

// KMeansOptions are the settings of KMeans. The zero value is PML's
// defaults: DefaultKMeansIter iterations (PML's niter=20), from seed 0
// (there is no PML default to follow: FAISS's seed 1234 drives another
// generator). It is a plain value, safe for concurrent use.
type KMeansOptions struct {
	// Iter is the number of Lloyd iterations (assignment, then centroid
	// update). If Iter is 0, DefaultKMeansIter is used; a negative Iter is
	// an error wrapping gometric.ErrSetting. KMeans stops earlier when an
	// iteration leaves every assignment unchanged, which cannot change the
	// result.
	Iter int
	// Seed seeds the k-means++ initialisation (math/rand/v2's PCG); 0 is
	// a seed like any other. FAISS seeds its own sampler with 1234 by
	// default; the two generators differ, so no seed reproduces FAISS's
	// clustering. KMeans is deterministic for a seed, and safe to call
	// concurrently.
	Seed uint64
}

// kmeansSplitEps is the relative perturbation that separates a split
// cluster from its donor (FAISS's EPS of 1/1024).
const kmeansSplitEps = 1.0 / 1024

// kmeansBlock is the number of points per parallel task of the k-means++
// distance updates (fixed, so results never depend on GOMAXPROCS).
const kmeansBlock = 1024

// KMeans clusters the rows of x into k clusters by squared L2 distance and
// returns the cluster of every row and the k×Cols centroids. It is the pure
// Go counterpart of PML's FaissKMeans (faiss.Kmeans(d, k, niter=20) trained
// on x, then every row assigned to its nearest centroid), which the
// AccuracyCalculator uses for NMI and AMI.
//
// The algorithm: k-means++ initialisation (the first centroid a uniformly
// drawn row, each next one a row drawn with probability proportional to its
// squared distance to the nearest centroid so far, in float64), then
// opt.Iter Lloyd iterations: assign every row to its nearest centroid with
// the exact search of Exact (ties to the smaller centroid index), then move
// every centroid to the mean of its rows (summed in float64). A cluster left
// empty takes half of the largest cluster (ties to the smaller index), as
// FAISS does: it gets a copy of that centroid, and the two copies are pushed
// apart by a relative 1/1024, in opposite directions, coordinate by
// coordinate; FAISS chooses the cluster to split at random, KMeans the
// largest. The returned assignment is the one to the final centroids. A
// cluster can still end empty when x has fewer than k distinct rows.
//
// The result depends only on x, k and opt: not on GOMAXPROCS. It cannot
// equal FAISS's (FAISS initialises with a random sample of rows, not
// k-means++, subsamples x above 256 rows per centroid, and draws from its
// own generator), but on well-separated data both find the same clusters.
//
// KMeans fails, wrapping a gometric sentinel, when x is empty or has a
// non-finite or overflowing value, when k is outside [1, x.Rows] (FAISS
// also needs at least k points) or when opt.Iter is negative.
func KMeans(x gometric.Matrix, k int, opt KMeansOptions) (assign []int, centroids gometric.Matrix, err error) {
	const name = "knn.KMeans"
	if err := x.Validate(name, "x"); err != nil {
		return nil, gometric.Matrix{}, err
	}
	norms := make([]float32, x.Rows)
	if err := sqNorms(name, "x", x, norms); err != nil {
		return nil, gometric.Matrix{}, err
	}
	if k < 1 || k > x.Rows {
		return nil, gometric.Matrix{}, fmt.Errorf("%s: k = %d clusters is outside [1, %d] (the number of points): %w", name, k, x.Rows, gometric.ErrSetting)
	}
	iter := opt.Iter
	if iter < 0 {
		return nil, gometric.Matrix{}, fmt.Errorf("%s: Iter = %d is negative: %w", name, iter, gometric.ErrSetting)
	}
	if iter == 0 {
		iter = DefaultKMeansIter
	}
	dim := x.Cols
	centroids = gometric.Matrix{Rows: k, Cols: dim, Data: make([]float32, k*dim)}
	kmeansPlusPlus(x, centroids, rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15)))

	cnorms := make([]float32, k)
	nearest := func() ([]int, error) {
		// Centroids are means of rows, or copies pushed out by 1/1024:
		// only repeated splits of rows near the norm limit can pass it.
		for j := range k {
			s := sqNorm(centroids.Row(j))
			if s >= maxSqNorm {
				return nil, fmt.Errorf("%s: centroid %d has squared norm %.3g, too large for float32 distances: %w", name, j, s, gometric.ErrNonFinite)
			}
			cnorms[j] = float32(s)
		}
		// x was checked and its norms computed above.
		return searchChecked(x, norms, centroids.Data, cnorms, k, dim, 1, L2).Indices, nil
	}
	sums := make([]float64, k*dim)
	counts := make([]int, k)
	split := true // the centroids are not the means of an assignment yet
	for range iter {
		a, err := nearest()
		if err != nil {
			return nil, gometric.Matrix{}, err
		}
		if !split && slices.Equal(a, assign) {
			return assign, centroids, nil // a fixed point
		}
		assign = a
		split = updateCentroids(x, assign, centroids, sums, counts)
	}
	if assign, err = nearest(); err != nil {
		return nil, gometric.Matrix{}, err
	}
	return assign, centroids, nil
}

// kmeansPlusPlus writes k-means++ initial centroids (rows of x) to c.
func kmeansPlusPlus(x, c gometric.Matrix, rng *rand.Rand) {
	n, k := x.Rows, c.Rows
	d2 := make([]float64, n)
	for i := range d2 {
		d2[i] = -1 // no centroid yet
	}
	pick := rng.IntN(n)
	for j := range k {
		if j > 0 {
			pick = sampleD2(d2, rng)
		}
		copy(c.Row(j), x.Row(pick))
		updateD2(x, c.Row(j), d2)
	}
}

// sampleD2 draws an index with probability proportional to d2 (uniformly
// when every d2 is 0: x has fewer distinct rows than clusters).
func sampleD2(d2 []float64, rng *rand.Rand) int {
	var total float64
	for _, v := range d2 {
		total += v
	}
	if total <= 0 {
		return rng.IntN(len(d2))
	}
	r := rng.Float64() * total
	last := 0
	var cum float64
	for i, v := range d2 {
		if v <= 0 {
			continue
		}
		cum += v
		last = i
		if r < cum {
			return i
		}
	}
	return last // r reached the sum by rounding
}

// updateD2 lowers d2[i] to the squared distance from row i of x to the new
// centroid c (in float64), in parallel over fixed blocks of rows.
func updateD2(x gometric.Matrix, c []float32, d2 []float64) {
	blocks := (x.Rows + kmeansBlock - 1) / kmeansBlock
	c64 := make([]float64, len(c))
	for l, v := range c {
		c64[l] = float64(v)
	}
	lower := func(i int, s float64) {
		if d2[i] < 0 || s < d2[i] {
			d2[i] = s
		}
	}
	do := func(b int) {
		i, end := b*kmeansBlock, min((b+1)*kmeansBlock, x.Rows)
		for ; i+2 <= end; i += 2 {
			s0, s1 := sqDist64Pair(x.Row(i), x.Row(i+1), c64)
			lower(i, s0)
			lower(i+1, s1)
		}
		for ; i < end; i++ {
			lower(i, sqDist64(x.Row(i), c))
		}
	}
	workers.Each(workers.Count(blocks), blocks, func(_, b int) { do(b) })
}

// updateCentroids moves every centroid to the mean of its rows and splits
// the largest cluster for every empty one. It reports whether it split.
func updateCentroids(x gometric.Matrix, assign []int, c gometric.Matrix, sums []float64, counts []int) bool {
	dim, k := x.Cols, c.Rows
	clear(sums)
	clear(counts)
	for i, a := range assign {
		counts[a]++
		s := sums[a*dim : (a+1)*dim]
		for l, v := range x.Row(i) {
			s[l] += float64(v)
		}
	}
	for j := range k {
		if counts[j] == 0 {
			continue
		}
		s, row := sums[j*dim:(j+1)*dim], c.Row(j)
		for l := range row {
			row[l] = float32(s[l] / float64(counts[j]))
		}
	}
	split := false
	for j := range k {
		if counts[j] > 0 {
			continue
		}
		donor := 0
		for i := range k {
			if counts[i] > counts[donor] {
				donor = i
			}
		}
		if counts[donor] < 2 {
			continue // cannot happen while k ≤ rows, kept for safety
		}
		split = true
		counts[j] = counts[donor] / 2
		counts[donor] -= counts[j]
		src, dst := c.Row(donor), c.Row(j)
		for l := range dst {
			v := src[l]
			if l%2 == 0 {
				dst[l], src[l] = v*(1+kmeansSplitEps), v*(1-kmeansSplitEps)
			} else {
				dst[l], src[l] = v*(1-kmeansSplitEps), v*(1+kmeansSplitEps)
			}
		}
	}
	return split
}

// sqDist64 is Σ(aᵢ−bᵢ)² in float64, over four interleaved partial sums
// (a fixed order, so the result is deterministic).
func sqDist64(a, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	l := 0
	for ; l+4 <= len(a); l += 4 {
		t0 := float64(a[l]) - float64(b[l])
		t1 := float64(a[l+1]) - float64(b[l+1])
		t2 := float64(a[l+2]) - float64(b[l+2])
		t3 := float64(a[l+3]) - float64(b[l+3])
		s0 += t0 * t0
		s1 += t1 * t1
		s2 += t2 * t2
		s3 += t3 * t3
	}
	for ; l < len(a); l++ {
		t := float64(a[l]) - float64(b[l])
		s0 += t * t
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDist64Pair is sqDist64(a0, c) and sqDist64(a1, c) with c given in
// float64 (the exact conversion sqDist64 makes), with the same bits: two
// rows side by side keep eight independent sums in flight where one row's
// four wait on the adds' latency.
func sqDist64Pair(a0, a1 []float32, c []float64) (float64, float64) {
	a1, c = a1[:len(a0)], c[:len(a0)]
	var s0, s1, s2, s3, u0, u1, u2, u3 float64
	l := 0
	for ; l+4 <= len(a0); l += 4 {
		c0, c1, c2, c3 := c[l], c[l+1], c[l+2], c[l+3]
		t0 := float64(a0[l]) - c0
		t1 := float64(a0[l+1]) - c1
		t2 := float64(a0[l+2]) - c2
		t3 := float64(a0[l+3]) - c3
		v0 := float64(a1[l]) - c0
		v1 := float64(a1[l+1]) - c1
		v2 := float64(a1[l+2]) - c2
		v3 := float64(a1[l+3]) - c3
		s0 += t0 * t0
		s1 += t1 * t1
		s2 += t2 * t2
		s3 += t3 * t3
		u0 += v0 * v0
		u1 += v1 * v1
		u2 += v2 * v2
		u3 += v3 * v3
	}
	for ; l < len(a0); l++ {
		t := float64(a0[l]) - c[l]
		v := float64(a1[l]) - c[l]
		s0 += t * t
		u0 += v * v
	}
	return (s0 + s1) + (s2 + s3), (u0 + u1) + (u2 + u3)
}
