package serve

import (
	"errors"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/utils/knn"
)

func TestParseFaissParams(t *testing.T) {
	got, err := ParseFaissParams(" nprobe=16, efSearch = 128 ")
	if err != nil || !reflect.DeepEqual(got, []FaissParam{{"nprobe", 16}, {"efSearch", 128}}) {
		t.Errorf("%v %v", got, err)
	}
	if got, err := ParseFaissParams(""); got != nil || err != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"nprobe", "nprobe=", "=3", "nprobe=x", "nprobe=NaN", "nprobe=Inf", "a=1,a=2", "n-probe=1", "nprobe=1,", "nprobe=1e999"} {
		if _, err := ParseFaissParams(bad); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzParseFaissParams(f *testing.F) {
	f.Add("nprobe=16,efSearch=128")
	f.Add("a=1e3")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParseFaissParams(s)
		if err != nil {
			if !errors.Is(err, gometric.ErrSetting) {
				t.Fatal(err)
			}
			return
		}
		for _, p := range ps {
			if p.Name == "" || math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
				t.Fatalf("%+v", p)
			}
		}
	})
}

// TestOpenIndex: exact search without a FAISS file; with one, FAISS when
// built with it (the same neighbours for a Flat index), else exact search
// saying the file is ignored.
func TestOpenIndex(t *testing.T) {
	path, x := writeIndex(t, t.TempDir(), 300, 8, 9, 0.9)
	m, how, err := OpenIndex(path, "")
	if err != nil || how != "exact search" || m.Len() != 300 {
		t.Fatalf("%v %q %v", m, how, err)
	}
	if _, _, err := OpenIndex(path, "nprobe=4"); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("params without FAISS: %v", err)
	}
	q := [][]float32{x.Data[:8], x.Data[80:88]}
	want, err := m.NearestNeighbors(q, 5)
	if err != nil {
		t.Fatal(err)
	}
	f, err := knn.NewFaiss("Flat", 8, knn.L2)
	if !knn.FaissBuilt {
		if err := os.WriteFile(path+FaissSuffix, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, how, err := OpenIndex(path, ""); err != nil || !strings.Contains(how, "ignored") {
			t.Errorf("%q %v", how, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Add(x); err != nil {
		t.Fatal(err)
	}
	if err := f.Save(path + FaissSuffix); err != nil {
		t.Fatal(err)
	}
	fm, how, err := OpenIndex(path, "")
	if err != nil || !strings.Contains(how, "FAISS") {
		t.Fatalf("%q %v", how, err)
	}
	got, err := fm.NearestNeighbors(q, 5)
	if err != nil || !reflect.DeepEqual(got.Indices, want.Indices) {
		t.Errorf("FAISS Flat %v, exact %v (%v)", got.Indices, want.Indices, err)
	}
	if _, _, err := OpenIndex(path, "nprobe=4"); err == nil {
		t.Error("nprobe on a Flat index: no error")
	}
}
