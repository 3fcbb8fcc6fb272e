package inference

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

func TestLoadWith(t *testing.T) {
	rows := [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0}}
	m := NewModel(Rows)
	if err := m.Train(context.Background(), rows, []int{4, 5, 6, 7}); err != nil {
		t.Fatal(err)
	}
	m.MatchFinder.Threshold = 0.5
	path := filepath.Join(t.TempDir(), "x.gmidx")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	f, err := ReadIndexFile(path)
	if err != nil {
		t.Fatal(err)
	}
	idx := knn.NewExact(3, knn.L2)
	if err := idx.Add(f.Vectors); err != nil {
		t.Fatal(err)
	}
	got := NewModel(Rows)
	if err := got.LoadWith(path, idx); err != nil {
		t.Fatal(err)
	}
	want, _ := m.NearestNeighbors(rows, 2)
	res, err := got.NearestNeighbors(rows, 2)
	if err != nil || !slices.Equal(res.Indices, want.Indices) || got.Index() != knn.Index(idx) || got.MatchFinder.Threshold != 0.5 || !slices.Equal(got.Labels(), []int{4, 5, 6, 7}) {
		t.Errorf("%v %v", res, err)
	}
	short := knn.NewExact(3, knn.L2)
	short.Add(gometric.Matrix{Rows: 1, Cols: 3, Data: []float32{1, 0, 0}})
	ip := knn.NewExact(3, knn.InnerProduct)
	ip.Add(f.Vectors)
	var nilIdx *knn.Exact
	for _, tc := range []struct {
		idx  knn.Index
		path string
		want error
	}{
		{short, path, gometric.ErrShape},
		{knn.NewExact(4, knn.L2), path, gometric.ErrShape},
		{ip, path, gometric.ErrSetting},
		{nil, path, gometric.ErrSetting},
		{nilIdx, path, gometric.ErrSetting},
		{idx, filepath.Join(t.TempDir(), "none"), nil},
	} {
		before := got.Index()
		err := got.LoadWith(tc.path, tc.idx)
		if err == nil || tc.want != nil && !errors.Is(err, tc.want) || got.Index() != before {
			t.Errorf("%T %s: %v, want %v and the Model unchanged", tc.idx, tc.path, err, tc.want)
		}
	}
	var zero Model[[]float32]
	if err := zero.LoadWith(path, idx); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("zero Model: %v", err)
	}
}
