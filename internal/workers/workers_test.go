package workers

import (
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
)

func TestEach(t *testing.T) {
	for _, tc := range []struct{ workers, n int }{
		{0, 0}, {1, 0}, {0, 5}, {1, 5}, {2, 1}, {2, 7}, {4, 3}, {8, 1000}, {-3, 4},
	} {
		seen := make([]int32, tc.n)
		var maxW atomic.Int64
		Each(tc.workers, tc.n, func(w, i int) {
			atomic.AddInt32(&seen[i], 1)
			for {
				m := maxW.Load()
				if int64(w) <= m || maxW.CompareAndSwap(m, int64(w)) {
					break
				}
			}
			if w < 0 || w >= max(1, tc.workers) {
				t.Errorf("workers %d, n %d: worker index %d", tc.workers, tc.n, w)
			}
		})
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("workers %d, n %d: item %d ran %d times", tc.workers, tc.n, i, c)
			}
		}
		if lim := max(0, min(tc.workers, tc.n)-1); maxW.Load() > int64(lim) {
			t.Errorf("workers %d, n %d: worker %d used", tc.workers, tc.n, maxW.Load())
		}
	}
}

// A single worker runs the items in order on the caller.
func TestEachSerialOrder(t *testing.T) {
	var got []int
	Each(1, 6, func(w, i int) {
		if w != 0 {
			t.Fatalf("worker %d", w)
		}
		got = append(got, i)
	})
	if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5}) {
		t.Fatalf("order %v", got)
	}
}

func TestRanges(t *testing.T) {
	for _, tc := range []struct{ parts, n int }{{1, 10}, {3, 10}, {4, 2}, {8, 8}, {0, 3}, {3, 0}} {
		cover := make([]int32, tc.n)
		Ranges(tc.parts, tc.n, func(lo, hi int) {
			if lo >= hi || lo < 0 || hi > tc.n {
				t.Errorf("parts %d, n %d: range [%d, %d)", tc.parts, tc.n, lo, hi)
				return
			}
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&cover[i], 1)
			}
		})
		for i, c := range cover {
			if c != 1 {
				t.Fatalf("parts %d, n %d: index %d covered %d times", tc.parts, tc.n, i, c)
			}
		}
	}
}

func TestCount(t *testing.T) {
	p := runtime.GOMAXPROCS(0)
	if Count(0) != 1 || Count(1) != 1 || Count(1<<20) != p {
		t.Fatalf("Count: %d %d %d (GOMAXPROCS %d)", Count(0), Count(1), Count(1<<20), p)
	}
}
