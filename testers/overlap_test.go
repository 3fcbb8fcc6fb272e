package testers_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
)

// gatedDataset signals each Batch call on started.
type gatedDataset struct {
	testkit.RawDataset
	started chan int
	calls   atomic.Int64
}

func (g *gatedDataset) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	g.started <- int(g.calls.Add(1))
	return g.RawDataset.Batch(idx, dst)
}

// TestBatchOverlapsEmbed: the next batch is read while the current one is
// embedded — Embed of batch k returns only once Batch of batch k+1 has
// started, which would never happen if the two ran one after the other —
// and the embeddings are those of a sequential run; a failing Batch or
// Embed stops the pass with its error, no Batch call outliving it.
func TestBatchOverlapsEmbed(t *testing.T) {
	const n, dim, bs = 10, 2, 3
	raw := testkit.RawDataset{Dim: dim, Values: make([]float32, n*dim), SampleLabels: make([]int, n)}
	for i := range raw.Values {
		raw.Values[i] = float32(i)
	}
	ds := &gatedDataset{RawDataset: raw, started: make(chan int, 16)}
	batches := 0
	enc := testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) {
		batches++
		<-ds.started // this batch's own Batch call
		if batches < (n+bs-1)/bs {
			select {
			case <-ds.started: // the next batch's, started meanwhile
				ds.started <- 0 // give it back to the next Embed
			case <-time.After(10 * time.Second):
				return gometric.Matrix{}, errors.New("the next batch was not read while this one was embedded")
			}
		}
		return x.Clone(), nil
	})
	g := testers.NewGlobalEmbeddingSpace()
	g.BatchSize, g.Normalize = bs, false
	m, _, err := g.Embeddings(context.Background(), enc, ds)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range m.Data {
		if v != float32(i) {
			t.Fatalf("embedding value %d = %v, want %d", i, v, i)
		}
	}

	boom := errors.New("boom")
	for _, failAt := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("Batch %d fails", failAt), func(t *testing.T) {
			var calls, active atomic.Int64
			ds := &failing{RawDataset: raw, failAt: failAt, err: boom, calls: &calls, active: &active}
			_, _, err := g.Embeddings(context.Background(), testers.EmbedFunc(func(x gometric.Matrix) (gometric.Matrix, error) { return x.Clone(), nil }), ds)
			if !errors.Is(err, boom) {
				t.Errorf("err = %v, want boom", err)
			}
			if active.Load() != 0 {
				t.Errorf("a Batch call outlived Embeddings")
			}
		})
	}
}

// failing fails its failAt-th Batch call, each call taking a moment.
type failing struct {
	testkit.RawDataset
	failAt        int
	err           error
	calls, active *atomic.Int64
}

func (f *failing) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	f.active.Add(1)
	defer f.active.Add(-1)
	time.Sleep(time.Millisecond)
	if int(f.calls.Add(1)) == f.failAt {
		return gometric.Matrix{}, nil, f.err
	}
	return f.RawDataset.Batch(idx, dst)
}
