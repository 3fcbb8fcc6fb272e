package losses

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// funcLoss runs a compute function through the pipeline, for tests that
// compare a loss with a reference computation.
type funcLoss struct {
	*Base
	f func(in *input) (*term, error)
}

func (f *funcLoss) compute(in *input) (*term, error) { return f.f(in) }

// TestSameLabel checks sameLabel and sameCount against a brute force, with
// small label ranges (counting sort), wide ones (map) and labels absent
// from the reference.
func TestSameLabel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, span := range []int{1, 3, 40, 1 << 30} {
		for range 20 {
			labels, ref := make([]int, rng.IntN(30)), make([]int, rng.IntN(30))
			for i := range labels {
				labels[i] = rng.IntN(span) - span/2
			}
			for j := range ref {
				ref[j] = rng.IntN(span) - span/2
			}
			same := sameLabel(labels, ref)
			total := 0
			for i, l := range labels {
				var want []int
				for j, r := range ref {
					if r == l {
						want = append(want, j)
					}
				}
				if !slices.Equal(same[i], want) {
					t.Fatalf("span %d: same[%d] = %v, want %v", span, i, same[i], want)
				}
				total += len(want)
			}
			if got := sameCount(labels, ref); got != total {
				t.Fatalf("span %d: sameCount %d, want %d", span, got, total)
			}
		}
	}
}
