package losses_test

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/losses"
)

// benchBatch is the batch of ../shared/bench: n random normal d-dimensional
// embeddings, classes of 8 consecutive rows.
func benchBatch(n, d int) losses.Batch {
	rng := rand.New(rand.NewPCG(1, 1))
	labels := make([]int, n)
	for i := range labels {
		labels[i] = i / 8
	}
	return losses.Batch{Embeddings: testkit.NormalDense(rng, n, d), Labels: labels}
}

// benchLoss times forward + backward calls as a training loop makes them:
// each call reuses the previous result's gradient matrices (Batch.Reuse),
// as torch's caching allocator reuses the memory of PML's gradients.
func benchLoss(b *testing.B, loss losses.Loss, batch losses.Batch) {
	b.Helper()
	b.ReportAllocs()
	var res losses.Result
	for b.Loop() {
		batch.Reuse = &res
		var err error
		if res, err = loss.Compute(batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTripletMarginAll is PML's bench case "TripletMarginLoss (all
// triplets)": 256×128, 32 classes × 8 (56,448 triplets), Lp distance,
// forward and backward (PML median 28 ms, float32, 2 threads).
func BenchmarkTripletMarginAll(b *testing.B) {
	benchLoss(b, losses.NewTripletMargin(), benchBatch(256, 128))
}

// BenchmarkContrastive is PML's bench case "ContrastiveLoss": 256×128,
// 32 classes × 8, Lp distance, forward and backward (PML median 2.3 ms).
func BenchmarkContrastive(b *testing.B) {
	benchLoss(b, losses.NewContrastive(), benchBatch(256, 128))
}

// BenchmarkTripletMarginAll1024 runs TripletMargin with all triplets on
// 1024×128 embeddings, 128 classes × 8 (7,282,688 triplets), and reports
// the bytes one call allocates (peak-B: an upper bound of its peak extra
// memory, the run's TotalAlloc growth measured with a single call).
func BenchmarkTripletMarginAll1024(b *testing.B) {
	loss, batch := losses.NewTripletMargin(), benchBatch(1024, 128)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := loss.Compute(batch); err != nil {
		b.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	peak := float64(after.TotalAlloc - before.TotalAlloc)
	benchLoss(b, loss, batch)
	b.ReportMetric(peak, "peak-B")
}

// BenchmarkDynamicSoftMargin runs DynamicSoftMargin with all triplets on
// the 256×128 batch (32 classes × 8); every call updates the histogram.
func BenchmarkDynamicSoftMargin(b *testing.B) {
	benchLoss(b, losses.NewDynamicSoftMargin(), benchBatch(256, 128))
}
