package knn_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/knn"
)

// concurrentSearch shares a filled index between goroutines searching it
// at once (run with -race): each gets the result of a lone search.
func concurrentSearch(t *testing.T, idx knn.Index) {
	t.Helper()
	rng := rand.New(rand.NewPCG(8, 8))
	ref, q := testkit.NormalMatrix(rng, 200, 6), testkit.NormalMatrix(rng, 30, 6)
	if err := idx.Add(ref); err != nil {
		t.Fatal(err)
	}
	want, err := idx.Search(q, 5)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 4, 3, func(int) error {
		got, err := idx.Search(q, 5)
		if err != nil || !reflect.DeepEqual(got, want) || idx.Len() != 200 {
			return fmt.Errorf("%T: concurrent search %v", idx, err)
		}
		return nil
	})
}

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
func TestConcurrencyClaims(t *testing.T) {
	exact := func(t *testing.T) {
		concurrentSearch(t, knn.NewExact(6, knn.L2))
		concurrentSearch(t, knn.NewExact(6, knn.InnerProduct))
	}
	faiss := func(t *testing.T) {
		f, err := knn.NewFaiss("Flat", 6, knn.L2)
		if !knn.FaissBuilt {
			// The stub holds nothing: its methods may be called at once.
			testkit.Concurrently(t, 4, 20, func(int) error {
				if _, err := f.Search(testkit.NormalMatrix(rand.New(rand.NewPCG(1, 1)), 2, 6), 1); err == nil || f.Len() != 0 || f.Dim() != 0 {
					return fmt.Errorf("stub search: %v", err)
				}
				return nil
			})
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		concurrentSearch(t, f)
	}
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Exact", Run: exact},
		{Type: "Faiss", Run: faiss},
		// The interface's claim is about Exact and Faiss.
		{Type: "Index", Run: func(t *testing.T) { exact(t); faiss(t) }},
		{Type: "Result", Run: exact},
		{Type: "Metric", Run: func(t *testing.T) {
			m := knn.InnerProduct
			testkit.Concurrently(t, 4, 20, func(int) error {
				if m.String() == knn.L2.String() {
					return fmt.Errorf("metric %v", m)
				}
				return nil
			})
		}},
		{Type: "KMeansOptions", Run: func(t *testing.T) {
			opt := knn.KMeansOptions{Iter: 5, Seed: 3}
			x := testkit.NormalMatrix(rand.New(rand.NewPCG(2, 2)), 60, 3)
			want, _, err := knn.KMeans(x, 4, opt)
			if err != nil {
				t.Fatal(err)
			}
			testkit.Concurrently(t, 4, 2, func(int) error {
				got, _, err := knn.KMeans(x, 4, opt)
				if err != nil || !reflect.DeepEqual(got, want) {
					return fmt.Errorf("concurrent KMeans: %v", err)
				}
				return nil
			})
		}},
	})
}
