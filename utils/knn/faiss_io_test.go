//go:build faiss

package knn

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// TestFaissSaveLoad: IVF, HNSW and PQ indexes saved in FAISS's format load
// back giving the same results, and their recall against exact search is
// reported.
func TestFaissSaveLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	x := testkit.NormalMatrix(rng, 4000, 32)
	q := testkit.NormalMatrix(rng, 50, 32)
	exact, err := Search(q, x, 10, L2)
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range []string{"Flat", "IVF64,Flat", "HNSW16", "IVF16,PQ4x4"} {
		t.Run(desc, func(t *testing.T) {
			f, err := NewFaiss(desc, 32, L2)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := f.Add(x); err != nil {
				t.Fatal(err)
			}
			want, err := f.Search(q, 10)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "x.faiss")
			if err := f.Save(path); err != nil {
				t.Fatal(err)
			}
			g, err := LoadFaiss(path)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if g.Len() != 4000 || g.Dim() != 32 || g.Metric() != L2 || !g.IsTrained() {
				t.Errorf("loaded %d × %d %v trained %v", g.Len(), g.Dim(), g.Metric(), g.IsTrained())
			}
			got, err := g.Search(q, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Indices, want.Indices) || !slices.Equal(got.Distances, want.Distances) {
				t.Errorf("loaded index searches differently")
			}
			r, err := Recall(got, exact)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: recall@10 against exact search %.3f", desc, r)
			if desc == "Flat" && r != 1 {
				t.Errorf("Flat recall %v", r)
			}
		})
	}
	ip, err := NewFaiss("Flat", 4, InnerProduct)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ip.faiss")
	if err := ip.Save(path); err != nil {
		t.Fatal(err)
	}
	if g, err := LoadFaiss(path); err != nil || g.Metric() != InnerProduct || g.Len() != 0 {
		t.Errorf("inner product: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.faiss")
	os.WriteFile(bad, []byte("IxF2 not a faiss file"), 0o644)
	if _, err := LoadFaiss(bad); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("bad file: %v", err)
	}
	if _, err := LoadFaiss(filepath.Join(t.TempDir(), "none")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := LoadFaiss(t.TempDir()); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("a directory: %v", err)
	}
	var nilF *Faiss
	if err := nilF.Save(path); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil Save: %v", err)
	}
	ip.Close()
	if err := ip.Save(path); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("closed Save: %v", err)
	}
}
