package knn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/gemm"
)

// tieCase is a search whose answer is fixed by the tie rule alone: several
// references share the key at the k-th place, so the k nearest are the
// strictly nearer ones and then the tied ones in increasing index order.
// The coordinates are small integers or halves, so every norm, product
// and distance is exact in float32 in every GEMM (assembly, archsimd,
// gonum's portable Sgemm, FAISS's BLAS) and the tied keys are equal bits.
type tieCase struct {
	name   string
	metric Metric
	ref    gometric.Matrix
	query  []float32 // one query row
	// order is every reference, nearest first, ties by increasing index:
	// the answer for k = len(order).
	order []int
	// ks are the k below the number of references where several
	// references share the key at the k-th place.
	ks []int
}

// rows builds a matrix from rows of equal length.
func rows(rs ...[]float32) gometric.Matrix {
	m := gometric.Matrix{Rows: len(rs), Cols: len(rs[0])}
	for _, r := range rs {
		m.Data = append(m.Data, r...)
	}
	return m
}

// tieCases are the searches of TestTiesAtKthPlace, shared with the FAISS
// and the accuracy tests.
func tieCases() []tieCase {
	// The reproduction: five references at distance 1 from the
	// query; with k = 1 the answer is reference 0, not 4.
	five := rows([]float32{1, 0, 0}, []float32{0, 1, 0}, []float32{-1, 0, 0}, []float32{0, -1, 0}, []float32{0, 0, 1})
	// Five duplicates of one point, the query elsewhere (distance 11).
	dups := rows([]float32{1, 2, -3}, []float32{1, 2, -3}, []float32{1, 2, -3}, []float32{1, 2, -3}, []float32{1, 2, -3})
	// A unique nearest (2), then four tied at distance 1 (1, 3, 4, 5),
	// then a far one (0): the tie straddles k = 2 … 5.
	straddle := rows([]float32{3, 0, 0}, []float32{1, 0, 0}, []float32{0, 0, 0.5}, []float32{0, 1, 0}, []float32{0, 0, -1}, []float32{0, -1, 0})
	// The query's own duplicates at distance 0 (0, 2, 3, 5) and another
	// point's (1, 4) at distance 2.
	self := rows([]float32{1, 2, 2}, []float32{2, 1, 2}, []float32{1, 2, 2}, []float32{1, 2, 2}, []float32{2, 1, 2}, []float32{1, 2, 2})
	// Inner products 1, 1, 2, 1, 1, -1: the largest (2) first, then four
	// tied at 1.
	ip := rows([]float32{1, 0}, []float32{0, 1}, []float32{2, 0}, []float32{1, 0}, []float32{0.5, 0.5}, []float32{-1, 0})
	cases := []tieCase{
		{"five equidistant", L2, five, []float32{0, 0, 0}, []int{0, 1, 2, 3, 4}, []int{1, 2, 3, 4}},
		{"five duplicates", L2, dups, []float32{0, 1, 0}, []int{0, 1, 2, 3, 4}, []int{1, 2, 3, 4}},
		{"tie straddles k", L2, straddle, []float32{0, 0, 0}, []int{2, 1, 3, 4, 5, 0}, []int{2, 3, 4}},
		{"duplicates of the query", L2, self, []float32{1, 2, 2}, []int{0, 2, 3, 5, 1, 4}, []int{1, 2, 3, 5}},
		{"equal inner products", InnerProduct, ip, []float32{1, 1}, []int{2, 0, 1, 3, 4, 5}, []int{2, 3, 4}},
		{"five equidistant, inner product", InnerProduct, five, []float32{0, 0, 0.5}, []int{4, 0, 1, 2, 3}, []int{2, 3, 4}},
	}
	cases = append(cases, longTie(L2), longTie(InnerProduct))
	return cases
}

// longTie is a tie among 53 references (three 16-wide blocks of the vector
// scan and a tail of 5): seven tied references spread over the blocks and
// the tail (40 and 47 in the second half of a block whose first half holds
// no candidate, which the vector scan must not skip), two strictly nearer
// ones, the rest farther. With the reference tiles of TestTiesAtKthPlace
// the tie also spans tiles.
func longTie(metric Metric) tieCase {
	const n = 53
	tied := []int{5, 17, 31, 40, 47, 50, 52}
	nearer := []int{51, 20} // nearest first
	ref := gometric.Matrix{Rows: n, Cols: 4, Data: make([]float32, n*4)}
	set := func(i int, v ...float32) { copy(ref.Data[i*4:], v) }
	// Query (0, 0, 0, 1). L2: far rows at distance² ≥ 13, tied at 2,
	// nearer at 0.25 and 1. Inner product: far rows −1, tied 1, nearer 3
	// and 2.
	for i := range n {
		set(i, float32(3+i%5), 0, 0, -1)
	}
	for j, i := range tied {
		// (±1, 0, 0, 0) or (0, ±1, 0, 0): distance² 2, inner product 0;
		// for the inner product the last coordinate makes it 1.
		v := []float32{0, 0, 0, 0}
		v[j%2] = float32(1 - 2*(j/2%2))
		if metric == InnerProduct {
			v[3] = 1
		}
		set(i, v...)
	}
	if metric == L2 {
		set(nearer[0], 0, 0, 0, 0.5)
		set(nearer[1], 0, 0, 0, 0)
	} else {
		set(nearer[0], 0, 0, 0, 3)
		set(nearer[1], 0, 0, 1, 2)
	}
	order := slices.Concat(nearer, tied)
	for i := range n {
		if !slices.Contains(order, i) {
			order = append(order, i)
		}
	}
	// L2: the far rows' distances differ by i%5 only, so they go by i%5,
	// then index. Inner product: they all have −1, so index order.
	name := "53 references, tie over blocks and tail"
	ks := []int{3, 4, 5, 6, 7, 8}
	if metric == L2 {
		far := order[len(nearer)+len(tied):]
		slices.SortStableFunc(far, func(a, b int) int { return a%5 - b%5 })
	} else {
		name += ", inner product"
		ks = append(ks, 10, 30, 52) // ties among the far rows too
	}
	return tieCase{name, metric, ref, []float32{0, 0, 0, 1}, order, ks}
}

// queries returns the case's query repeated nq times.
func (tc tieCase) queries(nq int) gometric.Matrix {
	q := gometric.Matrix{Rows: nq, Cols: len(tc.query)}
	for range nq {
		q.Data = append(q.Data, tc.query...)
	}
	return q
}

// want is the answer for nq queries and k neighbours.
func (tc tieCase) want(nq, k int) []int {
	var w []int
	for range nq {
		w = append(w, tc.order[:k]...)
	}
	return w
}

// checkTies checks that res has the expected indices and that the keys
// of tied neighbours are equal bits.
func checkTies(t *testing.T, what string, tc tieCase, nq, k int, res Result) {
	t.Helper()
	if want := tc.want(nq, k); res.K != k || !slices.Equal(res.Indices, want) {
		t.Fatalf("%s: indices %v, want %v (distances %v)", what, res.Indices, want, res.Distances)
	}
	for q := range nq {
		d := res.Distances[q*k : (q+1)*k]
		for j := 1; j < k; j++ {
			if tc.metric == L2 && d[j] < d[j-1] || tc.metric == InnerProduct && d[j] > d[j-1] {
				t.Fatalf("%s: query %d: keys out of order: %v", what, q, d)
			}
		}
	}
}

// TestTiesAtKthPlace is the missing test: references tied at the
// k-th place, k below the number of references, k = 1 included, go to the
// smaller index (Exact's documented rule), whatever the reference tiles,
// the query blocks, the way the references were added (one Add or one per
// row), and in the one-shot Search. It runs in every build: the default
// assembly GEMM, GOEXPERIMENT=simd (the vector scans) and -tags purego.
func TestTiesAtKthPlace(t *testing.T) {
	tiles := [][2]int{{512, 1024}, {1, 1}, {2, 3}, {1, 16}, {3, 7}, {2, 33}}
	for _, tc := range tieCases() {
		t.Run(tc.name, func(t *testing.T) {
			for _, k := range tc.ks {
				for _, nq := range []int{1, 5} {
					for _, tl := range tiles {
						withTiles(tl[0], tl[1], func() {
							what := fmt.Sprintf("k=%d nq=%d tiles=%v", k, nq, tl)
							query := tc.queries(nq)
							res, err := Search(query, tc.ref, k, tc.metric)
							if err != nil {
								t.Fatal(err)
							}
							checkTies(t, "Search "+what, tc, nq, k, res)
							whole, rowwise := NewExact(tc.ref.Cols, tc.metric), NewExact(tc.ref.Cols, tc.metric)
							if err := whole.Add(tc.ref); err != nil {
								t.Fatal(err)
							}
							for i := range tc.ref.Rows {
								if err := rowwise.Add(gometric.Matrix{Rows: 1, Cols: tc.ref.Cols, Data: tc.ref.Row(i)}); err != nil {
									t.Fatal(err)
								}
							}
							for _, idx := range []*Exact{whole, rowwise} {
								res, err := idx.Search(query, k)
								if err != nil {
									t.Fatal(err)
								}
								checkTies(t, "Exact "+what, tc, nq, k, res)
							}
						})
					}
				}
			}
			// k = every reference: the full order.
			res, err := Search(tc.queries(1), tc.ref, tc.ref.Rows, tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			checkTies(t, "all references", tc, 1, tc.ref.Rows, res)
		})
	}
}

// TestTiesAtZero covers the clamp of L2 distances: a query's duplicates
// whose distance ‖q‖² + ‖r‖² − 2q·r rounds below zero are clamped to 0,
// and a later duplicate clamped to 0 must not displace an earlier one
// already holding the k-th place at 0. The vector is chosen so that the
// GEMM of this build gives a negative distance for every duplicate.
func TestTiesAtZero(t *testing.T) {
	const dim, m = 7, 6
	rng := rand.New(rand.NewPCG(21, 22))
	var ref gometric.Matrix
	found := false
	for range 10000 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		ref = gometric.Matrix{Rows: m, Cols: dim}
		for range m {
			ref.Data = append(ref.Data, v...)
		}
		// The keys the search computes: (‖q‖² + ‖r‖²) + (−2q·r).
		c := make([]float32, m)
		gemm.Sgemm(false, true, 1, m, dim, -2, v, dim, ref.Data, dim, 0, c, m)
		n := float32(sqNorm(v))
		neg := true
		for _, p := range c {
			neg = neg && n+n+p < 0
		}
		if neg {
			found = true
			break
		}
	}
	if !found {
		t.Fatal("no vector whose distance to itself rounds below zero")
	}
	query := gometric.Matrix{Rows: 1, Cols: dim, Data: ref.Row(0)}
	for k := 1; k < m; k++ {
		res, err := Search(query, ref, k, L2)
		if err != nil {
			t.Fatal(err)
		}
		want := []int{0, 1, 2, 3, 4, 5}[:k]
		if !slices.Equal(res.Indices, want) {
			t.Fatalf("k=%d: indices %v, want %v (distances %v)", k, res.Indices, want, res.Distances)
		}
		for _, d := range res.Distances {
			if d != 0 {
				t.Fatalf("k=%d: distance %v, want 0 (clamped)", k, d)
			}
		}
	}
}
