//go:build faiss

package knn

import (
	"errors"
	"flag"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// faissCentres returns n random centres in [-10, 10)^dim.
func faissCentres(n, dim int, rng *rand.Rand) gometric.Matrix {
	mu := testkit.UniformMatrix(rng, n, dim)
	for i := range mu.Data {
		mu.Data[i] *= 10
	}
	return mu
}

// faissAxisCentres returns k ≤ 2·dim centres at ±20 on the axes, 20√2 or
// more apart.
func faissAxisCentres(k, dim int) gometric.Matrix {
	mu := gometric.Matrix{Rows: k, Cols: dim, Data: make([]float32, k*dim)}
	for c := range k {
		mu.Data[c*dim+c/2] = float32(20 - 40*(c%2))
	}
	return mu
}

// faissScore is the exact (float64) squared L2 distance or inner product.
func faissScore(a, b []float32, m Metric) float64 {
	s := 0.0
	for i := range a {
		if m == L2 {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		} else {
			s += float64(a[i]) * float64(b[i])
		}
	}
	return s
}

func faissSqNorm(a []float32) float64 { return faissScore(a, a, InnerProduct) }

// faissCompare checks got against want (both k-NN results of query in
// ref): every reported distance must be the true float64 score of its
// neighbour within float32 round-off, each list must be ordered and free of
// duplicates, and where the two lists hold different references at a rank
// those references must tie in the true score. It returns the number of
// such ties.
func faissCompare(t *testing.T, query, ref gometric.Matrix, got, want Result, metric Metric) int {
	t.Helper()
	k := want.K
	if got.K != k || len(got.Indices) != query.Rows*k || len(got.Distances) != query.Rows*k {
		t.Fatalf("got K=%d with %d indices, %d distances; want K=%d for %d queries", got.K, len(got.Indices), len(got.Distances), k, query.Rows)
	}
	better := func(a, b float64) bool {
		if metric == L2 {
			return a < b
		}
		return a > b
	}
	ties, bad := 0, 0
	for q := range query.Rows {
		qr := query.Row(q)
		seen := map[int]bool{}
		for j := range k {
			p := q*k + j
			gi, wi := got.Indices[p], want.Indices[p]
			if gi < 0 || gi >= ref.Rows {
				t.Fatalf("query %d rank %d: index %d outside [0, %d)", q, j, gi, ref.Rows)
			}
			if seen[gi] {
				t.Fatalf("query %d: reference %d listed twice", q, gi)
			}
			seen[gi] = true
			gs := faissScore(qr, ref.Row(gi), metric)
			tol := 1e-5 * (1 + faissSqNorm(qr) + faissSqNorm(ref.Row(gi)))
			for _, r := range []struct {
				name string
				d    float32
			}{{"got", got.Distances[p]}, {"want", want.Distances[p]}} {
				s := gs
				if r.name == "want" {
					s = faissScore(qr, ref.Row(wi), metric)
				}
				if math.Abs(float64(r.d)-s) > tol {
					t.Errorf("query %d rank %d: %s distance %v, true score %v", q, j, r.name, r.d, s)
				}
			}
			if j > 0 && better(float64(got.Distances[p]), float64(got.Distances[p-1])) {
				t.Errorf("query %d: got distances out of order at rank %d: %v after %v", q, j, got.Distances[p], got.Distances[p-1])
			}
			if gi != wi {
				ws := faissScore(qr, ref.Row(wi), metric)
				if math.Abs(gs-ws) > tol {
					if bad++; bad <= 5 {
						t.Errorf("query %d rank %d: got reference %d (score %v), want %d (score %v): not a tie", q, j, gi, gs, wi, ws)
					}
				} else {
					ties++
				}
			}
		}
	}
	return ties
}

func mustFaiss(t testing.TB, description string, dim int, metric Metric) *Faiss {
	t.Helper()
	f, err := NewFaiss(description, dim, metric)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestFaissFlatMatchesExact is the issue's "pure-Go kNN and FAISS kNN
// agree": IndexFlatL2 / IndexFlatIP ("Flat") against the pure-Go exact
// search on random data, same neighbours up to exact ties.
func TestFaissFlatMatchesExact(t *testing.T) {
	tests := []struct {
		name             string
		metric           Metric
		nref, nq, dim, k int
		batches          int  // Add calls
		duplicate        bool // every reference twice: exact ties
	}{
		// FAISS searches fewer than 20 queries without BLAS, more with it.
		{name: "L2/few-queries", metric: L2, nref: 500, nq: 7, dim: 16, k: 5, batches: 1},
		{name: "L2/blas", metric: L2, nref: 3000, nq: 300, dim: 32, k: 10, batches: 1},
		{name: "IP/few-queries", metric: InnerProduct, nref: 500, nq: 7, dim: 16, k: 5, batches: 1},
		{name: "IP/blas", metric: InnerProduct, nref: 3000, nq: 300, dim: 32, k: 10, batches: 1},
		{name: "L2/k=1", metric: L2, nref: 800, nq: 50, dim: 8, k: 1, batches: 1},
		{name: "IP/k=Len", metric: InnerProduct, nref: 40, nq: 25, dim: 6, k: 40, batches: 1},
		{name: "L2/dim=1", metric: L2, nref: 300, nq: 40, dim: 1, k: 7, batches: 1},
		{name: "L2/three-adds", metric: L2, nref: 999, nq: 60, dim: 12, k: 9, batches: 3},
		{name: "L2/duplicates", metric: L2, nref: 400, nq: 30, dim: 8, k: 6, batches: 1, duplicate: true},
		{name: "IP/duplicates", metric: InnerProduct, nref: 400, nq: 30, dim: 8, k: 6, batches: 2, duplicate: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			ref := testkit.UniformMatrix(rng, tc.nref, tc.dim)
			if tc.duplicate {
				ref.Data = append(ref.Data, ref.Data...)
				ref.Rows *= 2
			}
			query := testkit.UniformMatrix(rng, tc.nq, tc.dim)
			f := mustFaiss(t, "Flat", tc.dim, tc.metric)
			if !f.IsTrained() {
				t.Fatal("a Flat index reports untrained")
			}
			for b := range tc.batches {
				lo, hi := b*ref.Rows/tc.batches, (b+1)*ref.Rows/tc.batches
				part := gometric.Matrix{Rows: hi - lo, Cols: tc.dim, Data: ref.Data[lo*tc.dim : hi*tc.dim]}
				if err := f.Add(part); err != nil {
					t.Fatal(err)
				}
			}
			if f.Len() != ref.Rows || f.Dim() != tc.dim || f.Metric() != tc.metric || f.Description() != "Flat" {
				t.Fatalf("Len/Dim/Metric/Description = %d/%d/%v/%q", f.Len(), f.Dim(), f.Metric(), f.Description())
			}
			got, err := f.Search(query, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Search(query, ref, tc.k, tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			ties := faissCompare(t, query, ref, got, want, tc.metric)
			t.Logf("%d of %d neighbours differ by an exact tie", ties, tc.nq*tc.k)
		})
	}
}

// TestFaissMissingNeighbours checks that when an approximate index finds
// fewer than k neighbours (IVF probing one list of about 250 vectors, with
// k = 600) Search returns them first and FAISS's -1 after, without error.
func TestFaissMissingNeighbours(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	mu := faissCentres(16, 8, rng)
	ref, _ := testkit.Blobs32(rng, mu, 4000, 0.5)
	query, _ := testkit.Blobs32(rng, mu, 10, 0.5)
	f := mustFaiss(t, "IVF16,Flat", 8, L2)
	if err := f.Add(ref); err != nil {
		t.Fatal(err)
	}
	if err := f.SetParameter("nprobe", 1); err != nil {
		t.Fatal(err)
	}
	const k = 600
	res, err := f.Search(query, k)
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for q := range query.Rows {
		found := 0
		for j := range k {
			i := res.Indices[q*k+j]
			switch {
			case i == -1:
				missing++
			case i < 0 || i >= ref.Rows:
				t.Fatalf("query %d rank %d: index %d", q, j, i)
			case found != j:
				t.Fatalf("query %d: neighbour %d after a missing one", q, i)
			default:
				found++
			}
		}
		if found == 0 {
			t.Errorf("query %d: no neighbour found", q)
		}
	}
	if missing == 0 {
		t.Fatal("no missing neighbours: the test does not exercise FAISS's -1")
	}
	t.Logf("%d of %d slots missing", missing, query.Rows*k)
}

// faissRecall is |got ∩ want| / |want| over all queries.
func faissRecall(got, want Result, nq int) float64 {
	hit := 0
	for q := range nq {
		w := map[int]bool{}
		for _, i := range want.Indices[q*want.K : (q+1)*want.K] {
			w[i] = true
		}
		for _, i := range got.Indices[q*got.K : (q+1)*got.K] {
			if w[i] {
				hit++
			}
		}
	}
	return float64(hit) / float64(nq*want.K)
}

// TestFaissApproximate is a smoke test of index_factory strings beyond
// exact search: recall@10 above 0.9 on clustered data.
func TestFaissApproximate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const dim, k = 16, 10
	mu := faissCentres(40, dim, rng)
	ref, _ := testkit.Blobs32(rng, mu, 4000, 1)
	query, _ := testkit.Blobs32(rng, mu, 200, 1)
	tests := []struct {
		description string
		metric      Metric
		train       bool // call Train before Add (otherwise Add trains)
		param       string
		value       float64
	}{
		{description: "HNSW32", metric: L2, param: "efSearch", value: 64},
		{description: "IVF16,Flat", metric: L2, train: true, param: "nprobe", value: 4},
		{description: "IVF16,Flat", metric: InnerProduct, param: "nprobe", value: 4},
		{description: "IVF16,SQ8", metric: L2, param: "nprobe", value: 4},
	}
	for _, tc := range tests {
		t.Run(tc.description+"/"+tc.metric.String(), func(t *testing.T) {
			f := mustFaiss(t, tc.description, dim, tc.metric)
			needsTraining := strings.HasPrefix(tc.description, "IVF")
			if f.IsTrained() == needsTraining {
				t.Fatalf("IsTrained() = %v before training", f.IsTrained())
			}
			if tc.train {
				if err := f.Train(ref); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Add(ref); err != nil {
				t.Fatal(err)
			}
			if !f.IsTrained() || f.Len() != ref.Rows {
				t.Fatalf("after Add: IsTrained %v, Len %d", f.IsTrained(), f.Len())
			}
			if err := f.SetParameter(tc.param, tc.value); err != nil {
				t.Fatal(err)
			}
			got, err := f.Search(query, k)
			if err != nil {
				t.Fatal(err)
			}
			want, err := Search(query, ref, k, tc.metric)
			if err != nil {
				t.Fatal(err)
			}
			r := faissRecall(got, want, query.Rows)
			t.Logf("recall@%d = %.4f", k, r)
			if r <= 0.9 {
				t.Errorf("recall@%d = %.4f, want > 0.9", k, r)
			}
		})
	}
}

// TestFaissKMeans checks FAISS's k-means: every run must end at a Lloyd
// fixed point (each row assigned to its nearest centroid, each centroid the
// mean of its rows, or of FAISS's seeded subsample of them when x has more
// than 256·k rows), be reproducible for a seed, and with FAISS's defaults
// be exactly faiss_kmeans_clustering. FAISS seeds the centroids with k
// random rows and runs once (nredo = 1), so on separated clusters it can
// stop in a local optimum when two seeds fall in one cluster; the cases
// marked separates are seeds where it does not, and there the clusters must
// be recovered exactly.
func TestFaissKMeans(t *testing.T) {
	tests := []struct {
		name          string
		n, dim, k     int
		iter          int
		seed          int64
		separates     bool
		subsampled    bool
		matchesSimple bool
	}{
		{name: "defaults", n: 400, dim: 8, k: 4, iter: FaissKMeansIter, seed: FaissKMeansSeed, separates: true, matchesSimple: true},
		{name: "k=2", n: 200, dim: 3, k: 2, iter: 10, seed: 7, separates: true},
		{name: "k=7", n: 700, dim: 5, k: 7, iter: 40, seed: 99},
		{name: "k=n", n: 6, dim: 3, k: 6, iter: 5, seed: 1, separates: true},
		{name: "k=1", n: 50, dim: 3, k: 1, iter: 3, seed: -5, separates: true},
		{name: "subsampled", n: 3000, dim: 4, k: 3, iter: FaissKMeansIter, seed: FaissKMeansSeed, separates: true, subsampled: true, matchesSimple: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 3))
			x, truth := testkit.Blobs32(rng, faissAxisCentres(tc.k, tc.dim), tc.n, 1)
			assign, cent, err := FaissKMeans(x, tc.k, tc.iter, tc.seed)
			if err != nil {
				t.Fatal(err)
			}
			if len(assign) != tc.n || cent.Rows != tc.k || cent.Cols != tc.dim || len(cent.Data) != tc.k*tc.dim {
				t.Fatalf("got %d assignments, %d×%d centroids (%d values)", len(assign), cent.Rows, cent.Cols, len(cent.Data))
			}
			if tc.separates {
				// A bijection between true and found clusters.
				toFound, toTrue := map[int]int{}, map[int]int{}
				for p, a := range assign {
					if f, ok := toFound[truth[p]]; ok && f != a {
						t.Fatalf("true cluster %d split between found clusters %d and %d", truth[p], f, a)
					}
					if tr, ok := toTrue[a]; ok && tr != truth[p] {
						t.Fatalf("found cluster %d merges true clusters %d and %d", a, tr, truth[p])
					}
					toFound[truth[p]], toTrue[a] = a, truth[p]
				}
				if len(toFound) != tc.k {
					t.Fatalf("found %d clusters, want %d", len(toFound), tc.k)
				}
				// The pure-Go k-means finds the same partition.
				goAssign, _, err := KMeans(x, tc.k, KMeansOptions{Iter: tc.iter, Seed: uint64(i)})
				if err != nil {
					t.Fatal(err)
				}
				perm := map[int]int{}
				for p := range assign {
					if g, ok := perm[assign[p]]; ok && g != goAssign[p] {
						t.Fatalf("row %d: FAISS cluster %d maps to pure-Go clusters %d and %d", p, assign[p], g, goAssign[p])
					}
					perm[assign[p]] = goAssign[p]
				}
				inverse := map[int]bool{}
				for _, g := range perm {
					inverse[g] = true
				}
				if len(inverse) != tc.k {
					t.Fatalf("FAISS clusters map to %d pure-Go clusters, want %d", len(inverse), tc.k)
				}
			}
			// Nearest-centroid assignment, centroids at the cluster means.
			sum := make([]float64, tc.k*tc.dim)
			cnt := make([]int, tc.k)
			for p := range tc.n {
				best := 0
				for c := 1; c < tc.k; c++ {
					if faissScore(x.Row(p), cent.Row(c), L2) < faissScore(x.Row(p), cent.Row(best), L2) {
						best = c
					}
				}
				if best != assign[p] {
					t.Fatalf("row %d assigned to %d, nearest centroid is %d", p, assign[p], best)
				}
				cnt[best]++
				for j, v := range x.Row(p) {
					sum[best*tc.dim+j] += float64(v)
				}
			}
			for c := range tc.k {
				for j := range tc.dim {
					// A subsample of ~256 rows per cluster (noise sd 1) has
					// means within a few 1/16 of the full cluster's.
					tol := 1e-4
					if tc.subsampled {
						tol = 0.3
					}
					if m := sum[c*tc.dim+j] / float64(cnt[c]); math.Abs(m-float64(cent.Data[c*tc.dim+j])) > tol {
						t.Errorf("centroid %d[%d] = %v, cluster mean %v", c, j, cent.Data[c*tc.dim+j], m)
					}
				}
			}
			again, cent2, err := FaissKMeans(x, tc.k, tc.iter, tc.seed)
			if err != nil {
				t.Fatal(err)
			}
			for p := range assign {
				if again[p] != assign[p] {
					t.Fatalf("second run differs at row %d", p)
				}
			}
			for j := range cent.Data {
				if cent2.Data[j] != cent.Data[j] {
					t.Fatalf("second run: centroid value %d is %v, was %v", j, cent2.Data[j], cent.Data[j])
				}
			}
			if tc.matchesSimple {
				simple, qerr, err := faissKMeansClustering(x, tc.k)
				if err != nil {
					t.Fatal(err)
				}
				if qerr <= 0 {
					t.Errorf("faiss_kmeans_clustering quantization error %v", qerr)
				}
				for j := range simple {
					if simple[j] != cent.Data[j] {
						t.Fatalf("centroid value %d: FaissKMeans %v, faiss_kmeans_clustering %v", j, cent.Data[j], simple[j])
					}
				}
			}
		})
	}
}

// TestFaissErrors checks that bad input gives an error wrapping the right
// sentinel and naming the component, never a panic or a FAISS abort.
func TestFaissErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	good := testkit.UniformMatrix(rng, 20, 4)
	wide := testkit.UniformMatrix(rng, 5, 5)
	nan := testkit.UniformMatrix(rng, 6, 4)
	nan.Data[9] = float32(math.NaN())
	inf := testkit.UniformMatrix(rng, 6, 4)
	inf.Data[3] = float32(math.Inf(-1))
	ragged := gometric.Matrix{Rows: 3, Cols: 4, Data: make([]float32, 11)}
	withRefs := func(t *testing.T) *Faiss {
		f := mustFaiss(t, "Flat", 4, L2)
		if err := f.Add(good); err != nil {
			t.Fatal(err)
		}
		return f
	}
	tests := []struct {
		name string
		run  func(t *testing.T) error
		want error
		msg  string
	}{
		{"empty description", func(t *testing.T) error { _, err := NewFaiss(" ", 4, L2); return err }, gometric.ErrSetting, "empty index description"},
		{"unknown description", func(t *testing.T) error { _, err := NewFaiss("NoSuchIndex", 4, L2); return err }, gometric.ErrSetting, "index_factory"},
		{"dim 0", func(t *testing.T) error { _, err := NewFaiss("Flat", 0, L2); return err }, gometric.ErrSetting, "dimension 0 outside"},
		{"unknown metric", func(t *testing.T) error { _, err := NewFaiss("Flat", 4, Metric(7)); return err }, gometric.ErrSetting, "unknown metric"},
		{"add D mismatch", func(t *testing.T) error { return mustFaiss(t, "Flat", 4, L2).Add(wide) }, gometric.ErrShape, "5 columns but the index has dimension 4"},
		{"add NaN", func(t *testing.T) error { return mustFaiss(t, "Flat", 4, L2).Add(nan) }, gometric.ErrNonFinite, "row 2, column 1"},
		{"add Inf", func(t *testing.T) error { return mustFaiss(t, "Flat", 4, L2).Add(inf) }, gometric.ErrNonFinite, "-Inf"},
		{"add empty", func(t *testing.T) error { return mustFaiss(t, "Flat", 4, L2).Add(gometric.Matrix{}) }, gometric.ErrShape, "empty"},
		{"add ragged", func(t *testing.T) error { return mustFaiss(t, "Flat", 4, L2).Add(ragged) }, gometric.ErrShape, "11 values"},
		{"train D mismatch", func(t *testing.T) error { return mustFaiss(t, "IVF2,Flat", 4, L2).Train(wide) }, gometric.ErrShape, "training set"},
		{"train too few points", func(t *testing.T) error { return mustFaiss(t, "IVF64,Flat", 4, L2).Train(good) }, gometric.ErrSetting, "training"},
		{"add untrained too few points", func(t *testing.T) error { return mustFaiss(t, "IVF64,Flat", 4, L2).Add(good) }, gometric.ErrSetting, "training"},
		{"search empty index", func(t *testing.T) error { _, err := mustFaiss(t, "Flat", 4, L2).Search(good, 1); return err }, gometric.ErrShape, "index is empty"},
		{"search D mismatch", func(t *testing.T) error { _, err := withRefs(t).Search(wide, 1); return err }, gometric.ErrShape, "query has 5 columns"},
		{"search NaN", func(t *testing.T) error { _, err := withRefs(t).Search(nan, 1); return err }, gometric.ErrNonFinite, "query has NaN"},
		{"search empty query", func(t *testing.T) error { _, err := withRefs(t).Search(gometric.Matrix{Cols: 4}, 1); return err }, gometric.ErrShape, "query is empty"},
		{"k 0", func(t *testing.T) error { _, err := withRefs(t).Search(good, 0); return err }, gometric.ErrSetting, "k = 0 outside [1, 20]"},
		{"k > Len", func(t *testing.T) error { _, err := withRefs(t).Search(good, 21); return err }, gometric.ErrSetting, "k = 21 outside [1, 20]"},
		{"unknown parameter", func(t *testing.T) error { return withRefs(t).SetParameter("noSuchParameter", 3) }, gometric.ErrSetting, "noSuchParameter"},
		{"closed search", func(t *testing.T) error {
			f := withRefs(t)
			f.Close()
			_, err := f.Search(good, 1)
			return err
		}, gometric.ErrSetting, "closed"},
		{"closed add", func(t *testing.T) error { f := withRefs(t); f.Close(); return f.Add(good) }, gometric.ErrSetting, "closed"},
		{"closed twice", func(t *testing.T) error { f := withRefs(t); f.Close(); return f.Close() }, nil, ""},
		{"kmeans k 0", func(t *testing.T) error { _, _, err := FaissKMeans(good, 0, 10, 1); return err }, gometric.ErrSetting, "k = 0 outside [1, 20]"},
		{"kmeans k > Len", func(t *testing.T) error { _, _, err := FaissKMeans(good, 21, 10, 1); return err }, gometric.ErrSetting, "k = 21 outside [1, 20]"},
		{"kmeans iter 0", func(t *testing.T) error { _, _, err := FaissKMeans(good, 2, 0, 1); return err }, gometric.ErrSetting, "iter = 0"},
		{"kmeans seed", func(t *testing.T) error { _, _, err := FaissKMeans(good, 2, 5, 1<<40); return err }, gometric.ErrSetting, "32-bit seed"},
		{"kmeans NaN", func(t *testing.T) error { _, _, err := FaissKMeans(nan, 2, 5, 1); return err }, gometric.ErrNonFinite, "knn.FaissKMeans: x has NaN"},
		{"kmeans empty", func(t *testing.T) error { _, _, err := FaissKMeans(gometric.Matrix{}, 1, 5, 1); return err }, gometric.ErrShape, "x is empty"},
		{"kmeans ragged", func(t *testing.T) error { _, _, err := FaissKMeans(ragged, 1, 5, 1); return err }, gometric.ErrShape, "11 values"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "knn.Faiss") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q: want prefix knn.Faiss and %q", err, tc.msg)
			}
		})
	}
}

// TestFaissConcurrentSearch runs searches from several goroutines (FAISS's
// search is const; Faiss allows it) and checks they agree.
func TestFaissConcurrentSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	ref, query := testkit.UniformMatrix(rng, 1000, 8), testkit.UniformMatrix(rng, 40, 8)
	f := mustFaiss(t, "Flat", 8, L2)
	if err := f.Add(ref); err != nil {
		t.Fatal(err)
	}
	want, err := f.Search(query, 5)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := f.Search(query, 5)
			if err == nil {
				for i := range got.Indices {
					if got.Indices[i] != want.Indices[i] || got.Distances[i] != want.Distances[i] {
						err = errors.New("concurrent search differs")
						break
					}
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// FuzzFaissSearch compares FAISS's flat index with the pure-Go exact search
// on small arbitrary inputs (values are multiples of 1/16 in [-8, 8), so
// exact ties are frequent); bad k must give the same kind of error.
func FuzzFaissSearch(f *testing.F) {
	f.Add([]byte{3, 10, 4, 2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30})
	f.Add([]byte{1, 5, 1, 5, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 4, 2, 0, 0, 255, 1, 128, 3})
	f.Add([]byte{4, 7, 3, 9, 1, 200, 100, 50, 25})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 5 {
			return
		}
		dim, nref, nq := int(b[0])%8+1, int(b[1])%40+1, int(b[2])%10+1
		k := int(b[3]) % (nref + 2) // 0 and nref+1 are invalid
		metric := Metric(b[4] % 2)
		vals := b[5:]
		fill := func(rows, off int) gometric.Matrix {
			m := gometric.Matrix{Rows: rows, Cols: dim, Data: make([]float32, rows*dim)}
			for i := range m.Data {
				if len(vals) > 0 {
					m.Data[i] = float32(int8(vals[(off+i)%len(vals)])) / 16
				}
			}
			return m
		}
		ref, query := fill(nref, 0), fill(nq, 7)
		idx, err := NewFaiss("Flat", dim, metric)
		if err != nil {
			t.Fatal(err)
		}
		defer idx.Close()
		if err := idx.Add(ref); err != nil {
			t.Fatal(err)
		}
		got, gotErr := idx.Search(query, k)
		want, wantErr := Search(query, ref, k, metric)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("FAISS error %v, exact error %v", gotErr, wantErr)
		}
		if gotErr != nil {
			if !errors.Is(gotErr, gometric.ErrSetting) || !errors.Is(wantErr, gometric.ErrSetting) {
				t.Fatalf("FAISS error %v, exact error %v: want ErrSetting", gotErr, wantErr)
			}
			return
		}
		faissCompare(t, query, ref, got, want, metric)
	})
}

// BenchmarkFaissFlatL2 is the FAISS reference: IndexFlatL2 with
// 100,000 × 128 references, 10,000 queries, k = 10. It takes seconds per
// iteration, so it runs only when -bench names it, e.g.
//
//	go test -tags faiss -run=^$ -bench=FaissFlatL2 -benchtime=1x ./utils/knn
func BenchmarkFaissFlatL2(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "FaissFlatL2") {
		b.Skip("slow: run with -bench=FaissFlatL2")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ref, query := testkit.UniformMatrix(rng, 100_000, 128), testkit.UniformMatrix(rng, 10_000, 128)
	idx := mustFaiss(b, "Flat", 128, L2)
	start := time.Now()
	if err := idx.Add(ref); err != nil {
		b.Fatal(err)
	}
	b.Logf("Add: %v", time.Since(start))
	b.ResetTimer()
	for b.Loop() {
		if _, err := idx.Search(query, 10); err != nil {
			b.Fatal(err)
		}
	}
}
