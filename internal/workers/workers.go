// Package workers is the library's one worker pool: a loop over items
// spread across goroutines, the calling goroutine among them. Every
// parallel pass of the library (GEMM, distance blocks, loss rows, kNN
// blocks, k-means, convolution batches, image decoding) goes through Each,
// so the rules are stated once: items are fixed by the caller (never by
// the number of goroutines), each writes only what it owns, and results do
// not depend on GOMAXPROCS.
package workers

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each calls fn(w, i) for every item i in [0, n), on min(workers, n)
// goroutines: the calling goroutine is worker 0 and workers−1 new ones are
// started. Items are handed out in increasing order from a shared counter;
// w in [0, workers) names the goroutine running the item, so that fn can
// keep per-worker scratch in a slice indexed by w. With workers ≤ 1 or
// n ≤ 1 every item runs on the caller, in order. Each returns when every
// item is done. fn must write only data owned by its item.
func Each(workers, n int, fn func(w, i int)) {
	workers = min(workers, n)
	if workers <= 1 {
		for i := range n {
			fn(0, i)
		}
		return
	}
	var next atomic.Int64
	loop := func(w int) {
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			fn(w, i)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Go(func() { loop(w) })
	}
	loop(0)
	wg.Wait()
}

// Count is the number of workers for items items: GOMAXPROCS, at most one
// per item, at least 1.
func Count(items int) int { return max(1, min(runtime.GOMAXPROCS(0), items)) }

// Ranges calls fn(lo, hi) for parts contiguous ranges that cover [0, n)
// (the k-th is [k·n/parts, (k+1)·n/parts)), on up to parts goroutines
// through Each. Empty ranges are skipped.
func Ranges(parts, n int, fn func(lo, hi int)) {
	parts = max(1, min(parts, n))
	Each(parts, parts, func(_, k int) {
		if lo, hi := k*n/parts, (k+1)*n/parts; lo < hi {
			fn(lo, hi)
		}
	})
}
