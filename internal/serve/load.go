package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/gometric/gometric"
)

// LoadConfig is an open-loop load: Rate requests per second for Duration,
// each a POST of Body(i) to URL, whatever the latency of the earlier ones
// (so a slow server meets queued requests, not a politely waiting client).
// It is a plain value, safe for concurrent reads.
type LoadConfig struct {
	URL      string
	Rate     float64
	Duration time.Duration
	// Body returns request i's JSON body; it is called from one goroutine.
	Body func(i int) []byte
	// Client sends the requests; nil means a client with 256 idle
	// connections per host.
	Client *http.Client
	// During, when not nil, runs once the load has started, beside it (e.g.
	// reloads of the index); its error is LoadResult.DuringErr.
	During func(ctx context.Context) error
}

// LoadResult is what Load measured. It is a plain value, safe for
// concurrent reads.
type LoadResult struct {
	Requests, Errors int
	// FirstError is the first failed request's error or status and body.
	FirstError    string
	P50, P99, Max time.Duration
	Elapsed       time.Duration
	// HeapBefore and HeapAfter are the live heap (runtime.MemStats
	// HeapAlloc after a GC) before and after the load, of this process.
	HeapBefore, HeapAfter uint64
	DuringErr             error
}

// String is the result on one line.
func (r LoadResult) String() string {
	return fmt.Sprintf("%d requests in %.1f s (%.0f/s), %d errors, latency p50 %v p99 %v max %v, heap %.1f → %.1f MiB",
		r.Requests, r.Elapsed.Seconds(), float64(r.Requests)/r.Elapsed.Seconds(), r.Errors,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond),
		float64(r.HeapBefore)/(1<<20), float64(r.HeapAfter)/(1<<20))
}

func liveHeap() uint64 {
	runtime.GC()
	runtime.GC() // sync.Pools keep their victims through one GC
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Load runs the load and returns its figures; a request fails when it
// errors or answers other than 200 OK.
func Load(parent context.Context, c LoadConfig) (LoadResult, error) {
	if parent == nil || c.URL == "" || !(c.Rate > 0) || c.Duration <= 0 || c.Body == nil {
		return LoadResult{}, fmt.Errorf("serve.Load: want a URL, a positive rate and duration and a body: %w", gometric.ErrSetting)
	}
	client := c.Client
	if client == nil {
		client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}, Timeout: time.Minute}
	}
	n := int(c.Rate * c.Duration.Seconds())
	if n < 1 {
		n = 1
	}
	res := LoadResult{HeapBefore: liveHeap()}
	lat := make([]time.Duration, n)
	failed := make([]bool, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var during sync.WaitGroup
	if c.During != nil {
		during.Add(1)
		go func() {
			defer during.Done()
			res.DuringErr = c.During(ctx)
		}()
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / c.Rate)
	sent := 0
	for i := range n {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		body := c.Body(i)
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			fail := ""
			resp, err := client.Post(c.URL, "application/json", bytes.NewReader(body))
			if err != nil {
				fail = err.Error()
			} else {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail = fmt.Sprintf("%s: %s", resp.Status, b)
				}
			}
			lat[i] = time.Since(t0)
			if fail != "" {
				mu.Lock()
				failed[i] = true
				if res.FirstError == "" {
					res.FirstError = fail
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	cancel()
	during.Wait()
	lat = lat[:sent]
	res.Requests = sent
	for _, f := range failed[:sent] {
		if f {
			res.Errors++
		}
	}
	slices.Sort(lat)
	if sent > 0 {
		res.P50, res.P99, res.Max = lat[sent/2], lat[min(sent-1, sent*99/100)], lat[sent-1]
	}
	res.HeapAfter = liveHeap()
	return res, parent.Err()
}
