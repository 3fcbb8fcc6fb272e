package testkit

import (
	"fmt"
	"slices"
	"testing"

	"github.com/gometric/gometric"
)

func TestClaimsSafe(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want bool
	}{
		{"A Range is a plain value, safe for concurrent use.", true},
		{"It is plain data, safe for concurrent reads.", true},
		{"With a nil Rand (the default) Mine is safe for concurrent use, as long as the fields are not changed meanwhile; with a seeded Rand it is not.", true},
		{"It is as safe for concurrent use as the function it wraps.", true},
		{"Search may be called concurrently; Add takes a lock.", true},
		{"Exact and Faiss allow concurrent Search calls.", true},
		{"A Stream may be reduced by several goroutines at once when its Each may be called concurrently.", true},
		{"OpenSession is safe for concurrent use; each session it returns is not.", true},
		{"The zero value is refused. An X is safe\nfor concurrent\tuse.", true},
		{"A session is not safe for concurrent use.", false},
		{"A DynamicSoftMargin is therefore not safe for concurrent use.", false},
		{"An implementation need not be safe for concurrent use: an Objective calls it from one goroutine at a time.", false},
		{"It must be safe for concurrent use only if epochs are drawn concurrently.", false},
		{"Each implementation's doc says whether it is safe for concurrent use.", false},
		{"A Calculator used from several goroutines calls it concurrently.", false},
		{"The tester never calls Embed concurrently.", false},
		{"Other is a concurrent-safe value.", true},
		{"It is not concurrency-safe.", false},
		{"", false},
	} {
		if got := ClaimsSafe(tc.doc); got != tc.want {
			t.Errorf("ClaimsSafe(%q) = %v, want %v", tc.doc, got, tc.want)
		}
	}
	// The fixture package; Grouped says nothing.
	if got, want := SafeTypes(t, "testdata/types"), []string{"Generic", "Other", "Outer", "Tagged"}; !slices.Equal(got, want) {
		t.Errorf("SafeTypes = %v, want %v", got, want)
	}
}

// TestConcurrencyClaims backs this package's own claims (run with -race)
// and checks that every type says whether it is safe for concurrent use.
func TestConcurrencyClaims(t *testing.T) {
	CheckConcurrencyDocs(t, ".")
	RunConcurrentCases(t, ".", []ConcurrentCase{
		{Type: "RawDataset", Run: func(t *testing.T) {
			ds := &RawDataset{Dim: 2, Values: []float32{1, 2, 3, 4, 5, 6}, SampleLabels: []int{7, 8, 9}}
			Concurrently(t, 4, 20, func(g int) error {
				x, l, err := ds.Batch([]int{g % 3, 2}, gometric.Matrix{})
				if err != nil || ds.Len() != 3 || l[1] != 9 || x.Data[2] != 5 {
					return fmt.Errorf("batch %v %v %v", x, l, err)
				}
				return nil
			})
		}},
		{Type: "CUBImage", Run: func(t *testing.T) {
			im := CUBImage{ID: 3, Class: 2, Rel: "002.Bird_2/a.jpg", JPEG: []byte{1, 2}}
			Concurrently(t, 4, 20, func(int) error {
				if c := im; c.ID != 3 || c.Rel != im.Rel || len(c.JPEG) != 2 {
					return fmt.Errorf("copy differs")
				}
				return nil
			})
		}},
		{Type: "Cars196Image", Run: func(t *testing.T) {
			im := Cars196Image{Class: 2, Test: true, File: "00001.jpg", JPEG: []byte{1, 2}}
			Concurrently(t, 4, 20, func(int) error {
				if c := im; c.Class != 2 || !c.Test || c.File != im.File || len(c.JPEG) != 2 || Cars196Dir(c.Class) != "Make 002 C-V Van 2012" {
					return fmt.Errorf("copy differs")
				}
				return nil
			})
		}},
		{Type: "SOPImage", Run: func(t *testing.T) {
			im := SOPImage{ID: 1, Class: 5, SuperClass: 2, Rel: "cabinet_final/5_0.JPG", JPEG: []byte{1, 2}}
			Concurrently(t, 4, 20, func(int) error {
				if c := im; c.ID != 1 || c.Class != 5 || c.SuperClass != 2 || c.Rel != im.Rel || len(c.JPEG) != 2 {
					return fmt.Errorf("copy differs")
				}
				return nil
			})
		}},
		{Type: "INatImage", Run: func(t *testing.T) {
			im := INatImage{ID: 7, Category: 3, Split: "test", Rel: "train_val2018/Plantae/3/a.jpg", JPEG: []byte{1}}
			Concurrently(t, 4, 20, func(int) error {
				if c := im; c.ID != 7 || c.Category != 3 || c.Split != "test" || c.Rel != im.Rel {
					return fmt.Errorf("copy differs")
				}
				return nil
			})
		}},
		{Type: "Type", Run: func(t *testing.T) {
			types := ExportedTypes(t, "testdata/types")
			Concurrently(t, 4, 20, func(int) error {
				for _, ty := range types {
					if _, ok := ty.Method("nope"); ok || ty.HasMethods() != (len(ty.Methods) > 0) {
						return fmt.Errorf("type %s", ty.Name)
					}
				}
				return nil
			})
		}},
		{Type: "Method", Run: func(t *testing.T) {
			var ms []Method
			for _, ty := range ExportedTypes(t, "testdata/types") {
				ms = append(ms, ty.Methods...)
			}
			Concurrently(t, 4, 20, func(int) error {
				for _, m := range ms {
					if m.Name == "" || m.Type == nil {
						return fmt.Errorf("method %+v", m)
					}
				}
				return nil
			})
		}},
	})
}
