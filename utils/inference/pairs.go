package inference

import (
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
)

// MaxPairs is the largest number of pairs LabelPairs draws.
const MaxPairs = 1 << 24

// LabelPairs draws n validation pairs (a[i], b[i]) of distinct samples
// from labelled samples, for Calibrate and Model.Calibrate; PML has no
// counterpart. About half the pairs share a label (same[i] true: the
// first sample uniformly among those whose class has another member, the
// second uniformly among its class's other members) and the rest do not
// (both uniformly, redrawn while their labels agree), so that the
// threshold is calibrated on balanced classes of pairs. The draw is
// determined by seed.
//
// Errors wrap gometric.ErrSetting (n outside [2, MaxPairs]) or
// gometric.ErrLabels (no class with two samples, or a single class, so
// that no pair of one kind exists).
func LabelPairs(labels []int, n int, seed uint64) (a, b []int, same []bool, err error) {
	const c = "inference.LabelPairs"
	if n < 2 || n > MaxPairs {
		return nil, nil, nil, check.Errorf(c, gometric.ErrSetting, "n %d: want 2 to %d pairs", n, MaxPairs)
	}
	byLabel := map[int][]int{}
	for i, l := range labels {
		byLabel[l] = append(byLabel[l], i)
	}
	if len(byLabel) < 2 {
		return nil, nil, nil, check.Errorf(c, gometric.ErrLabels, "%d sample(s) with %d distinct label(s): want two classes for non-matching pairs", len(labels), len(byLabel))
	}
	var anchors []int // samples whose class has another member
	for i, l := range labels {
		if len(byLabel[l]) > 1 {
			anchors = append(anchors, i)
		}
	}
	if len(anchors) == 0 {
		return nil, nil, nil, check.Errorf(c, gometric.ErrLabels, "no class holds two samples: no matching pair exists")
	}
	rng := rand.New(rand.NewPCG(seed, 0x7061697273)) // "pairs"
	a, b, same = make([]int, n), make([]int, n), make([]bool, n)
	for k := range n {
		if k%2 == 0 {
			i := anchors[rng.IntN(len(anchors))]
			class := byLabel[labels[i]]
			j := class[rng.IntN(len(class)-1)]
			if j == i {
				j = class[len(class)-1]
			}
			a[k], b[k], same[k] = i, j, true
			continue
		}
		// At least two classes exist, so a differing label is found with
		// probability at least 1/2 per draw when classes are balanced;
		// the draws stay bounded by falling back to a scan.
		i := rng.IntN(len(labels))
		j := -1
		for range 64 {
			if t := rng.IntN(len(labels)); labels[t] != labels[i] {
				j = t
				break
			}
		}
		if j < 0 {
			for t, l := range labels {
				if l != labels[i] {
					j = t
					break
				}
			}
		}
		a[k], b[k] = i, j
	}
	return a, b, same, nil
}
