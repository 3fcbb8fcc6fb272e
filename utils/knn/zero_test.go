package knn

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// TestZeroAndNil: the zero value of every exported struct either equals
// its constructor's behaviour or is refused with ErrSetting naming the
// constructor; nil receivers return errors (or zero values, for methods
// without an error). Every exported struct type is covered (checked
// against the source), and every type's doc says whether it is safe for
// concurrent use.
func TestZeroAndNil(t *testing.T) {
	testkit.CheckListed(t, ".", []string{"Exact", "Faiss", "KMeansOptions", "Result"})
	testkit.CheckConcurrencyDocs(t, ".")
	for _, c := range []struct {
		ptr  reflect.Type
		want error  // what every method with an error result returns
		ctor string // the constructor a zero value's errors name
	}{
		{reflect.TypeFor[*Exact](), gometric.ErrSetting, "NewExact"},
		{reflect.TypeFor[*Faiss](), faissWant(), faissCtor()},
	} {
		// Close has nothing to release: nil for a nil or zero Faiss
		// (checked below).
		for method, err := range testkit.NilReceiver(t, c.ptr, "Close") {
			if !errors.Is(err, c.want) {
				t.Errorf("nil %v: %s: %v, want %v", c.ptr, method, err, c.want)
			}
		}
		for method, err := range testkit.ZeroValue(t, c.ptr, "Close") {
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.ctor) {
				t.Errorf("zero %v: %s: %v, want %v naming %s", c.ptr, method, err, c.want, c.ctor)
			}
		}
	}
	// The zero Result holds no neighbours.
	if r := (Result{}); r.K != 0 || r.Indices != nil || r.Distances != nil {
		t.Errorf("zero Result %+v", r)
	}
	x := gometric.Matrix{Rows: 4, Cols: 2, Data: []float32{0, 0, 1, 0, 0, 1, 5, 5}}
	var nilExact *Exact
	var nilFaiss *Faiss
	testkit.RunErrorCases(t, []testkit.ErrorCase{
		{Name: "Exact{}.Add", Call: func() error { return (&Exact{}).Add(x) }, Want: gometric.ErrSetting, Ctor: "NewExact"},
		{Name: "Exact{}.Search", Call: func() error { _, err := (&Exact{}).Search(x, 1); return err }, Want: gometric.ErrSetting, Ctor: "NewExact"},
		{Name: "nil Exact.Add", Call: func() error { return nilExact.Add(x) }, Want: gometric.ErrSetting},
		{Name: "nil Exact.Search", Call: func() error { _, err := nilExact.Search(x, 1); return err }, Want: gometric.ErrSetting},
		{Name: "nil Exact getters", Call: func() error {
			if nilExact.Len() != 0 || nilExact.Dim() != 0 || nilExact.Metric() != L2 {
				return errors.New("nil Exact getters are not zero")
			}
			return nil
		}},
		{Name: "Faiss{}.Add", Call: func() error { return (&Faiss{}).Add(x) }, Want: faissWant(), Ctor: faissCtor()},
		{Name: "Faiss{}.Search", Call: func() error { _, err := (&Faiss{}).Search(x, 1); return err }, Want: faissWant(), Ctor: faissCtor()},
		{Name: "Faiss{}.Train", Call: func() error { return (&Faiss{}).Train(x) }, Want: faissWant(), Ctor: faissCtor()},
		{Name: "Faiss{}.SetParameter", Call: func() error { return (&Faiss{}).SetParameter("nprobe", 1) }, Want: faissWant(), Ctor: faissCtor()},
		{Name: "nil Faiss.Add", Call: func() error { return nilFaiss.Add(x) }, Want: faissWant()},
		{Name: "nil Faiss.Search", Call: func() error { _, err := nilFaiss.Search(x, 1); return err }, Want: faissWant()},
		{Name: "nil Faiss.Train", Call: func() error { return nilFaiss.Train(x) }, Want: faissWant()},
		{Name: "nil Faiss.SetParameter", Call: func() error { return nilFaiss.SetParameter("nprobe", 1) }, Want: faissWant()},
		{Name: "nil Faiss getters and Close", Call: func() error {
			if nilFaiss.Len() != 0 || nilFaiss.Dim() != 0 || nilFaiss.Metric() != L2 || nilFaiss.IsTrained() || nilFaiss.Description() != "" {
				return errors.New("nil Faiss getters are not zero")
			}
			return nilFaiss.Close()
		}},
		{Name: "Faiss{}.Close", Call: func() error { return (&Faiss{}).Close() }},
		{Name: "KMeansOptions{} is Iter DefaultKMeansIter, seed 0", Call: func() error {
			a1, c1, err := KMeans(x, 2, KMeansOptions{})
			if err != nil {
				return err
			}
			a2, c2, err := KMeans(x, 2, KMeansOptions{Iter: DefaultKMeansIter, Seed: 0})
			if err != nil {
				return err
			}
			if !reflect.DeepEqual(a1, a2) || !reflect.DeepEqual(c1, c2) {
				return errors.New("zero KMeansOptions differ from the defaults")
			}
			return nil
		}},
		{Name: "KMeansOptions{Iter: -1}", Call: func() error { _, _, err := KMeans(x, 2, KMeansOptions{Iter: -1}); return err }, Want: gometric.ErrSetting},
	})
}

// faissWant is the error of a zero or nil Faiss: ErrSetting with FAISS,
// ErrUnsupported without it.
func faissWant() error {
	if FaissBuilt {
		return gometric.ErrSetting
	}
	return gometric.ErrUnsupported
}

// faissCtor is the constructor a zero Faiss's error names.
func faissCtor() string {
	if FaissBuilt {
		return "NewFaiss"
	}
	return "faiss tag"
}
