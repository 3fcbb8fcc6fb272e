package distributed

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/utils/knn"
)

// TestSearchShardedEqualsUnsharded splits references (with duplicated rows,
// so that distances tie) unevenly between the ranks, an empty shard
// included, and checks that the merged top-k equals the search of one
// index holding them all: the same indices and the same distances.
func TestSearchShardedEqualsUnsharded(t *testing.T) {
	for _, w := range worlds() {
		for _, metric := range []knn.Metric{knn.L2, knn.InnerProduct} {
			t.Run(fmt.Sprintf("%s/%v", w.name, metric), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(11, uint64(w.size)))
				const dim, nq = 6, 9
				ref := testkit.NormalMatrix(rng, 40, dim)
				for i := 20; i < 30; i++ { // ties: rows 20..29 repeat rows 0..9
					copy(ref.Row(i), ref.Row(i-20))
				}
				query := testkit.NormalMatrix(rng, nq, dim)
				copy(query.Row(0), ref.Row(3))
				// Shard boundaries: uneven, the last rank's shard empty
				// when there are 4.
				cuts := []int{0}
				for r := 1; r < w.size; r++ {
					cuts = append(cuts, min(40, r*40/w.size+r))
				}
				cuts = append(cuts, 40)
				if w.size == 4 {
					cuts[3] = 40
				}
				for _, k := range []int{1, 3, 7, 40} {
					want, err := knn.Search(query, ref, k, metric)
					if err != nil {
						t.Fatal(err)
					}
					w.run(t, func(c Communicator) error {
						r := c.Rank()
						shard := knn.NewExact(dim, metric)
						if lo, hi := cuts[r], cuts[r+1]; hi > lo {
							part := gometric.Matrix{Rows: hi - lo, Cols: dim, Data: ref.Data[lo*dim : hi*dim]}
							if err := shard.Add(part); err != nil {
								return err
							}
						}
						got, err := SearchSharded(c, shard, query, k)
						if err != nil {
							return err
						}
						if got.K != k || !slices.Equal(got.Indices, want.Indices) || !slices.Equal(got.Distances, want.Distances) {
							return fmt.Errorf("k=%d rank %d:\n got %v %v\nwant %v %v", k, r, got.Indices, got.Distances, want.Indices, want.Distances)
						}
						return nil
					})
				}
			})
		}
	}
}

// TestSearchShardedErrors checks that bad input fails every rank.
func TestSearchShardedErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	q := testkit.NormalMatrix(rng, 2, 3)
	if _, err := SearchSharded(nil, nil, q, 1); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("nil shard: %v", err)
	}
	cases := []struct {
		name string
		f    func(r int) (knn.Index, gometric.Matrix, int)
	}{
		{"k too large", func(r int) (knn.Index, gometric.Matrix, int) {
			s := knn.NewExact(3, knn.L2)
			s.Add(testkit.NormalMatrix(rng, 2, 3))
			return s, q, 5
		}},
		{"k zero", func(r int) (knn.Index, gometric.Matrix, int) {
			s := knn.NewExact(3, knn.L2)
			s.Add(testkit.NormalMatrix(rng, 2, 3))
			return s, q, 0
		}},
		{"dimension differs on rank 1", func(r int) (knn.Index, gometric.Matrix, int) {
			s := knn.NewExact(3+r, knn.L2)
			s.Add(testkit.NormalMatrix(rng, 2, 3+r))
			qq := testkit.NormalMatrix(rng, 2, 3+r)
			return s, qq, 1
		}},
		{"metric differs", func(r int) (knn.Index, gometric.Matrix, int) {
			s := knn.NewExact(3, knn.Metric(r))
			s.Add(testkit.NormalMatrix(rng, 2, 3))
			return s, q, 1
		}},
		{"empty query on rank 0", func(r int) (knn.Index, gometric.Matrix, int) {
			s := knn.NewExact(3, knn.L2)
			s.Add(testkit.NormalMatrix(rng, 2, 3))
			if r == 0 {
				return s, gometric.Matrix{}, 1
			}
			return s, q, 1
		}},
		{"nil shard on rank 1", func(r int) (knn.Index, gometric.Matrix, int) {
			if r == 1 {
				return nil, q, 1
			}
			s := knn.NewExact(3, knn.L2)
			s.Add(testkit.NormalMatrix(rng, 2, 3))
			return s, q, 1
		}},
	}
	for _, tc := range cases {
		group, _ := NewLocalGroup(2)
		ins := make([]struct {
			s knn.Index
			q gometric.Matrix
			k int
		}, 2)
		for r := range 2 {
			ins[r].s, ins[r].q, ins[r].k = tc.f(r)
		}
		// The ranks record their errors and never close the group: a rank
		// left waiting would hang the test.
		errs := make([]error, 2)
		worldRunAll(group, func(c Communicator) error {
			in := ins[c.Rank()]
			_, err := SearchSharded(c, in.s, in.q, in.k)
			if err == nil {
				err = errors.New("no error")
			}
			errs[c.Rank()] = err
			return nil
		})
		for r, err := range errs {
			if !testkit.WrapsSentinel(err) && !errors.Is(err, ErrComm) {
				t.Errorf("%s: rank %d: %v", tc.name, r, err)
			}
		}
	}
}
