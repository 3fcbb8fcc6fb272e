package knn

import (
	"fmt"
	"math"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/workers"
)

// The tiling of an exact search. A search splits the queries into blocks of
// queryBlock rows, the unit of parallel work, and each block meets the
// references refTile rows at a time: one GEMM gives the queryBlock×refTile
// tile of products, which the block's heaps then scan. The tile is the only
// scratch memory a worker needs, whatever the number of queries and
// references. With the SIMD GEMM neither size changes any result; with
// gonum's they can move the last bit of a product (see Exact).
var (
	queryBlock = 512
	refTile    = 1024
)

// maxSqNorm bounds the squared L2 norm of every vector an Exact index
// accepts. Below it every inner product and every squared distance of the
// norm expansion is finite in float32 (|q·r| ≤ ‖q‖‖r‖ and
// ‖q‖² + ‖r‖² + 2|q·r| ≤ 4·maxSqNorm < MaxFloat32); above it FAISS itself
// returns Inf or NaN distances.
const maxSqNorm = math.MaxFloat32 / 8

// Exact is an exact (brute-force) index in pure Go, the equivalent of FAISS's
// IndexFlatL2 (metric L2) and IndexFlatIP (metric InnerProduct) that PML's
// FaissKNN builds by default.
//
// Search computes all query–reference products with the blocked float32
// GEMM of internal/gemm over query and reference tiles. For L2 each
// distance is then ‖q‖² + ‖r‖² − 2q·r, clamped at 0, as FAISS computes it
// (so a vector's distance to itself is 0 only up to rounding, and the
// reported distances may differ from Σ(qᵢ−rᵢ)² in the last bits). Every
// query keeps its k best references in a bounded heap (k up to 32) or, for
// larger k, by threshold selection: references better than a running bound
// go to a buffer that is cut back to the best ones when full, and the
// survivors are radix-sorted at the end. Both give the same bits.
//
// Results are deterministic: the query blocks are fixed, every query's
// selection sees the references in index order, and the GEMM's rounding
// does not depend on the number of goroutines, so a search gives the same
// bits whatever GOMAXPROCS. Ties (equal distances, or equal inner products) are
// broken by the smaller reference index, so the order of Result is total:
// by distance ascending (L2) or inner product descending (InnerProduct),
// then by reference index ascending.
//
// How a distance is rounded depends on the GEMM (gemm.Impl). With its
// AVX2/FMA kernels (the default build on amd64, and GOEXPERIMENT=simd)
// each product q·r depends only on q and r, so identical references always
// tie exactly and a query gets the same bits in any batch. On the portable
// path (another architecture, an older CPU, -tags purego) internal/gemm
// delegates to gonum's Sgemm, whose assembly dot product starts at the
// first 16-byte-aligned element of the reference row and sums long rows in
// chunks of 64 only when the GEMM is large enough to run in parallel:
// there the product can differ in the last bit with the reference's memory
// alignment and with the size of the query batch and reference tile, so
// identical references need not tie exactly (FAISS's products likewise
// depend on its BLAS's blocking).
//
// Make an Exact with NewExact. The zero value has dimension 0 and is
// refused by Add and Search with an error wrapping gometric.ErrSetting that
// names NewExact; a nil *Exact returns the same kind of error from Add and
// Search, and 0 (L2 for Metric) from its other methods.
//
// Search is safe for concurrent use; Add must not run
// concurrently with Search or Add.
type Exact struct {
	dim    int
	metric Metric
	data   []float32 // n×dim, row-major
	norms  []float32 // squared L2 norms of the rows of data
	n      int
}

var _ Index = (*Exact)(nil)

// NewExact returns an empty exact index for vectors of dimension dim, FAISS's
// IndexFlatL2(dim) (metric L2) or IndexFlatIP(dim) (metric InnerProduct).
// A dim below 1 or an unknown metric is reported by Add and Search.
func NewExact(dim int, metric Metric) *Exact {
	return &Exact{dim: dim, metric: metric}
}

// Len is the number of references added (0 for a nil receiver).
func (e *Exact) Len() int {
	if e == nil {
		return 0
	}
	return e.n
}

// Dim is the vector dimension given to NewExact (0 for a nil receiver).
func (e *Exact) Dim() int {
	if e == nil {
		return 0
	}
	return e.dim
}

// Metric is the metric given to NewExact (L2 for a nil receiver).
func (e *Exact) Metric() Metric {
	if e == nil {
		return L2
	}
	return e.metric
}

const exactName = "knn.Exact"

// settings checks the index's configuration.
func (e *Exact) settings(component string) error {
	if e == nil {
		return fmt.Errorf("%s: nil receiver: %w", component, gometric.ErrSetting)
	}
	if e.dim < 1 {
		return fmt.Errorf("%s: dimension %d must be at least 1 (a zero Exact is not usable: make it with NewExact(dim, metric)): %w", component, e.dim, gometric.ErrSetting)
	}
	if e.metric != L2 && e.metric != InnerProduct {
		return fmt.Errorf("%s: unknown metric %v: %w", component, e.metric, gometric.ErrSetting)
	}
	return nil
}

// Add copies the rows of x into the index; their indices continue from
// Len(). x must be non-empty, finite, have Dim() columns and rows whose
// squared norm is below MaxFloat32/8 (so that no distance overflows). On
// error nothing is added.
func (e *Exact) Add(x gometric.Matrix) error {
	if err := e.settings(exactName); err != nil {
		return err
	}
	if err := checkInput(exactName, "reference", x, e.dim); err != nil {
		return err
	}
	start := len(e.norms)
	norms := append(e.norms, make([]float32, x.Rows)...)
	if err := sqNorms(exactName, "reference", x, norms[start:]); err != nil {
		return err
	}
	e.norms = norms
	e.data = append(e.data, x.Data...)
	e.n += x.Rows
	return nil
}

// Search returns the k nearest references of every query row, nearest
// first: the smallest squared L2 distances or the largest inner products,
// ties broken by the smaller reference index. It fails, wrapping a
// gometric sentinel, when the index is empty, the query is empty, has the
// wrong dimension or a non-finite or overflowing value, or k is outside
// [1, Len()].
func (e *Exact) Search(query gometric.Matrix, k int) (Result, error) {
	if err := e.settings(exactName); err != nil {
		return Result{}, err
	}
	return search(exactName, query, e.data, e.norms, e.n, e.dim, k, e.metric)
}

// Search returns the k nearest rows of ref for every row of query with the
// given metric: NewExact(ref.Cols, metric), Add(ref) and Search(query, k)
// without copying ref. It is what PML's FaissKNN computes with its default
// IndexFlatL2, with the errors of Exact.
func Search(query, ref gometric.Matrix, k int, metric Metric) (Result, error) {
	const name = "knn.Search"
	if metric != L2 && metric != InnerProduct {
		return Result{}, fmt.Errorf("%s: unknown metric %v: %w", name, metric, gometric.ErrSetting)
	}
	if err := checkInput(name, "reference", ref, ref.Cols); err != nil {
		return Result{}, err
	}
	norms := make([]float32, ref.Rows)
	if err := sqNorms(name, "reference", ref, norms); err != nil {
		return Result{}, err
	}
	return search(name, query, ref.Data, norms, ref.Rows, ref.Cols, k, metric)
}

// checkInput checks that x is a non-empty finite matrix with dim columns.
func checkInput(component, what string, x gometric.Matrix, dim int) error {
	if err := x.Validate(component, what); err != nil {
		return err
	}
	if x.Cols != dim {
		return fmt.Errorf("%s: %s has %d columns, want dimension %d: %w", component, what, x.Cols, dim, gometric.ErrShape)
	}
	return nil
}

// sqNorms writes the squared L2 norm of every row of x to dst (summed in
// float64, then rounded) and fails when one reaches maxSqNorm.
func sqNorms(component, what string, x gometric.Matrix, dst []float32) error {
	for i := range x.Rows {
		s := sqNorm(x.Row(i))
		if s >= maxSqNorm {
			return fmt.Errorf("%s: %s row %d has squared norm %.3g, too large for float32 distances (limit %.3g): %w",
				component, what, i, s, float64(maxSqNorm), gometric.ErrNonFinite)
		}
		dst[i] = float32(s)
	}
	return nil
}

// sqNorm is the squared L2 norm of v, summed in float64.
func sqNorm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

// search runs the exact search of query against the n×dim references ref
// (with squared norms rnorm).
func search(component string, query gometric.Matrix, ref, rnorm []float32, n, dim, k int, metric Metric) (Result, error) {
	if n == 0 {
		return Result{}, fmt.Errorf("%s: the index has no references: %w", component, gometric.ErrShape)
	}
	if err := checkInput(component, "query", query, dim); err != nil {
		return Result{}, err
	}
	if k < 1 || k > n {
		return Result{}, fmt.Errorf("%s: k = %d is outside [1, %d] (the number of references): %w", component, k, n, gometric.ErrSetting)
	}
	qnorm := make([]float32, query.Rows)
	if err := sqNorms(component, "query", query, qnorm); err != nil {
		return Result{}, err
	}
	return searchChecked(query, qnorm, ref, rnorm, n, dim, k, metric), nil
}

// searchChecked is search once its input is checked: query is finite with
// dim columns and squared row norms qnorm, 1 ≤ k ≤ n.
func searchChecked(query gometric.Matrix, qnorm, ref, rnorm []float32, n, dim, k int, metric Metric) Result {
	nq := query.Rows
	res := Result{K: k, Indices: make([]int, nq*k), Distances: make([]float32, nq*k)}
	s := searcher{q: query.Data, qnorm: qnorm, r: ref, rnorm: rnorm, n: n, dim: dim, k: k, metric: metric, res: res}
	blocks := (nq + queryBlock - 1) / queryBlock
	tiles := make([][]float32, workers.Count(blocks))
	if k <= heapMaxK || n > maxPackedIndex {
		workers.Each(len(tiles), blocks, func(w, b int) {
			if tiles[w] == nil {
				tiles[w] = make([]float32, min(queryBlock, nq)*min(refTile, n))
			}
			s.block(b, tiles[w])
		})
		return res
	}
	sel := make([]*topk, len(tiles))
	workers.Each(len(tiles), blocks, func(w, b int) {
		if tiles[w] == nil {
			tiles[w] = make([]float32, min(queryBlock, nq)*min(refTile, n))
			sel[w] = newTopk(min(queryBlock, nq), k, n)
		}
		s.blockBuffered(b, tiles[w], sel[w])
	})
	return res
}

// searcher is one validated search.
type searcher struct {
	q, qnorm []float32
	r, rnorm []float32
	n, dim   int
	k        int
	metric   Metric
	res      Result
}

// block searches query block b with the scratch tile. The heap of query i
// lives in its own slots of the result: keys (distances, or negated inner
// products) in Distances, reference indices in Indices.
func (s *searcher) block(b int, tile []float32) {
	k := s.k
	q0 := b * queryBlock
	mq := min(queryBlock, len(s.qnorm)-q0)
	for i := q0 * k; i < (q0+mq)*k; i++ {
		s.res.Distances[i] = float32(math.Inf(1))
		s.res.Indices[i] = math.MaxInt
	}
	s.eachTile(q0, mq, tile, func(r0, nr int, c []float32) {
		for i := range mq {
			q := q0 + i
			keys, idx := s.res.Distances[q*k:(q+1)*k], s.res.Indices[q*k:(q+1)*k]
			row := c[i*nr : (i+1)*nr]
			if s.metric == L2 {
				scanL2Fn(row, s.rnorm[r0:r0+nr], s.qnorm[q], r0, keys, idx)
			} else {
				scanKeysFn(row, r0, keys, idx)
			}
		}
	})
	for q := q0; q < q0+mq; q++ {
		keys, idx := s.res.Distances[q*k:(q+1)*k], s.res.Indices[q*k:(q+1)*k]
		sortHeap(keys, idx)
		if s.metric == InnerProduct {
			for j := range keys {
				keys[j] = -keys[j]
			}
		}
	}
}

// eachTile computes the products of queries q0 … q0+mq−1 with each tile
// of references in turn, into tile, and calls f with the tile's first
// reference, its size and the mq×nr products. For L2 the GEMM gives
// −2·q·r, exactly twice the rounded product; for the inner product −q·r,
// so that both metrics keep the smallest keys.
func (s *searcher) eachTile(q0, mq int, tile []float32, f func(r0, nr int, c []float32)) {
	dim := s.dim
	alpha := float32(-2)
	if s.metric == InnerProduct {
		alpha = -1
	}
	for r0 := 0; r0 < s.n; r0 += refTile {
		nr := min(refTile, s.n-r0)
		c := tile[:mq*nr]
		gemm.Sgemm(false, true, mq, nr, dim, alpha, s.q[q0*dim:(q0+mq)*dim], dim, s.r[r0*dim:(r0+nr)*dim], dim, 0, c, nr)
		f(r0, nr, c)
	}
}

// blockBuffered is block with the threshold selection of topk.go in the
// worker's state t instead of a heap per query.
func (s *searcher) blockBuffered(b int, tile []float32, t *topk) {
	k := s.k
	q0 := b * queryBlock
	mq := min(queryBlock, len(s.qnorm)-q0)
	t.reset(mq)
	s.eachTile(q0, mq, tile, func(r0, nr int, c []float32) {
		for i := range mq {
			buf := t.buf[i*t.size : (i+1)*t.size]
			row := c[i*nr : (i+1)*nr]
			var admitted int
			if s.metric == L2 {
				t.cnt[i], t.bound[i], admitted = bufL2Fn(row, s.rnorm[r0:r0+nr], s.qnorm[q0+i], r0, buf, t.cnt[i], t.bound[i], k, t.dense[i])
			} else {
				t.cnt[i], t.bound[i], admitted = bufKeysFn(row, r0, buf, t.cnt[i], t.bound[i], k, t.dense[i])
			}
			t.dense[i] = dense(admitted, nr)
		}
	})
	for i := range mq {
		q := q0 + i
		keys, idx := s.res.Distances[q*k:(q+1)*k], s.res.Indices[q*k:(q+1)*k]
		finish(t.buf[i*t.size:i*t.size+t.cnt[i]], t.tmp, keys, idx)
		if s.metric == InnerProduct {
			for j := range keys {
				keys[j] = -keys[j]
			}
		}
	}
}

// The scans that the search uses: the portable ones below, or vector
// versions set at start-up by the goexperiment.simd build on a CPU with
// AVX2. Every version offers the same references in the same order with the
// same float32 arithmetic, so results are the same bits in every build.
var (
	scanL2Fn   = scanL2
	scanKeysFn = scanKeys
)

// scanL2 offers the references r0, r0+1, … with products row (−2q·r) and
// squared norms rnorm to the heap of a query with squared norm qn. The
// distance is (‖q‖² + ‖r‖²) − 2q·r clamped at 0, FAISS's formula and order.
// References arrive in increasing index, so one that only ties the heap's
// worst key loses to it and is rightly skipped.
func scanL2(row, rnorm []float32, qn float32, r0 int, keys []float32, idx []int) {
	rnorm = rnorm[:len(row)]
	worst := keys[0]
	for j, c := range row {
		d := qn + rnorm[j] + c
		if d < worst {
			if d < 0 {
				d = 0
				if !(d < worst) {
					continue
				}
			}
			replaceTop(keys, idx, d, r0+j)
			worst = keys[0]
		}
	}
}

// scanKeys offers the references r0, r0+1, … with keys row to the heap.
func scanKeys(row []float32, r0 int, keys []float32, idx []int) {
	worst := keys[0]
	for j, d := range row {
		if d < worst {
			replaceTop(keys, idx, d, r0+j)
			worst = keys[0]
		}
	}
}

// worse reports whether (ka, ia) ranks after (kb, ib): a larger key, or an
// equal key and a larger index.
func worse(ka float32, ia int, kb float32, ib int) bool {
	return ka > kb || (ka == kb && ia > ib)
}

// replaceTop replaces the worst entry of the max-heap (keys, idx) with
// (key, id) and restores the heap order.
func replaceTop(keys []float32, idx []int, key float32, id int) {
	siftDown(keys, idx, 0, len(keys), key, id)
}

// siftDown places (key, id) at position i of the heap keys[:n], idx[:n],
// moving worse children up.
func siftDown(keys []float32, idx []int, i, n int, key float32, id int) {
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && worse(keys[c+1], idx[c+1], keys[c], idx[c]) {
			c++
		}
		if !worse(keys[c], idx[c], key, id) {
			break
		}
		keys[i], idx[i] = keys[c], idx[c]
		i = c
	}
	keys[i], idx[i] = key, id
}

// sortHeap turns the max-heap (keys, idx) into ascending (key, index)
// order.
func sortHeap(keys []float32, idx []int) {
	for n := len(keys) - 1; n > 0; n-- {
		key, id := keys[n], idx[n]
		keys[n], idx[n] = keys[0], idx[0]
		siftDown(keys, idx, 0, n, key, id)
	}
}
