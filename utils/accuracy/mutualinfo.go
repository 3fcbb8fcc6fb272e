package accuracy

import (
	"fmt"
	"math"
	"slices"

	"github.com/gometric/gometric"
)

// eps64 is numpy's finfo(float64).eps.
const eps64 = 0x1p-52

// contingency is the contingency table of two labelings: rows are the
// distinct labels (ascending), columns the distinct clusters (ascending),
// as scikit-learn's contingency_matrix.
type contingency struct {
	n     int64
	a, b  []int64 // row and column sums
	cells []cell  // non-zero cells, row-major order
}

type cell struct {
	i, j int
	v    int64
}

func newContingency(labels []int, clusters []int) contingency {
	rows := sortedUnique(labels)
	cols := slices.Clone(clusters)
	slices.Sort(cols)
	cols = slices.Compact(cols)
	ct := contingency{n: int64(len(labels)), a: make([]int64, len(rows)), b: make([]int64, len(cols))}
	counts := make(map[int64]int64)
	nc := int64(len(cols))
	for s, l := range labels {
		i, _ := slices.BinarySearch(rows, l)
		j, _ := slices.BinarySearch(cols, clusters[s])
		ct.a[i]++
		ct.b[j]++
		counts[int64(i)*nc+int64(j)]++
	}
	keys := make([]int64, 0, len(counts))
	for key := range counts {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	ct.cells = make([]cell, len(keys))
	for x, key := range keys {
		ct.cells[x] = cell{int(key / nc), int(key % nc), counts[key]}
	}
	return ct
}

// mutualInfo is scikit-learn's mutual_info_score from a contingency table,
// in nats.
func (ct contingency) mutualInfo() float64 {
	if len(ct.a) == 1 || len(ct.b) == 1 {
		return 0
	}
	total := float64(ct.n)
	logTotal := math.Log(total)
	var mi float64
	for _, c := range ct.cells {
		v := float64(c.v)
		pnm := v / total
		outer := ct.a[c.i] * ct.b[c.j]
		logOuter := -math.Log(float64(outer)) + logTotal + logTotal
		t := pnm*(math.Log(v)-logTotal) + pnm*logOuter
		if math.Abs(t) < eps64 {
			t = 0
		}
		mi += t
	}
	return max(mi, 0)
}

// entropy is scikit-learn's entropy of a labeling with the given class
// sizes (all positive), in nats.
func entropy(sizes []int64) float64 {
	if len(sizes) == 1 {
		return 0
	}
	var sum float64
	for _, s := range sizes {
		sum += float64(s)
	}
	logSum := math.Log(sum)
	var h float64
	for _, s := range sizes {
		p := float64(s)
		h += (p / sum) * (math.Log(p) - logSum)
	}
	return -h
}

// expectedMutualInfo is scikit-learn's expected_mutual_information: the
// expectation of the mutual information of two random labelings with the
// row and column sums of ct (the hypergeometric model of Vinh, Epps and
// Bailey, 2010).
func (ct contingency) expectedMutualInfo() float64 {
	if len(ct.a) == 1 || len(ct.b) == 1 {
		return 0
	}
	n := ct.n
	// lf[x] = log(x!) = lgamma(x+1) for x in [0, n]; every factorial of
	// the sum has an argument in that range.
	lf := make([]float64, n+1)
	for x := range lf {
		lf[x], _ = math.Lgamma(float64(x) + 1)
	}
	maxNij := max(slices.Max(ct.a), slices.Max(ct.b))
	logN := math.Log(float64(n))
	term1 := make([]float64, maxNij+1)
	logNnij := make([]float64, maxNij+1)
	glnNnij := make([]float64, maxNij+1)
	for x := int64(1); x <= maxNij; x++ {
		term1[x] = float64(x) / float64(n)
		logNnij[x] = logN + math.Log(float64(x))
		glnNnij[x] = lf[x] + lf[n]
	}
	var emi float64
	for _, ai := range ct.a {
		logA := math.Log(float64(ai))
		glnA := lf[ai] + lf[n-ai]
		for _, bj := range ct.b {
			logB := math.Log(float64(bj))
			glnAB := glnA + lf[bj] + lf[n-bj]
			start := max(1, ai-n+bj)
			end := min(ai, bj)
			for nij := start; nij <= end; nij++ {
				term2 := logNnij[nij] - logA - logB
				gln := glnAB - glnNnij[nij] - lf[ai-nij] - lf[bj-nij] - lf[n-ai-bj+nij]
				emi += term1[nij] * term2 * math.Exp(gln)
			}
		}
	}
	return emi
}

// checkClusterings checks that the two labelings have the same length and
// reports scikit-learn's special case: both with a single label or both
// empty, a perfect match.
func checkClusterings(name string, labels []int, clusters []int) (contingency, bool, error) {
	if len(labels) != len(clusters) {
		return contingency{}, false, fmt.Errorf("accuracy.%s: %d labels but %d cluster labels: %w", name, len(labels), len(clusters), gometric.ErrLabels)
	}
	if len(labels) == 0 {
		return contingency{}, true, nil
	}
	ct := newContingency(labels, clusters)
	return ct, len(ct.a) == 1 && len(ct.b) == 1, nil
}

// NMI is the normalized mutual information of labels and clusters, with the
// arithmetic mean of the two entropies as normalizer: scikit-learn's
// normalized_mutual_info_score(labels, clusters) as PML's calculate_NMI
// calls it. Two labelings that are each a single label (or both empty)
// give 1; labels and clusters of different lengths are an error.
func NMI(labels []int, clusters []int) (float64, error) {
	ct, perfect, err := checkClusterings("NMI", labels, clusters)
	if err != nil {
		return 0, err
	}
	if perfect {
		return 1, nil
	}
	mi := ct.mutualInfo()
	if mi == 0 {
		return 0, nil
	}
	normalizer := (entropy(ct.a) + entropy(ct.b)) / 2
	return mi / normalizer, nil
}

// AMI is the adjusted mutual information of labels and clusters,
// (MI − E[MI]) / (mean(H(labels), H(clusters)) − E[MI]) with the expected
// mutual information E[MI] of the hypergeometric model: scikit-learn's
// adjusted_mutual_info_score(labels, clusters) with average_method
// "arithmetic", as PML's calculate_AMI calls it. The special cases and
// errors are NMI's.
func AMI(labels []int, clusters []int) (float64, error) {
	ct, perfect, err := checkClusterings("AMI", labels, clusters)
	if err != nil {
		return 0, err
	}
	if perfect {
		return 1, nil
	}
	mi := ct.mutualInfo()
	emi := ct.expectedMutualInfo()
	normalizer := (entropy(ct.a) + entropy(ct.b)) / 2
	denominator := normalizer - emi
	if denominator < 0 {
		denominator = min(denominator, -eps64)
	} else {
		denominator = max(denominator, eps64)
	}
	return (mi - emi) / denominator, nil
}
