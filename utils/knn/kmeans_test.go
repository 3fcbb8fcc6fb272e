package knn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// purity is the fraction of points whose cluster's majority class is their
// own class.
func purity(assign, truth []int, k int) float64 {
	counts := map[[2]int]int{}
	for i, a := range assign {
		counts[[2]int{a, truth[i]}]++
	}
	best := make([]int, k)
	for key, n := range counts {
		best[key[0]] = max(best[key[0]], n)
	}
	var sum int
	for _, n := range best {
		sum += n
	}
	return float64(sum) / float64(len(assign))
}

func TestKMeansRecoversBlobs(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const k, dim = 8, 16
	centres := gometric.Matrix{Rows: k, Cols: dim, Data: make([]float32, k*dim)}
	for i := range centres.Data {
		centres.Data[i] = float32(rng.Float64()*40 - 20)
	}
	x, truth := testkit.Blobs32(rng, centres, 60*k, 0.5)
	for _, seed := range []uint64{0, 1, 1234} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			assign, cent, err := KMeans(x, k, KMeansOptions{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			if p := purity(assign, truth, k); p != 1 {
				t.Fatalf("purity %v, want 1", p)
			}
			// Every centroid is the mean of its points, and every point is
			// assigned to its nearest centroid.
			for c := range k {
				mean := make([]float64, dim)
				var n int
				for i, a := range assign {
					if a == c {
						n++
						for l, v := range x.Row(i) {
							mean[l] += float64(v)
						}
					}
				}
				if n == 0 {
					t.Fatalf("cluster %d is empty", c)
				}
				for l := range mean {
					if d := math.Abs(mean[l]/float64(n) - float64(cent.Row(c)[l])); d > 1e-4 {
						t.Fatalf("centroid %d, coordinate %d is %v, the mean of its points is %v", c, l, cent.Row(c)[l], mean[l]/float64(n))
					}
				}
			}
			for i, a := range assign {
				keys := naiveKeys(x, cent, i, L2)
				if best := slices.Index(keys, slices.Min(keys)); best != a {
					t.Fatalf("point %d is in cluster %d but nearest to centroid %d", i, a, best)
				}
			}
		})
	}
}

func TestKMeansDeterminism(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	x := testkit.UniformMatrix(rng, 3000, 12) // no cluster structure: many iterations
	run := func(procs int, seed uint64) ([]int, gometric.Matrix) {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		a, c, err := KMeans(x, 10, KMeansOptions{Seed: seed, Iter: 5})
		if err != nil {
			t.Fatal(err)
		}
		return a, c
	}
	a1, c1 := run(1, 7)
	a2, c2 := run(2, 7)
	if !slices.Equal(a1, a2) || !slices.Equal(c1.Data, c2.Data) {
		t.Fatal("GOMAXPROCS 1 and 2 give different clusterings for one seed")
	}
	a3, _ := run(2, 8)
	if slices.Equal(a1, a3) {
		t.Fatal("seeds 7 and 8 give the same clustering of random data")
	}
}

// TestKMeansEmptyClusters uses fewer distinct points than clusters and a
// point set whose k-means++ start leaves clusters empty: KMeans must still
// return a valid assignment.
func TestKMeansEmptyClusters(t *testing.T) {
	tests := []struct {
		name string
		x    gometric.Matrix
		k    int
	}{
		{"duplicates", gometric.Matrix{Rows: 6, Cols: 2, Data: []float32{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2}}, 4},
		{"k = n", gometric.Matrix{Rows: 4, Cols: 1, Data: []float32{0, 1, 2, 10}}, 4},
		{"k = 1", gometric.Matrix{Rows: 3, Cols: 2, Data: []float32{0, 0, 2, 0, 4, 3}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assign, cent, err := KMeans(tc.x, tc.k, KMeansOptions{Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if len(assign) != tc.x.Rows || cent.Rows != tc.k || cent.Cols != tc.x.Cols || len(cent.Data) != tc.k*tc.x.Cols {
				t.Fatalf("shapes: %d assignments, %d×%d centroids", len(assign), cent.Rows, cent.Cols)
			}
			for i, a := range assign {
				if a < 0 || a >= tc.k {
					t.Fatalf("point %d in cluster %d", i, a)
				}
			}
			if tc.k == tc.x.Rows { // distinct points, one cluster each
				seen := map[int]bool{}
				for _, a := range assign {
					seen[a] = true
				}
				if len(seen) != tc.k {
					t.Fatalf("assignment %v, want every point in its own cluster", assign)
				}
			}
			if tc.k == 1 {
				want := []float32{2, 1}
				if !slices.Equal(cent.Data, want) {
					t.Fatalf("centroid %v, want %v", cent.Data, want)
				}
			}
		})
	}
}

func TestKMeansErrors(t *testing.T) {
	good := gometric.Matrix{Rows: 3, Cols: 2, Data: []float32{0, 0, 1, 1, 2, 2}}
	tests := []struct {
		name     string
		x        gometric.Matrix
		k        int
		opt      KMeansOptions
		sentinel error
	}{
		{"empty", gometric.Matrix{}, 1, KMeansOptions{}, gometric.ErrShape},
		{"ragged", gometric.Matrix{Rows: 2, Cols: 2, Data: []float32{1}}, 1, KMeansOptions{}, gometric.ErrShape},
		{"NaN", gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{float32(math.NaN())}}, 1, KMeansOptions{}, gometric.ErrNonFinite},
		{"overflow", gometric.Matrix{Rows: 1, Cols: 1, Data: []float32{1e38}}, 1, KMeansOptions{}, gometric.ErrNonFinite},
		{"k = 0", good, 0, KMeansOptions{}, gometric.ErrSetting},
		{"k > n", good, 4, KMeansOptions{}, gometric.ErrSetting},
		{"negative Iter", good, 2, KMeansOptions{Iter: -1}, gometric.ErrSetting},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := KMeans(tc.x, tc.k, tc.opt)
			if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(fmt.Sprint(err), "knn.KMeans: ") {
				t.Fatalf("got %v, want a \"knn.KMeans: \" error wrapping %v", err, tc.sentinel)
			}
		})
	}
}
