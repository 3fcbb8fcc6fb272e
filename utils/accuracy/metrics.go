package accuracy

import "fmt"

// knnMetric is a built-in kNN metric: one value per not-lone query from its
// row of label matches, averaged by Inputs.Average.
type knnMetric struct {
	name string
	// row returns the query's value from same (the matches of its K
	// neighbours, nearest first) and rel, its number of relevant
	// references (PML's max_column of get_relevance_mask).
	row func(same []bool, rel int) float64
}

func (m knnMetric) Name() string             { return m.name }
func (m knnMetric) RequiresKNN() bool        { return true }
func (m knnMetric) RequiresClustering() bool { return false }

// Compute mirrors PML's calculate_<name>: lone queries are left out, and
// when every query is lone the value is NaN (per class with
// ReturnPerClass).
func (m knnMetric) Compute(in *Inputs) (Value, error) {
	if len(in.kept) == 0 {
		return in.nanValue(), nil
	}
	k := in.KNN.K
	per := make([]float64, len(in.kept))
	labels := make([]int, len(in.kept))
	noRel := 0
	for i, q := range in.kept {
		per[i] = m.row(in.same[q*k:(q+1)*k], in.rel[q])
		labels[i] = in.QueryLabels[q]
		if in.rel[q] == 0 {
			noRel++
		}
	}
	v := in.Average(per, labels)
	if noRel > 0 && !finiteValue(v) {
		v.Warnings = append(v.Warnings, fmt.Sprintf("%d of the %d kept queries have R = 0 relevant references (Compare(l, l) is false and the reference includes the query), so their value divides by 0 and is not finite, as in PML", noRel, len(in.kept)))
	}
	return v, nil
}

// sliceEnd is the length of s[:end] for a Python slice of length n: a
// negative end counts from the back, and the slice stops at n.
func sliceEnd(end, n int) int {
	if end < 0 {
		return max(n+end, 0)
	}
	return min(end, n)
}

// precisionAt1Row is PML's precision_at_k with k = 1.
func precisionAt1Row(same []bool, _ int) float64 {
	if same[0] {
		return 1
	}
	return 0
}

// rPrecisionRow is PML's r_precision for one query: the share of matches
// among its first R neighbours (R cut at K).
func rPrecisionRow(same []bool, rel int) float64 {
	r := sliceEnd(rel, len(same))
	matches := 0
	for _, s := range same[:r] {
		if s {
			matches++
		}
	}
	return float64(matches) / float64(r)
}

// averagePrecision sums precision@j over the matching positions j among
// the first n neighbours and divides by rel, PML's mean_average_precision
// for one query.
func averagePrecision(same []bool, n, rel int) float64 {
	var sum float64
	correct := 0
	for j, s := range same[:n] {
		if s {
			correct++
			sum += float64(correct) / float64(j+1)
		}
	}
	return sum / float64(rel)
}

// mapAtRRow is PML's mean_average_precision with at_r: only the first R
// neighbours count, and the sum is divided by R.
func mapAtRRow(same []bool, rel int) float64 {
	return averagePrecision(same, sliceEnd(rel, len(same)), rel)
}

// mapRow is PML's mean_average_precision: all K neighbours count, and the
// sum is divided by R.
func mapRow(same []bool, rel int) float64 {
	return averagePrecision(same, len(same), rel)
}

// mrrRow is PML's mean_reciprocal_rank for one query: 1/rank of the first
// match, 0 without one.
func mrrRow(same []bool, _ int) float64 {
	for j, s := range same {
		if s {
			return 1 / float64(j+1)
		}
	}
	return 0
}

// clusterMetric is NMI or AMI of the query labels against the k-means
// clusters of the queries.
type clusterMetric struct {
	name string
	fn   func(labels []int, clusters []int) (float64, error)
}

func (m clusterMetric) Name() string             { return m.name }
func (m clusterMetric) RequiresKNN() bool        { return false }
func (m clusterMetric) RequiresClustering() bool { return true }

// Compute mirrors PML's calculate_NMI / calculate_AMI.
func (m clusterMetric) Compute(in *Inputs) (Value, error) {
	v, err := m.fn(in.QueryLabels, in.ClusterLabels)
	if err != nil {
		return Value{}, err
	}
	return Value{Scalar: v}, nil
}
