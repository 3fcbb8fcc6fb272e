package accuracy_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/knn"
)

// clusteredData is PML's benchmark set (../shared/tools/pml_bench.py):
// classes×perClass rows of dimension d, each a random normal class centre
// plus 1.5 × normal noise, labels in blocks.
func clusteredData(classes, perClass, d int, seed uint64) (gometric.Matrix, []int) {
	rng := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, classes*d)
	for i := range centres {
		centres[i] = rng.NormFloat64()
	}
	n := classes * perClass
	x := gometric.Matrix{Rows: n, Cols: d, Data: make([]float32, n*d)}
	labels := make([]int, n)
	for i := range n {
		c := i / perClass
		labels[i] = int(c)
		for j := range d {
			x.Data[i*d+j] = float32(centres[c*d+j] + 1.5*rng.NormFloat64())
		}
	}
	return x, labels
}

// BenchmarkCalculator10k is PML's AccuracyCalculator benchmark: 10,000 × 128
// embeddings from 100 classes of 100, query = reference, k =
// "max_bin_count", all seven metrics, default kNN and k-means. It reports
// the wall time of the kNN search, of k-means and of the rest (validation,
// label statistics, the seven metrics) per call, and the process CPU time
// per call.
func BenchmarkCalculator10k(b *testing.B) {
	benchCalculator10k(b, accuracy.ExactKNN, accuracy.DefaultKMeans)
}

// BenchmarkCalculator10kClasses10 is BenchmarkCalculator10k with 10
// classes of 1,000, the shape of Fashion-MNIST's test set: k =
// "max_bin_count" is then 1,000 (1,001 with the query itself), the kNN
// search's large-k case.
func BenchmarkCalculator10kClasses10(b *testing.B) {
	benchCalculatorData(b, 10, 1000, accuracy.ExactKNN, accuracy.DefaultKMeans)
}

func benchCalculator10k(b *testing.B, search accuracy.KNNFunc, kmeans accuracy.KMeansFunc) {
	benchCalculatorData(b, 100, 100, search, kmeans)
}

func benchCalculatorData(b *testing.B, classes, perClass int, search accuracy.KNNFunc, kmeans accuracy.KMeansFunc) {
	x, labels := clusteredData(classes, perClass, 128, 1)
	var tKNN, tKMeans time.Duration
	calc := &accuracy.Calculator{
		K: accuracy.KMaxBinCount(),
		KNN: func(q, r gometric.Matrix, k int) (knn.Result, error) {
			t0 := time.Now()
			defer func() { tKNN += time.Since(t0) }()
			return search(q, r, k)
		},
		KMeans: func(x gometric.Matrix, k int) ([]int, error) {
			t0 := time.Now()
			defer func() { tKMeans += time.Since(t0) }()
			return kmeans(x, k)
		},
	}
	var res accuracy.Results
	var err error
	n := 0
	cpu0, cpuOK := testkit.CPUTime()
	for b.Loop() {
		if res, err = calc.SelfAccuracy(x, labels); err != nil {
			b.Fatal(err)
		}
		n++
	}
	total := b.Elapsed()
	if cpu1, ok := testkit.CPUTime(); ok && cpuOK {
		// CPU time is less sensitive than wall time to other processes on
		// a shared machine (on 2 idle cores, wall ≈ CPU / 2).
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(n), "cpu-s/op")
	}
	ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 / float64(n) }
	b.ReportMetric(ms(tKNN), "knn-ms/op")
	b.ReportMetric(ms(tKMeans), "kmeans-ms/op")
	b.ReportMetric(ms(total-tKNN-tKMeans), "metrics-ms/op")
	for _, name := range res.Names() {
		b.Logf("%s = %.6f", name, res[name].Scalar)
	}
}
