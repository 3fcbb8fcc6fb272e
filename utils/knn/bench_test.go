package knn

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/gemm"
	"github.com/gometric/gometric/internal/testkit"
)

// BenchmarkExactSearch is the benchmark: 10,000 queries against
// 100,000 references of dimension 128, k = 10, L2. It takes seconds per
// iteration, so it runs only when -bench names it explicitly, e.g.
//
//	go test -run=^$ -bench=ExactSearch -benchtime=1x ./utils/knn
func BenchmarkExactSearch(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "ExactSearch") {
		b.Skip("slow: run with -bench=ExactSearch")
	}
	b.Logf("GEMM %s, GOMAXPROCS %d", gemm.Impl(), runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(1, 2))
	ref, query := testkit.UniformMatrix(rng, 100_000, 128), testkit.UniformMatrix(rng, 10_000, 128)
	idx := NewExact(128, L2)
	if err := idx.Add(ref); err != nil {
		b.Fatal(err)
	}
	benchSearch(b, idx, query, 10)
}

// benchSearch times idx.Search(query, k), reporting GFLOP/s (of the GEMM's
// 2·queries·references·dim) and the CPU seconds per search over all
// threads, which on a shared machine shows the work done even when other
// processes slow the wall clock.
func benchSearch(b *testing.B, idx *Exact, query gometric.Matrix, k int) {
	cpu0, cpuOK := testkit.CPUTime()
	for b.Loop() {
		if _, err := idx.Search(query, k); err != nil {
			b.Fatal(err)
		}
	}
	flops := 2 * float64(query.Rows) * float64(idx.Len()) * float64(idx.Dim())
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu1, ok := testkit.CPUTime(); ok && cpuOK {
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	}
}

// BenchmarkExact times smaller searches (k = 10, dimension 128) with both
// metrics.
func BenchmarkExact(b *testing.B) {
	for _, sz := range [][2]int{{1000, 10_000}, {256, 100_000}} {
		for _, metric := range []Metric{L2, InnerProduct} {
			nq, nr := sz[0], sz[1]
			rng := rand.New(rand.NewPCG(3, 4))
			ref, query := testkit.UniformMatrix(rng, nr, 128), testkit.UniformMatrix(rng, nq, 128)
			idx := NewExact(128, metric)
			if err := idx.Add(ref); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%dx%d/%v", nq, nr, metric), func(b *testing.B) { benchSearch(b, idx, query, 10) })
		}
	}
}

// BenchmarkKMeans clusters 10,000 points of dimension 128 into 100
// clusters with the default 20 iterations, the AccuracyCalculator's NMI/AMI
// workload of the benchmark.
func BenchmarkKMeans(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	centres := testkit.UniformMatrix(rng, 100, 128)
	x := gometric.Matrix{Rows: 10_000, Cols: 128, Data: make([]float32, 10_000*128)}
	for i := range x.Rows {
		c := centres.Row(i % 100)
		for l := range x.Row(i) {
			x.Row(i)[l] = c[l] + float32(rng.NormFloat64()*0.1)
		}
	}
	cpu0, cpuOK := testkit.CPUTime()
	for b.Loop() {
		if _, _, err := KMeans(x, 100, KMeansOptions{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	if cpu1, ok := testkit.CPUTime(); ok && cpuOK {
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	}
}

// BenchmarkExactLargeK is the accuracy calculator's search on
// Fashion-MNIST's test set: 10,000 queries against 10,000 references of
// dimension 128, k = 1,000 (max_bin_count), L2, with the heap for every k
// (the selection before the threshold one) and with the selection the
// search uses. It takes seconds per iteration, so it runs only when -bench
// names it explicitly, e.g.
//
//	go test -run=^$ -bench=ExactLargeK -benchtime=1x -count=5 ./utils/knn
func BenchmarkExactLargeK(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "ExactLargeK") {
		b.Skip("slow: run with -bench=ExactLargeK")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	ref, query := testkit.UniformMatrix(rng, 10_000, 128), testkit.UniformMatrix(rng, 10_000, 128)
	idx := NewExact(128, L2)
	if err := idx.Add(ref); err != nil {
		b.Fatal(err)
	}
	for _, sel := range []struct {
		name     string
		heapMaxK int
	}{{"heap", math.MaxInt}, {"default", heapMaxK}} {
		b.Run("select="+sel.name, func(b *testing.B) {
			withHeapMaxK(sel.heapMaxK, func() { benchSearch(b, idx, query, 1000) })
		})
	}
}

// BenchmarkSelection compares the heap and the threshold selection over k
// (1,000 queries against 10,000 references of dimension 128, L2): the
// crossover heapMaxK is where the threshold selection starts to win.
func BenchmarkSelection(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	ref, query := testkit.UniformMatrix(rng, 10_000, 128), testkit.UniformMatrix(rng, 1000, 128)
	idx := NewExact(128, L2)
	if err := idx.Add(ref); err != nil {
		b.Fatal(err)
	}
	for _, k := range []int{8, 16, 32, 64, 100, 128, 1000} {
		for _, sel := range []struct {
			name     string
			heapMaxK int
		}{{"heap", math.MaxInt}, {"threshold", 0}} {
			b.Run(fmt.Sprintf("k=%d/%s", k, sel.name), func(b *testing.B) {
				withHeapMaxK(sel.heapMaxK, func() { benchSearch(b, idx, query, k) })
			})
		}
	}
}

// BenchmarkTopK times the selection alone, without the GEMM: the k best
// of 10,000 random keys offered in tiles of refTile, by the heap and by
// the threshold selection.
func BenchmarkTopK(b *testing.B) {
	const n = 10_000
	rng := rand.New(rand.NewPCG(11, 12))
	row, rnorm := make([]float32, n), make([]float32, n)
	for j := range row {
		row[j], rnorm[j] = -2*rng.Float32(), 1+rng.Float32()
	}
	for _, k := range []int{10, 32, 100, 1000} {
		keys, idx := make([]float32, k), make([]int, k)
		b.Run(fmt.Sprintf("k=%d/heap", k), func(b *testing.B) {
			for b.Loop() {
				for j := range keys {
					keys[j], idx[j] = float32(math.Inf(1)), math.MaxInt
				}
				for r0 := 0; r0 < n; r0 += refTile {
					r1 := min(n, r0+refTile)
					scanL2Fn(row[r0:r1], rnorm[r0:r1], 1, r0, keys, idx)
				}
				sortHeap(keys, idx)
			}
		})
		t := newTopk(1, k, n)
		b.Run(fmt.Sprintf("k=%d/threshold", k), func(b *testing.B) {
			for b.Loop() {
				t.reset(1)
				for r0 := 0; r0 < n; r0 += refTile {
					r1 := min(n, r0+refTile)
					t.cnt[0], t.bound[0], _ = bufL2Fn(row[r0:r1], rnorm[r0:r1], 1, r0, t.buf, t.cnt[0], t.bound[0], k, true)
				}
				finish(t.buf[:t.cnt[0]], t.tmp, keys, idx)
			}
		})
	}
}
