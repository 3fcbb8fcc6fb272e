package tuples

// SameLabel returns, for every label of labels, the ascending indices j
// with refLabels[j] equal to it (nil when there is none): the rows of PML's
// label-equality matrix labels.unsqueeze(1) == ref_labels.unsqueeze(0),
// from which get_all_pairs_indices and get_all_triplets_indices are made,
// as index lists. It takes O(N+M) time and memory — a counting sort when
// the labels span a small range, a map otherwise — and never allocates by
// the size of a label. Entries for equal labels share one slice: read them,
// do not modify them.
func SameLabel(labels, refLabels []int) [][]int {
	same := make([][]int, len(labels))
	lo, hi, ok := labelRange(refLabels)
	if !ok {
		return same
	}
	if span := uint(hi - lo); span < uint(4*len(refLabels)+64) {
		// Small label range: a counting sort. start[k] becomes the first
		// position of label lo+k in flat; it is the cursor of the fill,
		// after which it is the end of the label (and start[k-1] its
		// first position).
		start := make([]int, span+2)
		for _, l := range refLabels {
			start[l-lo+1]++
		}
		for k := 1; k < len(start); k++ {
			start[k] += start[k-1]
		}
		flat := make([]int, len(refLabels))
		for j, l := range refLabels {
			flat[start[l-lo]] = j
			start[l-lo]++
		}
		for i, l := range labels {
			if l >= lo && l <= hi {
				k := l - lo
				begin := 0
				if k > 0 {
					begin = start[k-1]
				}
				if begin < start[k] {
					same[i] = flat[begin:start[k]:start[k]]
				}
			}
		}
		return same
	}
	byLabel := make(map[int][]int)
	for j, l := range refLabels {
		byLabel[l] = append(byLabel[l], j)
	}
	for i, l := range labels {
		same[i] = byLabel[l]
	}
	return same
}

// CountSameLabel returns the number of pairs (i, j) with labels[i] ==
// refLabels[j] — the sum of the lengths of SameLabel's lists — without
// listing them, in O(N+M).
func CountSameLabel(labels, refLabels []int) int {
	lo, hi, ok := labelRange(refLabels)
	if !ok {
		return 0
	}
	total := 0
	if span := uint(hi - lo); span < uint(4*len(refLabels)+64) {
		counts := make([]int, span+1)
		for _, l := range refLabels {
			counts[l-lo]++
		}
		for _, l := range labels {
			if l >= lo && l <= hi {
				total += counts[l-lo]
			}
		}
		return total
	}
	counts := refCounts(refLabels)
	for _, l := range labels {
		total += counts[l]
	}
	return total
}

// labelRange returns the smallest and largest label; ok is false when
// there is none.
func labelRange(labels []int) (lo, hi int, ok bool) {
	if len(labels) == 0 {
		return 0, 0, false
	}
	lo, hi = labels[0], labels[0]
	for _, l := range labels {
		lo, hi = min(lo, l), max(hi, l)
	}
	return lo, hi, true
}
