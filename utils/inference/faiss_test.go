//go:build faiss

package inference

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/gometric/gometric/utils/knn"
)

// TestFaissIndex: a file saved from the default exact index loads into a
// FAISS IndexFlatL2 / IndexFlatIP (Model.NewIndex) and finds the same
// neighbours.
func TestFaissIndex(t *testing.T) {
	data := newBlobs(8, 4, 25, 6)
	for _, metric := range []knn.Metric{knn.L2, knn.InnerProduct} {
		m := NewModel(data.embed)
		m.Metric = metric
		if err := m.Train(context.Background(), ids(0, 80), data.labels[:80]); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "idx")
		if err := m.Save(path); err != nil {
			t.Fatal(err)
		}
		f := NewModel(data.embed)
		f.NewIndex = func(dim int, metric knn.Metric) (knn.Index, error) {
			return knn.NewFaiss("Flat", dim, metric)
		}
		if err := f.Load(path); err != nil {
			t.Fatal(err)
		}
		if _, ok := f.Index().(*knn.Faiss); !ok {
			t.Fatalf("index is %T", f.Index())
		}
		a, err := m.NearestNeighbors(ids(80, 100), 8)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.NearestNeighbors(ids(80, 100), 8)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameNeighbours(a, b, 1e-5); err != nil {
			t.Errorf("%v: exact and FAISS disagree: %v", metric, err)
		}
	}
}
