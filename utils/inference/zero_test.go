package inference

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
)

// TestZeroAndNil: the zero value of every exported struct either behaves as
// its constructor's value or is refused with ErrSetting naming the
// constructor; nil receivers return errors (or zero values, for methods
// without an error).
func TestZeroAndNil(t *testing.T) {
	data := newBlobs(13, 2, 4, 3)
	ctx := context.Background()
	x := mat.NewDense(2, 2, []float64{1, 0, 0, 1})
	path := filepath.Join(t.TempDir(), "idx")
	trained := NewModel(data.embed)
	if err := trained.Train(ctx, ids(0, 8), nil); err != nil {
		t.Fatal(err)
	}
	if err := trained.Save(path); err != nil {
		t.Fatal(err)
	}
	var nilModel *Model[int]
	var nilFinder *MatchFinder
	zeroModel := func() *Model[int] { return &Model[int]{Embed: data.embed} }
	tests := []struct {
		name string
		call func() error
		want error
		ctor string
	}{
		{"Model{}.Train", func() error { return zeroModel().Train(ctx, ids(0, 2), nil) }, gometric.ErrSetting, "NewModel"},
		{"Model{}.Add", func() error { return zeroModel().Add(ctx, ids(0, 2), nil) }, gometric.ErrSetting, "NewModel"},
		{"Model{}.Embeddings", func() error { _, err := zeroModel().Embeddings(ctx, ids(0, 2)); return err }, gometric.ErrSetting, "NewModel"},
		{"Model{}.NearestNeighbors", func() error { _, err := zeroModel().NearestNeighbors(ids(0, 2), 1); return err }, gometric.ErrSetting, "NewModel"},
		{"Model{}.MatchingNeighbors", func() error { _, err := zeroModel().MatchingNeighbors(ids(0, 2), 1); return err }, gometric.ErrSetting, "NewModel"},
		{"Model{}.Mask", func() error { _, err := zeroModel().Mask(ids(0, 2), nil); return err }, gometric.ErrSetting, "NewModel"},
		{"Model{}.Matches", func() error { _, err := zeroModel().Matches(ids(0, 2), nil); return err }, gometric.ErrSetting, "NewModel"},
		{"Model{}.IsMatch", func() error { _, err := zeroModel().IsMatch(ids(0, 2), ids(2, 4)); return err }, gometric.ErrSetting, "NewModel"},
		{"Model{}.Calibrate", func() error {
			_, err := zeroModel().Calibrate(ids(0, 2), ids(2, 4), []bool{true, false})
			return err
		}, gometric.ErrSetting, "NewModel"},
		{"Model{}.Save", func() error { return zeroModel().Save(path) }, gometric.ErrSetting, "NewModel"},
		{"Model{}.Load", func() error { return zeroModel().Load(path) }, gometric.ErrSetting, "NewModel"},
		{"nil Model.Train", func() error { return nilModel.Train(ctx, ids(0, 2), nil) }, gometric.ErrSetting, ""},
		{"nil Model.Add", func() error { return nilModel.Add(ctx, ids(0, 2), nil) }, gometric.ErrSetting, ""},
		{"nil Model.Embeddings", func() error { _, err := nilModel.Embeddings(ctx, ids(0, 2)); return err }, gometric.ErrSetting, ""},
		{"nil Model.NearestNeighbors", func() error { _, err := nilModel.NearestNeighbors(ids(0, 2), 1); return err }, gometric.ErrSetting, ""},
		{"nil Model.MatchingNeighbors", func() error { _, err := nilModel.MatchingNeighbors(ids(0, 2), 1); return err }, gometric.ErrSetting, ""},
		{"nil Model.Mask", func() error { _, err := nilModel.Mask(ids(0, 2), nil); return err }, gometric.ErrSetting, ""},
		{"nil Model.Matches", func() error { _, err := nilModel.Matches(ids(0, 2), nil); return err }, gometric.ErrSetting, ""},
		{"nil Model.IsMatch", func() error { _, err := nilModel.IsMatch(ids(0, 2), ids(2, 4)); return err }, gometric.ErrSetting, ""},
		{"nil Model.Calibrate", func() error { _, err := nilModel.Calibrate(ids(0, 2), ids(2, 4), []bool{true, false}); return err }, gometric.ErrSetting, ""},
		{"nil Model.Save", func() error { return nilModel.Save(path) }, gometric.ErrSetting, ""},
		{"nil Model.Load", func() error { return nilModel.Load(path) }, gometric.ErrSetting, ""},
		{"nil Model getters", func() error {
			if nilModel.Index() != nil || nilModel.Len() != 0 || nilModel.Labels() != nil {
				return errors.New("nil Model getters are not zero")
			}
			return nil
		}, nil, ""},
		{"MatchFinder{}.Mask", func() error { _, err := (&MatchFinder{}).Mask(x, nil); return err }, gometric.ErrSetting, "NewMatchFinder"},
		{"MatchFinder{}.Matches", func() error { _, err := (&MatchFinder{}).Matches(x, nil); return err }, gometric.ErrSetting, "NewMatchFinder"},
		{"MatchFinder{}.IsMatch", func() error { _, err := (&MatchFinder{}).IsMatch(x, x); return err }, gometric.ErrSetting, "NewMatchFinder"},
		{"MatchFinder{}.Calibrate", func() error { _, err := (&MatchFinder{}).Calibrate(x, x, []bool{true, false}); return err }, gometric.ErrSetting, "NewMatchFinder"},
		{"MatchFinder{}.IndexThreshold", func() error { _, err := (&MatchFinder{}).IndexThreshold(); return err }, gometric.ErrSetting, "NewMatchFinder"},
		{"nil MatchFinder.Mask", func() error { _, err := nilFinder.Mask(x, nil); return err }, gometric.ErrSetting, ""},
		{"nil MatchFinder.Matches", func() error { _, err := nilFinder.Matches(x, nil); return err }, gometric.ErrSetting, ""},
		{"nil MatchFinder.IsMatch", func() error { _, err := nilFinder.IsMatch(x, x); return err }, gometric.ErrSetting, ""},
		{"nil MatchFinder.Calibrate", func() error { _, err := nilFinder.Calibrate(x, x, []bool{true, false}); return err }, gometric.ErrSetting, ""},
		{"nil MatchFinder.IndexThreshold", func() error { _, err := nilFinder.IndexThreshold(); return err }, gometric.ErrSetting, ""},
		{"NewMatchFinder(nil, 0.9) is the Model's default", func() error {
			a, err := NewMatchFinder(nil, DefaultThreshold).Mask(x, nil)
			if err != nil {
				return err
			}
			m := NewModel(data.embed)
			m.MatchFinder = nil
			b, err := m.Mask(ids(0, 4), nil)
			if err != nil {
				return err
			}
			c, err := NewModel(data.embed).Mask(ids(0, 4), nil)
			if err != nil || !equalMasks(b, c) || len(a) != 2 {
				return errors.New("a nil MatchFinder differs from the default")
			}
			return nil
		}, nil, ""},
		{"IndexFile{}", func() error { return WriteIndex(&bytes.Buffer{}, IndexFile{}) }, gometric.ErrShape, ""},
		{"Threshold{}", func() error { _, err := (Threshold{}).Bound(knn.L2, true); return err }, gometric.ErrSetting, ""},
		{"Calibration{} and Match{} are plain results", func() error {
			if (Calibration{}).Threshold != 0 || (Match{}).Value != 0 {
				return errors.New("unexpected zero values")
			}
			return nil
		}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.ctor != "" && !strings.Contains(err.Error(), tc.ctor) {
				t.Errorf("error %q does not name %s", err, tc.ctor)
			}
		})
	}
}
