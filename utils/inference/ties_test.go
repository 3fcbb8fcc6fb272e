package inference

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gometric/gometric/utils/knn"
)

// tieIndexes are the index builders the tie tests run: the default exact
// index (nil NewIndex) and, with the faiss tag, FAISS's IndexFlatL2 (see
// ties_faiss_test.go).
var tieIndexes = []struct {
	name     string
	newIndex func(dim int, metric knn.Metric) (knn.Index, error)
}{
	{"Exact", nil},
}

// TestNearestNeighborsTies: references tied at the k-th place (PML's
// InferenceModel.get_nearest_neighbors) come in increasing index order,
// k = 1 included, before and after the index is saved and loaded. The
// coordinates are small integers (embeddings not normalised), so the
// tied distances are exact.
func TestNearestNeighborsTies(t *testing.T) {
	refs := [][]float32{
		{3, 0, 0}, // 0: distance 9
		{1, 0, 0}, // 1: 1
		{0, 1, 0}, // 2: 1
		{0, 0, 0}, // 3: 0, the query's duplicate
		{0, 0, 1}, // 4: 1
		{0, 0, 0}, // 5: 0
		{1, 0, 0}, // 6: 1
		{0, 0, 0}, // 7: 0
	}
	query := [][]float32{{0, 0, 0}, {0, 0, 0}}
	order := []int{3, 5, 7, 1, 2, 4, 6, 0}
	for _, ix := range tieIndexes {
		t.Run(ix.name, func(t *testing.T) {
			m := NewModel(Rows)
			m.NormalizeEmbeddings = false
			m.NewIndex = ix.newIndex
			if err := m.Train(context.Background(), refs, nil); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "ties.idx")
			if err := m.Save(path); err != nil {
				t.Fatal(err)
			}
			loaded := NewModel(Rows)
			loaded.NormalizeEmbeddings = false
			loaded.NewIndex = ix.newIndex
			if err := loaded.Load(path); err != nil {
				t.Fatal(err)
			}
			for _, k := range []int{1, 2, 4, 5, 6, 8} {
				for name, mm := range map[string]*Model[[]float32]{"trained": m, "loaded": loaded} {
					res, err := mm.NearestNeighbors(query, k)
					if err != nil {
						t.Fatal(err)
					}
					want := slices.Concat(order[:k], order[:k])
					if res.K != k || !slices.Equal(res.Indices, want) {
						t.Errorf("%s k=%d: %v, want %v (distances %v)", name, k, res.Indices, want, res.Distances)
					}
				}
			}
		})
	}
}

// TestMatchingNeighborsTies: MatchingNeighbors keeps the k nearest in the
// index's order, so of several references tied at the k-th place the
// smaller indices are the ones matched.
func TestMatchingNeighborsTies(t *testing.T) {
	refs := [][]float32{
		{0, 1, 0}, // 0: cos 0
		{2, 0, 0}, // 1: cos 1 (normalised: the query)
		{1, 0, 0}, // 2: cos 1
		{0, 0, 1}, // 3: cos 0
		{5, 0, 0}, // 4: cos 1
	}
	for _, ix := range tieIndexes {
		for _, k := range []int{1, 2, 3, 4} {
			t.Run(fmt.Sprintf("%s/k=%d", ix.name, k), func(t *testing.T) {
				m := NewModel(Rows)
				m.NewIndex = ix.newIndex
				if err := m.Train(context.Background(), refs, nil); err != nil {
					t.Fatal(err)
				}
				got, err := m.MatchingNeighbors([][]float32{{3, 0, 0}}, k)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int
				for _, g := range got {
					ids = append(ids, g.Ref)
				}
				if want := []int{1, 2, 4}[:min(k, 3)]; !slices.Equal(ids, want) {
					t.Errorf("matched %v, want %v", ids, want)
				}
			})
		}
	}
}
