package knn

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
)

// TestZeroAndNil: the zero value of every exported struct either equals
// its constructor's behaviour or is refused with ErrSetting naming the
// constructor; nil receivers return errors (or zero values, for methods
// without an error).
func TestZeroAndNil(t *testing.T) {
	x := gometric.Matrix{Rows: 4, Cols: 2, Data: []float32{0, 0, 1, 0, 0, 1, 5, 5}}
	var nilExact *Exact
	var nilFaiss *Faiss
	tests := []struct {
		name string
		call func() error
		want error  // nil: must succeed
		ctor string // the constructor the error must name
	}{
		{"Exact{}.Add", func() error { return (&Exact{}).Add(x) }, gometric.ErrSetting, "NewExact"},
		{"Exact{}.Search", func() error { _, err := (&Exact{}).Search(x, 1); return err }, gometric.ErrSetting, "NewExact"},
		{"nil Exact.Add", func() error { return nilExact.Add(x) }, gometric.ErrSetting, ""},
		{"nil Exact.Search", func() error { _, err := nilExact.Search(x, 1); return err }, gometric.ErrSetting, ""},
		{"nil Exact getters", func() error {
			if nilExact.Len() != 0 || nilExact.Dim() != 0 || nilExact.Metric() != L2 {
				return errors.New("nil Exact getters are not zero")
			}
			return nil
		}, nil, ""},
		{"Faiss{}.Add", func() error { return (&Faiss{}).Add(x) }, faissWant(), faissCtor()},
		{"Faiss{}.Search", func() error { _, err := (&Faiss{}).Search(x, 1); return err }, faissWant(), faissCtor()},
		{"Faiss{}.Train", func() error { return (&Faiss{}).Train(x) }, faissWant(), faissCtor()},
		{"Faiss{}.SetParameter", func() error { return (&Faiss{}).SetParameter("nprobe", 1) }, faissWant(), faissCtor()},
		{"nil Faiss.Add", func() error { return nilFaiss.Add(x) }, faissWant(), ""},
		{"nil Faiss.Search", func() error { _, err := nilFaiss.Search(x, 1); return err }, faissWant(), ""},
		{"nil Faiss.Train", func() error { return nilFaiss.Train(x) }, faissWant(), ""},
		{"nil Faiss.SetParameter", func() error { return nilFaiss.SetParameter("nprobe", 1) }, faissWant(), ""},
		{"nil Faiss getters and Close", func() error {
			if nilFaiss.Len() != 0 || nilFaiss.Dim() != 0 || nilFaiss.Metric() != L2 || nilFaiss.IsTrained() || nilFaiss.Description() != "" {
				return errors.New("nil Faiss getters are not zero")
			}
			return nilFaiss.Close()
		}, nil, ""},
		{"Faiss{}.Close", func() error { return (&Faiss{}).Close() }, nil, ""},
		{"KMeansOptions{} is Iter DefaultKMeansIter, seed 0", func() error {
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
		}, nil, ""},
		{"KMeansOptions{Iter: -1}", func() error { _, _, err := KMeans(x, 2, KMeansOptions{Iter: -1}); return err }, gometric.ErrSetting, ""},
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
