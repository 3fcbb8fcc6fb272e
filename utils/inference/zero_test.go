package inference

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/knn"
	"gonum.org/v1/gonum/mat"
)

// TestZeroAndNil: the zero value of every exported struct either behaves as
// its constructor's value or is refused with ErrSetting naming the
// constructor; nil receivers return errors (or zero values, for methods
// without an error). Every exported struct type is covered (checked
// against the source), and every type's doc says whether it is safe for
// concurrent use.
func TestZeroAndNil(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"Calibration", "IndexBound", "IndexFile", "Match", "MatchFinder", "Model", "Threshold"})
	testkit.CheckConcurrencyDocs(t, ".")
	data := newBlobs(13, 2, 4, 3)
	for _, c := range []struct {
		ptr  reflect.Type
		zero any // a value not made by the constructor
		ctor string
	}{
		{reflect.TypeFor[*Model[int]](), &Model[int]{Embed: data.embed}, "NewModel"},
		{reflect.TypeFor[*MatchFinder](), &MatchFinder{}, "NewMatchFinder"},
	} {
		for method, err := range testkit.NilReceiver(t, c.ptr) {
			if !errors.Is(err, gometric.ErrSetting) {
				t.Errorf("nil %v: %s: %v, want ErrSetting", c.ptr, method, err)
			}
		}
		for _, refused := range []map[string]error{testkit.ZeroValue(t, c.ptr), testkit.Refused(t, c.zero)} {
			for method, err := range refused {
				if !errors.Is(err, gometric.ErrSetting) || !strings.Contains(err.Error(), c.ctor) {
					t.Errorf("zero %v: %s: %v, want an ErrSetting naming %s", c.ptr, method, err, c.ctor)
				}
			}
		}
	}
	// The zero IndexBound is an L2 bound of 0: only exact duplicates
	// match.
	if b := (IndexBound{}); !b.Match(0) || b.Match(1e-30) {
		t.Errorf("zero IndexBound %+v: Match(0) %v, Match(1e-30) %v", b, b.Match(0), b.Match(1e-30))
	}
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
	testkit.RunErrorCases(t, []testkit.ErrorCase{
		{Name: "Model{}.Train", Call: func() error { return zeroModel().Train(ctx, ids(0, 2), nil) }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.Add", Call: func() error { return zeroModel().Add(ctx, ids(0, 2), nil) }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.Embeddings", Call: func() error { _, err := zeroModel().Embeddings(ctx, ids(0, 2)); return err }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.NearestNeighbors", Call: func() error { _, err := zeroModel().NearestNeighbors(ids(0, 2), 1); return err }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.MatchingNeighbors", Call: func() error { _, err := zeroModel().MatchingNeighbors(ids(0, 2), 1); return err }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.Mask", Call: func() error { _, err := zeroModel().Mask(ids(0, 2), nil); return err }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.Matches", Call: func() error { _, err := zeroModel().Matches(ids(0, 2), nil); return err }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.IsMatch", Call: func() error { _, err := zeroModel().IsMatch(ids(0, 2), ids(2, 4)); return err }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.Calibrate", Call: func() error {
			_, err := zeroModel().Calibrate(ids(0, 2), ids(2, 4), []bool{true, false})
			return err
		}, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.Save", Call: func() error { return zeroModel().Save(path) }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "Model{}.Load", Call: func() error { return zeroModel().Load(path) }, Want: gometric.ErrSetting, Ctor: "NewModel"},
		{Name: "nil Model.Train", Call: func() error { return nilModel.Train(ctx, ids(0, 2), nil) }, Want: gometric.ErrSetting},
		{Name: "nil Model.Add", Call: func() error { return nilModel.Add(ctx, ids(0, 2), nil) }, Want: gometric.ErrSetting},
		{Name: "nil Model.Embeddings", Call: func() error { _, err := nilModel.Embeddings(ctx, ids(0, 2)); return err }, Want: gometric.ErrSetting},
		{Name: "nil Model.NearestNeighbors", Call: func() error { _, err := nilModel.NearestNeighbors(ids(0, 2), 1); return err }, Want: gometric.ErrSetting},
		{Name: "nil Model.MatchingNeighbors", Call: func() error { _, err := nilModel.MatchingNeighbors(ids(0, 2), 1); return err }, Want: gometric.ErrSetting},
		{Name: "nil Model.Mask", Call: func() error { _, err := nilModel.Mask(ids(0, 2), nil); return err }, Want: gometric.ErrSetting},
		{Name: "nil Model.Matches", Call: func() error { _, err := nilModel.Matches(ids(0, 2), nil); return err }, Want: gometric.ErrSetting},
		{Name: "nil Model.IsMatch", Call: func() error { _, err := nilModel.IsMatch(ids(0, 2), ids(2, 4)); return err }, Want: gometric.ErrSetting},
		{Name: "nil Model.Calibrate", Call: func() error { _, err := nilModel.Calibrate(ids(0, 2), ids(2, 4), []bool{true, false}); return err }, Want: gometric.ErrSetting},
		{Name: "nil Model.Save", Call: func() error { return nilModel.Save(path) }, Want: gometric.ErrSetting},
		{Name: "nil Model.Load", Call: func() error { return nilModel.Load(path) }, Want: gometric.ErrSetting},
		{Name: "nil Model getters", Call: func() error {
			if nilModel.Index() != nil || nilModel.Len() != 0 || nilModel.Labels() != nil {
				return errors.New("nil Model getters are not zero")
			}
			return nil
		}},
		{Name: "MatchFinder{}.Mask", Call: func() error { _, err := (&MatchFinder{}).Mask(x, nil); return err }, Want: gometric.ErrSetting, Ctor: "NewMatchFinder"},
		{Name: "MatchFinder{}.Matches", Call: func() error { _, err := (&MatchFinder{}).Matches(x, nil); return err }, Want: gometric.ErrSetting, Ctor: "NewMatchFinder"},
		{Name: "MatchFinder{}.IsMatch", Call: func() error { _, err := (&MatchFinder{}).IsMatch(x, x); return err }, Want: gometric.ErrSetting, Ctor: "NewMatchFinder"},
		{Name: "MatchFinder{}.Calibrate", Call: func() error { _, err := (&MatchFinder{}).Calibrate(x, x, []bool{true, false}); return err }, Want: gometric.ErrSetting, Ctor: "NewMatchFinder"},
		{Name: "MatchFinder{}.IndexThreshold", Call: func() error { _, err := (&MatchFinder{}).IndexThreshold(); return err }, Want: gometric.ErrSetting, Ctor: "NewMatchFinder"},
		{Name: "nil MatchFinder.Mask", Call: func() error { _, err := nilFinder.Mask(x, nil); return err }, Want: gometric.ErrSetting},
		{Name: "nil MatchFinder.Matches", Call: func() error { _, err := nilFinder.Matches(x, nil); return err }, Want: gometric.ErrSetting},
		{Name: "nil MatchFinder.IsMatch", Call: func() error { _, err := nilFinder.IsMatch(x, x); return err }, Want: gometric.ErrSetting},
		{Name: "nil MatchFinder.Calibrate", Call: func() error { _, err := nilFinder.Calibrate(x, x, []bool{true, false}); return err }, Want: gometric.ErrSetting},
		{Name: "nil MatchFinder.IndexThreshold", Call: func() error { _, err := nilFinder.IndexThreshold(); return err }, Want: gometric.ErrSetting},
		{Name: "NewMatchFinder(nil, 0.9) is the Model's default", Call: func() error {
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
		}},
		{Name: "IndexFile{}", Call: func() error { return WriteIndex(&bytes.Buffer{}, IndexFile{}) }, Want: gometric.ErrShape},
		{Name: "Threshold{}", Call: func() error { _, err := (Threshold{}).Bound(knn.L2, true); return err }, Want: gometric.ErrSetting},
		{Name: "Calibration{} and Match{} are plain results", Call: func() error {
			if (Calibration{}).Threshold != 0 || (Match{}).Value != 0 {
				return errors.New("unexpected zero values")
			}
			return nil
		}},
	})
}
