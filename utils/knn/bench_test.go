package knn

import (
	"flag"
	"fmt"
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
