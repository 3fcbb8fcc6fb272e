package inference

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
)

// lyingIndex is an index whose searches return a fixed result.
type lyingIndex struct {
	knn.Index
	res knn.Result
}

func (l *lyingIndex) Search(gometric.Matrix, int) (knn.Result, error) { return l.res, nil }

// TestBadInputs: hostile arguments to the package's public API give an
// error wrapping the right sentinel, never a panic or a silent result.
func TestBadInputs(t *testing.T) {
	ctx := context.Background()
	data := newBlobs(13, 3, 10, 4)
	trained := NewModel(data.embedNoCount)
	if err := trained.Train(ctx, ids(0, 20), data.labels[:20]); err != nil {
		t.Fatal(err)
	}
	lying := func(res knn.Result) *Model[int] {
		m := NewModel(data.embedNoCount)
		m.NewIndex = func(dim int, metric knn.Metric) (knn.Index, error) {
			return &lyingIndex{Index: knn.NewExact(dim, metric), res: res}, nil
		}
		if err := m.Train(ctx, ids(0, 5), nil); err != nil {
			t.Fatal(err)
		}
		return m
	}
	one := IndexFile{Vectors: gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{1}}}
	x := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	type row struct {
		name     string
		call     func() error
		sentinel error
	}
	var rows []row
	for _, k := range []int{0, -1, math.MaxInt, math.MinInt, 21, 1 << 40} {
		rows = append(rows,
			row{fmt.Sprintf("NearestNeighbors k=%d", k), func() error { _, err := trained.NearestNeighbors(ids(20, 22), k); return err }, gometric.ErrSetting},
			row{fmt.Sprintf("MatchingNeighbors k=%d", k), func() error { _, err := trained.MatchingNeighbors(ids(20, 22), k); return err }, gometric.ErrSetting})
	}
	for _, bs := range []int{0, -1, math.MinInt} {
		rows = append(rows, row{fmt.Sprintf("BatchSize=%d", bs), func() error {
			m := NewModel(data.embedNoCount)
			m.BatchSize = bs
			return m.Train(ctx, ids(0, 3), nil)
		}, gometric.ErrSetting})
	}
	rows = append(rows,
		row{"ReadIndex nil", func() error { _, err := ReadIndex(nil); return err }, gometric.ErrSetting},
		row{"ReadIndex typed nil", func() error { _, err := ReadIndex((*bytes.Reader)(nil)); return err }, gometric.ErrSetting},
		row{"WriteIndex nil", func() error { return WriteIndex(nil, one) }, gometric.ErrSetting},
		row{"WriteIndex typed nil", func() error { return WriteIndex((*bytes.Buffer)(nil), one) }, gometric.ErrSetting},
		row{"WriteIndex empty labels", func() error {
			f := one
			f.Labels = []int{}
			return WriteIndex(&bytes.Buffer{}, f)
		}, gometric.ErrLabels},
		row{"WriteIndex zero threshold", func() error {
			f := one
			f.Threshold = &Threshold{}
			return WriteIndex(&bytes.Buffer{}, f)
		}, gometric.ErrSetting},
		row{"WriteIndex NaN threshold", func() error {
			f := one
			f.Threshold = &Threshold{Measure: MeasureCosine, Value: math.NaN()}
			return WriteIndex(&bytes.Buffer{}, f)
		}, gometric.ErrSetting},
		row{"WriteIndex huge rows", func() error {
			return WriteIndex(&bytes.Buffer{}, IndexFile{Vectors: gometric.Matrix{Rows: math.MaxInt, Cols: 1, Data: []float32{1}}})
		}, gometric.ErrShape},
		row{"index returns MaxInt", func() error {
			_, err := lying(knn.Result{Indices: []int{math.MaxInt}, Distances: []float32{0}}).MatchingNeighbors(ids(0, 1), 1)
			return err
		}, gometric.ErrIndex},
		row{"index returns -5", func() error {
			_, err := lying(knn.Result{Indices: []int{-5}, Distances: []float32{0}}).MatchingNeighbors(ids(0, 1), 1)
			return err
		}, gometric.ErrIndex},
		row{"index returns too few", func() error {
			_, err := lying(knn.Result{Indices: []int{0}, Distances: []float32{0}}).MatchingNeighbors(ids(0, 1), 3)
			return err
		}, gometric.ErrShape},
		row{"MatchFinder NaN threshold", func() error { _, err := NewMatchFinder(nil, math.NaN()).Mask(x, nil); return err }, gometric.ErrSetting},
		row{"MatchFinder nil query", func() error { _, err := NewMatchFinder(nil, 0.5).Matches(nil, nil); return err }, gometric.ErrShape},
		row{"MatchFinder NaN query", func() error {
			_, err := NewMatchFinder(nil, 0.5).Mask(mat.NewDense(1, 1, []float64{math.NaN()}), nil)
			return err
		}, gometric.ErrNonFinite},
		row{"Calibrate label count", func() error { _, err := NewMatchFinder(nil, 0.5).Calibrate(x, x, []bool{true}); return err }, gometric.ErrLabels},
		row{"Calibrate NaN value", func() error { _, err := Calibrate([]float64{math.NaN()}, []bool{true}, false); return err }, gometric.ErrNonFinite},
		row{"Bound NaN", func() error {
			_, err := Threshold{Measure: MeasureCosine, Value: math.NaN()}.Bound(knn.L2, true)
			return err
		}, gometric.ErrSetting},
		row{"Bound unknown metric", func() error { _, err := Threshold{Measure: MeasureCosine}.Bound(knn.Metric(99), true); return err }, gometric.ErrSetting},
		row{"Rows ragged", func() error { _, err := Rows([][]float32{{1}, nil}); return err }, gometric.ErrShape},
		row{"Embed too many columns", func() error {
			m := NewModel(func(b []int) (gometric.Matrix, error) {
				return gometric.Matrix{Rows: len(b), Cols: math.MaxInt, Data: []float32{1}}, nil
			})
			return m.Train(ctx, ids(0, 2), nil)
		}, gometric.ErrShape},
	)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var err error
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("panic: %v", p)
					}
				}()
				err = r.call()
			}()
			if !errors.Is(err, r.sentinel) {
				t.Errorf("err = %v, want %v", err, r.sentinel)
			}
		})
	}
}

// TestExtremeLabels: labels are data, never indices: 1e18, math.MaxInt,
// math.MinInt and -1 are kept, saved and loaded exactly.
func TestExtremeLabels(t *testing.T) {
	ctx := context.Background()
	data := newBlobs(13, 2, 4, 3)
	labels := []int{1e18, math.MaxInt, math.MinInt, -1}
	m := NewModel(data.embedNoCount)
	if err := m.Train(ctx, ids(0, 2), labels[:2]); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(ctx, ids(2, 4), labels[2:]); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "idx")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	loaded := NewModel(data.embedNoCount)
	if err := loaded.Load(path); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(loaded.Labels(), labels) {
		t.Errorf("labels %v, want %v", loaded.Labels(), labels)
	}
	if _, err := loaded.MatchingNeighbors(ids(0, 2), 4); err != nil {
		t.Error(err)
	}
}
