package knn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/testkit"
)

// naiveKeys returns, in float64, the key of every reference for query row q:
// the squared L2 distance Σ(qᵢ−rᵢ)², or minus the inner product, so that
// smaller is nearer for both metrics.
func naiveKeys(query, ref gometric.Matrix, q int, metric Metric) []float64 {
	keys := make([]float64, ref.Rows)
	qr := query.Row(q)
	for j := range ref.Rows {
		var s float64
		for l, v := range ref.Row(j) {
			if metric == L2 {
				t := float64(qr[l]) - float64(v)
				s += t * t
			} else {
				s -= float64(qr[l]) * float64(v)
			}
		}
		keys[j] = s
	}
	return keys
}

// tolerance is the rounding allowance of float32 keys for query row q: a
// relative 1e-5 of the magnitudes the key is computed from (‖q‖² + ‖r‖²
// for L2, ‖q‖‖r‖ for the inner product, with the largest reference norm),
// and at least the error bound of a float32 dot product of this length.
func tolerance(query, ref gometric.Matrix, q int, metric Metric) float64 {
	qn := sqNorm(query.Row(q))
	var rn float64
	for j := range ref.Rows {
		rn = max(rn, sqNorm(ref.Row(j)))
	}
	scale := qn + rn
	if metric == InnerProduct {
		scale = math.Sqrt(qn * rn)
	}
	rel := max(1e-5, float64(query.Cols+4)*0x1p-23)
	return rel*scale + float64(query.Cols+4)*1e-40
}

// checkAgainstNaive verifies res against the float64 brute force: valid,
// distinct indices in (key, index) order; every key within tolerance of the
// naive key of its reference; and the naive key of the j-th neighbour
// within tolerance of the true j-th smallest naive key, so the neighbour
// sets agree except between references whose distances differ by less
// than the tolerance.
func checkAgainstNaive(t *testing.T, query, ref gometric.Matrix, k int, metric Metric, res Result) {
	t.Helper()
	if res.K != k || len(res.Indices) != query.Rows*k || len(res.Distances) != query.Rows*k {
		t.Fatalf("result has K=%d, %d indices, %d distances; want K=%d and %d of each", res.K, len(res.Indices), len(res.Distances), k, query.Rows*k)
	}
	for q := range query.Rows {
		want := naiveKeys(query, ref, q, metric)
		sorted := slices.Clone(want)
		slices.Sort(sorted)
		tol := tolerance(query, ref, q, metric)
		seen := map[int]bool{}
		for j := range k {
			id, d := res.Indices[q*k+j], float64(res.Distances[q*k+j])
			if metric == InnerProduct {
				d = -d
			}
			if id < 0 || id >= ref.Rows || seen[id] {
				t.Fatalf("query %d neighbour %d: index %d is out of range or repeated", q, j, id)
			}
			seen[id] = true
			if j > 0 {
				prevD, prevID := float64(res.Distances[q*k+j-1]), res.Indices[q*k+j-1]
				if metric == InnerProduct {
					prevD = -prevD
				}
				if prevD > d || (prevD == d && prevID > id) {
					t.Fatalf("query %d: neighbour %d (%d, %v) is out of order after (%d, %v)", q, j, id, d, prevID, prevD)
				}
			}
			if diff := math.Abs(d - want[id]); diff > tol {
				t.Fatalf("query %d neighbour %d (ref %d): key %v, naive %v (|diff| %.3g > %.3g)", q, j, id, d, want[id], diff, tol)
			}
			if diff := math.Abs(want[id] - sorted[j]); diff > tol {
				t.Fatalf("query %d neighbour %d: ref %d has naive key %v but the true %d-th smallest is %v (|diff| %.3g > %.3g)", q, j, id, want[id], j, sorted[j], diff, tol)
			}
		}
	}
}

// withTiles runs f with the given query block and reference tile sizes.
func withTiles(qb, rt int, f func()) {
	oqb, ort := queryBlock, refTile
	queryBlock, refTile = qb, rt
	defer func() { queryBlock, refTile = oqb, ort }()
	f()
}

func TestExactAgainstNaive(t *testing.T) {
	tests := []struct {
		nq, nr, dim, k int
		tiles          [2]int // query block, reference tile; zero: the defaults
	}{
		{1, 1, 1, 1, [2]int{}},
		{3, 5, 2, 5, [2]int{}},    // k = M
		{7, 10, 3, 1, [2]int{}},   // k = 1
		{13, 29, 17, 4, [2]int{}}, // shapes far from tile multiples
		{37, 61, 9, 61, [2]int{4, 8}},
		{37, 61, 9, 7, [2]int{5, 7}},       // many blocks and tiles, ragged edges
		{100, 130, 33, 10, [2]int{16, 32}}, // ragged last block and tile
		{600, 1100, 20, 10, [2]int{}},      // 2 default blocks × 2 default tiles
	}
	for _, tc := range tests {
		for _, metric := range []Metric{L2, InnerProduct} {
			name := fmt.Sprintf("%dx%dx%d/k=%d/tiles=%v/%v", tc.nq, tc.nr, tc.dim, tc.k, tc.tiles, metric)
			t.Run(name, func(t *testing.T) {
				rng := rand.New(rand.NewPCG(uint64(tc.nq), uint64(tc.nr*tc.dim)))
				query, ref := testkit.UniformMatrix(rng, tc.nq, tc.dim), testkit.UniformMatrix(rng, tc.nr, tc.dim)
				run := func() {
					idx := NewExact(tc.dim, metric)
					if err := idx.Add(ref); err != nil {
						t.Fatal(err)
					}
					res, err := idx.Search(query, tc.k)
					if err != nil {
						t.Fatal(err)
					}
					checkAgainstNaive(t, query, ref, tc.k, metric, res)
				}
				if tc.tiles[0] > 0 {
					withTiles(tc.tiles[0], tc.tiles[1], run)
				} else {
					run()
				}
			})
		}
	}
}

// TestExactIncrementalAdd checks that references added in several calls
// are numbered on from Len() and searched like one set.
func TestExactIncrementalAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	query, ref := testkit.UniformMatrix(rng, 20, 8), testkit.UniformMatrix(rng, 50, 8)
	whole, parts := NewExact(8, L2), NewExact(8, L2)
	if err := whole.Add(ref); err != nil {
		t.Fatal(err)
	}
	for _, cut := range [][2]int{{0, 1}, {1, 30}, {30, 50}} {
		part := gometric.Matrix{Rows: cut[1] - cut[0], Cols: 8, Data: ref.Data[cut[0]*8 : cut[1]*8]}
		if err := parts.Add(part); err != nil {
			t.Fatal(err)
		}
	}
	if parts.Len() != 50 || parts.Dim() != 8 || parts.Metric() != L2 {
		t.Fatalf("Len %d, Dim %d, Metric %v; want 50, 8, L2", parts.Len(), parts.Dim(), parts.Metric())
	}
	a, err := whole.Search(query, 6)
	if err != nil {
		t.Fatal(err)
	}
	b, err := parts.Search(query, 6)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Indices, b.Indices) || !slices.Equal(a.Distances, b.Distances) {
		t.Fatal("incremental Add gives a different result")
	}
	// Add copies: changing the caller's data does not change the index.
	ref.Data[0] = 1e6
	c, err := whole.Search(query, 6)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.Distances, c.Distances) {
		t.Fatal("Add did not copy the references")
	}
}

func TestExactSelfSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := testkit.UniformMatrix(rng, 700, 32)
	res, err := Search(x, x, 3, L2)
	if err != nil {
		t.Fatal(err)
	}
	for q := range x.Rows {
		if res.Indices[q*3] != q {
			t.Fatalf("query %d: nearest reference %d (distance %v), want itself", q, res.Indices[q*3], res.Distances[q*3])
		}
		if d := res.Distances[q*3]; d < 0 || d > 1e-4 {
			t.Fatalf("query %d: distance to itself %v, want 0 up to rounding", q, d)
		}
	}
}

// TestExactTies checks that equal distances go to the smaller reference
// index, with duplicates spread over different reference tiles.
func TestExactTies(t *testing.T) {
	ref := gometric.Matrix{Rows: 6, Cols: 2, Data: []float32{
		1, 0, // 0
		0, 1, // 1: the same L2 distance to the query as 0, and the same inner product
		3, 3, // 2
		1, 0, // 3: duplicate of 0
		0, 1, // 4: duplicate of 1
		-5, -5, // 5
	}}
	query := gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{0.5, 0.5}}
	tests := []struct {
		metric Metric
		want   []int
	}{
		{L2, []int{0, 1, 3, 4, 2, 5}},
		{InnerProduct, []int{2, 0, 1, 3, 4, 5}},
	}
	for _, tc := range tests {
		for _, tiles := range [][2]int{{512, 1024}, {1, 1}, {1, 2}, {1, 4}} {
			withTiles(tiles[0], tiles[1], func() {
				res, err := Search(query, ref, 6, tc.metric)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(res.Indices, tc.want) {
					t.Errorf("%v, tiles %v: indices %v, want %v (distances %v)", tc.metric, tiles, res.Indices, tc.want, res.Distances)
				}
			})
		}
	}
}

// TestExactDuplicatesTie checks that identical references with arbitrary
// values tie exactly, wherever they sit (different tiles, different memory
// alignments), so the smaller index comes first. Only the AVX2/FMA GEMM
// kernels promise that (see Exact).
func TestExactDuplicatesTie(t *testing.T) {
	if gemm.Impl() == "portable" {
		t.Skip("gonum's Sgemm rounds a product by the alignment of its row (see Exact); run without -tags purego on an AVX2/FMA CPU")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	const dim = 37
	ref, query := testkit.UniformMatrix(rng, 40, dim), testkit.UniformMatrix(rng, 30, dim)
	dups := [][2]int{{0, 5}, {0, 39}, {3, 17}, {10, 11}}
	for _, d := range dups {
		copy(ref.Row(d[1]), ref.Row(d[0]))
	}
	for _, metric := range []Metric{L2, InnerProduct} {
		for _, tiles := range [][2]int{{512, 1024}, {7, 9}, {1, 3}} {
			withTiles(tiles[0], tiles[1], func() {
				res, err := Search(query, ref, 40, metric)
				if err != nil {
					t.Fatal(err)
				}
				for q := range query.Rows {
					row := res.Indices[q*40 : (q+1)*40]
					for _, d := range dups {
						a, b := slices.Index(row, d[0]), slices.Index(row, d[1])
						if res.Distances[q*40+a] != res.Distances[q*40+b] || a > b {
							t.Fatalf("%v, tiles %v, query %d: duplicates %d (rank %d, %v) and %d (rank %d, %v) do not tie in index order",
								metric, tiles, q, d[0], a, res.Distances[q*40+a], d[1], b, res.Distances[q*40+b])
						}
					}
				}
			})
		}
	}
}

// TestExactDeterminism checks that results are the same bits with 1 and 2
// threads, and with the AVX2/FMA GEMM with any tiling.
func TestExactDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	query, ref := testkit.UniformMatrix(rng, 1030, 6), testkit.UniformMatrix(rng, 1100, 6) // 3 query blocks, 2 tiles
	for _, metric := range []Metric{L2, InnerProduct} {
		var results []Result
		for _, procs := range []int{1, 2} {
			old := runtime.GOMAXPROCS(procs)
			res, err := Search(query, ref, 5, metric)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, res)
		}
		if gemm.Impl() != "portable" {
			// Only the AVX2/FMA GEMM kernels round a product
			// independently of the shape of the call (see Exact).
			withTiles(50, 300, func() {
				res, err := Search(query, ref, 5, metric)
				if err != nil {
					t.Fatal(err)
				}
				results = append(results, res)
			})
		}
		for i, r := range results[1:] {
			if !slices.Equal(r.Indices, results[0].Indices) || !slices.Equal(r.Distances, results[0].Distances) {
				t.Errorf("%v: run %d differs from the GOMAXPROCS=1 run", metric, i+1)
			}
		}
	}
}

func TestExactErrors(t *testing.T) {
	good := gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1, 2, 3, 4}}
	nan := gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1, 2, float32(math.NaN()), 4}}
	inf := gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{float32(math.Inf(-1)), 0}}
	huge := gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{3e19, 0}}
	ragged := gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1, 2, 3}}
	wide := gometric.Matrix{Rows: 1, Cols: 3, Data: []float32{1, 2, 3}}
	added := func(dim int, m Metric, x gometric.Matrix) *Exact {
		e := NewExact(dim, m)
		if err := e.Add(x); err != nil {
			t.Fatal(err)
		}
		return e
	}
	tests := []struct {
		name     string
		err      func() error
		sentinel error
	}{
		{"add: zero dimension", func() error { return NewExact(0, L2).Add(good) }, gometric.ErrSetting},
		{"add: bad metric", func() error { return NewExact(2, Metric(7)).Add(good) }, gometric.ErrSetting},
		{"add: empty", func() error { return NewExact(2, L2).Add(gometric.Matrix{}) }, gometric.ErrShape},
		{"add: ragged", func() error { return NewExact(2, L2).Add(ragged) }, gometric.ErrShape},
		{"add: D mismatch", func() error { return NewExact(2, L2).Add(wide) }, gometric.ErrShape},
		{"add: NaN", func() error { return NewExact(2, L2).Add(nan) }, gometric.ErrNonFinite},
		{"add: Inf", func() error { return NewExact(2, L2).Add(inf) }, gometric.ErrNonFinite},
		{"add: overflowing norm", func() error { return NewExact(2, InnerProduct).Add(huge) }, gometric.ErrNonFinite},
		{"search: no references", func() error { _, err := NewExact(2, L2).Search(good, 1); return err }, gometric.ErrShape},
		{"search: bad metric", func() error { _, err := NewExact(2, Metric(-1)).Search(good, 1); return err }, gometric.ErrSetting},
		{"search: empty query", func() error { _, err := added(2, L2, good).Search(gometric.Matrix{Cols: 2}, 1); return err }, gometric.ErrShape},
		{"search: D mismatch", func() error { _, err := added(2, L2, good).Search(wide, 1); return err }, gometric.ErrShape},
		{"search: NaN query", func() error { _, err := added(2, L2, good).Search(nan, 1); return err }, gometric.ErrNonFinite},
		{"search: overflowing query", func() error { _, err := added(2, L2, good).Search(huge, 1); return err }, gometric.ErrNonFinite},
		{"search: k = 0", func() error { _, err := added(2, L2, good).Search(good, 0); return err }, gometric.ErrSetting},
		{"search: k > M", func() error { _, err := added(2, InnerProduct, good).Search(good, 3); return err }, gometric.ErrSetting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(fmt.Sprint(err), "knn.Exact: ") {
				t.Fatalf("got %v, want a \"knn.Exact: \" error wrapping %v", err, tc.sentinel)
			}
		})
	}
	// A failed Add leaves the index unchanged.
	e := added(2, L2, good)
	if err := e.Add(nan); err == nil || e.Len() != 2 {
		t.Fatalf("Add(NaN): err %v, Len %d; want an error and Len 2", err, e.Len())
	}
}

func TestSearchErrors(t *testing.T) {
	good := gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1, 2, 3, 4}}
	tests := []struct {
		name       string
		query, ref gometric.Matrix
		k          int
		metric     Metric
		sentinel   error
	}{
		{"bad metric", good, good, 1, Metric(2), gometric.ErrSetting},
		{"empty reference", good, gometric.Matrix{}, 1, L2, gometric.ErrShape},
		{"empty query", gometric.Matrix{}, good, 1, L2, gometric.ErrShape},
		{"D mismatch", gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{1}}, good, 1, L2, gometric.ErrShape},
		{"NaN reference", good, gometric.Matrix{Rows: 1, Cols: 2, Data: []float32{0, float32(math.NaN())}}, 1, L2, gometric.ErrNonFinite},
		{"k too large", good, good, 3, InnerProduct, gometric.ErrSetting},
		{"k negative", good, good, -1, L2, gometric.ErrSetting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Search(tc.query, tc.ref, tc.k, tc.metric)
			if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(fmt.Sprint(err), "knn.Search: ") {
				t.Fatalf("got %v, want a \"knn.Search: \" error wrapping %v", err, tc.sentinel)
			}
		})
	}
}

// TestExactNoAllocPerElement checks that a single-threaded search
// allocates only its result (2), the query norms, its state, one scratch
// tile and the worker loop's tile slice and closure (workers.Each),
// besides what the GEMM allocates per call (one call per query block and
// reference tile), however many references it scans.
func TestExactNoAllocPerElement(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop workspaces")
	}
	old := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(old)
	rng := rand.New(rand.NewPCG(11, 12))
	query := testkit.UniformMatrix(rng, 50, 16)
	a, c := make([]float32, 50*16), make([]float32, 50*refTile)
	for _, m := range []int{100, 5000} {
		ref := testkit.UniformMatrix(rng, m, 16)
		idx := NewExact(16, L2)
		if err := idx.Add(ref); err != nil {
			t.Fatal(err)
		}
		nr := min(m, refTile)
		perGemm := testing.AllocsPerRun(5, func() {
			gemm.Sgemm(false, true, 50, nr, 16, -2, a, 16, ref.Data, 16, 0, c, nr)
		})
		tiles := float64((m + refTile - 1) / refTile)
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := idx.Search(query, 10); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 7+tiles*perGemm {
			t.Errorf("%d references: %v allocations per search, want at most 7 + %v tiles × %v per GEMM", m, allocs, tiles, perGemm)
		}
	}
}

// TestMatrixValidateOverflow checks that a shape whose element count
// overflows int is rejected, not sliced.
func TestMatrixValidateOverflow(t *testing.T) {
	m := gometric.Matrix{Rows: 1 << 32, Cols: 1 << 32}
	if err := m.Validate("knn.Exact", "x"); !errors.Is(err, gometric.ErrShape) {
		t.Fatalf("got %v, want ErrShape", err)
	}
	if err := NewExact(1<<32, L2).Add(m); !errors.Is(err, gometric.ErrShape) {
		t.Fatalf("Add: got %v, want ErrShape", err)
	}
}
