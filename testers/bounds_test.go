package testers_test

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/testers"
)

// TestRunawaySizes: a BatchSize beyond the data set sizes nothing (the
// embeddings are those of any batch size), and an embedder's output is
// checked against the values it holds before it sizes the output (a
// declared 10^12 columns is an error, not an allocation).
func TestRunawaySizes(t *testing.T) {
	ds := blobs(t, 1, 12, 5, 3, 0, 0.5)
	enc := encoder(t, 5, 4)
	want, _, err := testers.NewGlobalEmbeddingSpace().Embeddings(context.Background(), enc, ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, bs := range []int{13, 1e9, 1e18, math.MaxInt} {
		g := testers.NewGlobalEmbeddingSpace()
		g.BatchSize = bs
		var got gometric.Matrix
		alloc := testkit.Allocated(func() { got, _, err = g.Embeddings(context.Background(), enc, ds) })
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("BatchSize %d: %v; want the embeddings of BatchSize 32", bs, err)
		}
		if alloc > 1<<20 {
			t.Errorf("BatchSize %d allocated %d KiB", bs, alloc>>10)
		}
	}
	for _, bad := range []gometric.Matrix{
		{Rows: 12, Cols: 1e12, Data: make([]float32, 48)},
		{Rows: 12, Cols: math.MaxInt, Data: make([]float32, 48)},
		{Rows: 1e12, Cols: 4, Data: make([]float32, 48)},
		{Rows: 12, Cols: 4, Data: make([]float32, 47)},
	} {
		lying := testers.EmbedFunc(func(gometric.Matrix) (gometric.Matrix, error) { return bad, nil })
		var err error
		alloc := testkit.Allocated(func() { _, _, err = testers.NewGlobalEmbeddingSpace().Embeddings(context.Background(), lying, ds) })
		if !errors.Is(err, gometric.ErrShape) || !strings.HasPrefix(err.Error(), "testers.GlobalEmbeddingSpace: ") {
			t.Errorf("embedder returning %d×%d with %d values: %v; want an ErrShape error", bad.Rows, bad.Cols, len(bad.Data), err)
		}
		if alloc > 1<<20 {
			t.Errorf("embedder returning %d×%d: allocated %d KiB", bad.Rows, bad.Cols, alloc>>10)
		}
	}
}

// TestExtremeLabels: labels such as 10^18, math.MaxInt and math.MinInt
// give exactly the metrics of small labels in the same order.
func TestExtremeLabels(t *testing.T) {
	ds := blobs(t, 1, 30, 5, 6, 0, 0.5)
	ext := relabelled{ds, testkit.Relabel(ds.Labels(), testkit.ExtremeLabels())}
	enc := encoder(t, 5, 4)
	g := testers.NewGlobalEmbeddingSpace()
	want, err := g.Test(context.Background(), enc, map[string]datasets.Dataset{"a": ds})
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Test(context.Background(), enc, map[string]datasets.Dataset{"a": ext})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("extreme labels give %v, small ones %v", got, want)
	}
}

// relabelled is a data set with other labels (datasets.Features refuses
// negative ones; a Dataset of one's own may hold any).
type relabelled struct {
	*datasets.Features
	labels []int
}

func (r relabelled) Labels() []int { return r.labels }

func (r relabelled) Batch(idx []int, dst gometric.Matrix) (gometric.Matrix, []int, error) {
	x, _, err := r.Features.Batch(idx, dst)
	out := make([]int, len(idx))
	for i, j := range idx {
		out[i] = r.labels[j]
	}
	return x, out, err
}
