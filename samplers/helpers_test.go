package samplers

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)) }

// classSizes counts the samples of each label.
func classSizes(labels []int) map[int]int {
	out := make(map[int]int)
	for _, l := range labels {
		out[l]++
	}
	return out
}

// wantMPerClassLen computes the epoch length from the documented
// formulas, independently of the implementation.
func wantMPerClassLen(s *MPerClass) int {
	sizes := classSizes(s.Labels)
	m, bs := s.M, s.BatchSize
	if s.CoverAll {
		k, most := 0, 0
		for _, n := range sizes {
			g := (n + m - 1) / m
			k += g
			most = max(most, g)
		}
		p := bs / m
		return max((k+p-1)/p, most) * bs
	}
	l := s.LengthBeforeNewIter
	if l == 0 {
		l = 100000
	}
	if bs > 0 {
		return l - l%bs
	}
	single := m * len(sizes)
	if single < l {
		return l - l%single
	}
	return single
}

// verifyMPerClass checks an epoch of s against MPerClass's contract and
// returns the first violation.
func verifyMPerClass(s *MPerClass, epoch []int) error {
	labels, m := s.Labels, s.M
	sizes := classSizes(labels)
	if want := wantMPerClassLen(s); len(epoch) != want || s.Len() != want {
		return fmt.Errorf("epoch has %d indices, Len() = %d, want %d", len(epoch), s.Len(), want)
	}
	for i, v := range epoch {
		if v < 0 || v >= len(labels) {
			return fmt.Errorf("epoch[%d] = %d is outside [0, %d)", i, v, len(labels))
		}
	}
	round := s.BatchSize
	if round == 0 {
		round = m * len(sizes)
	}
	if len(epoch)%round != 0 {
		return fmt.Errorf("epoch length %d is not a multiple of the round %d", len(epoch), round)
	}
	for r := 0; r < len(epoch); r += round {
		seen := make(map[int]bool)
		for g := r; g < r+round; g += m {
			group := epoch[g : g+m]
			c := labels[group[0]]
			for _, v := range group {
				if labels[v] != c {
					return fmt.Errorf("group at %d mixes labels %d and %d", g, c, labels[v])
				}
			}
			if seen[c] {
				return fmt.Errorf("round at %d has class %d twice", r, c)
			}
			seen[c] = true
			if sizes[c] >= m {
				sorted := slices.Sorted(slices.Values(group))
				if len(slices.Compact(sorted)) != m {
					return fmt.Errorf("group at %d of class %d (%d samples ≥ m) repeats an index: %v", g, c, sizes[c], group)
				}
			}
		}
		if s.BatchSize == 0 && len(seen) != len(sizes) {
			return fmt.Errorf("round at %d has %d classes, want all %d", r, len(seen), len(sizes))
		}
	}
	if !s.CoverAll {
		return nil
	}
	count := make([]int, len(labels))
	for _, v := range epoch {
		count[v]++
	}
	for i, c := range count {
		if c == 0 {
			return fmt.Errorf("CoverAll: index %d is missing", i)
		}
	}
	// Per class: the real groups use each index once, plus m−r top-up
	// indices for a short last group; the rest are whole filler groups.
	perClass := make(map[int]int)
	for _, v := range epoch {
		perClass[labels[v]]++
	}
	nb := len(epoch) / s.BatchSize
	for c, n := range sizes {
		g := (n + m - 1) / m
		extra := perClass[c] - g*m
		if extra < 0 || extra%m != 0 || g+extra/m > nb {
			return fmt.Errorf("CoverAll: class %d (%d samples) has %d indices in %d batches", c, n, perClass[c], nb)
		}
	}
	if exactOnce(s) {
		for i, c := range count {
			if c != 1 {
				return fmt.Errorf("CoverAll: index %d appears %d times in an exact-once setting", i, c)
			}
		}
	}
	return nil
}

// exactOnce reports whether CoverAll promises a permutation: every class
// size a multiple of m and no filler group.
func exactOnce(s *MPerClass) bool {
	sizes := classSizes(s.Labels)
	k, most := 0, 0
	for _, n := range sizes {
		if n%s.M != 0 {
			return false
		}
		k += n / s.M
		most = max(most, n/s.M)
	}
	p := s.BatchSize / s.M
	return k%p == 0 && most <= k/p
}

// labelsOf builds labels with the given class sizes: class c (label
// 10·c+3) gets sizes[c] samples, interleaved.
func labelsOf(sizes ...int) []int {
	var out []int
	left := slices.Clone(sizes)
	for more := true; more; {
		more = false
		for c := range left {
			if left[c] > 0 {
				out = append(out, 10*c+3)
				left[c]--
				more = true
			}
		}
	}
	return out
}
