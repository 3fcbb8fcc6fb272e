package inference

import (
	"errors"
	"math"
	"testing"

	"github.com/gometric/gometric"
)

func TestLabelPairs(t *testing.T) {
	labels := []int{0, 0, 1, 1, 1, 2, 7}
	a, b, same, err := LabelPairs(labels, 1001, 3)
	if err != nil {
		t.Fatal(err)
	}
	pos := 0
	for k := range a {
		if a[k] == b[k] {
			t.Fatalf("pair %d: a sample with itself (%d)", k, a[k])
		}
		if (labels[a[k]] == labels[b[k]]) != same[k] {
			t.Fatalf("pair %d (%d, %d): same %v", k, a[k], b[k], same[k])
		}
		if same[k] {
			pos++
		}
	}
	if pos != 501 {
		t.Errorf("%d matching pairs of 1001, want 501", pos)
	}
	a2, b2, _, _ := LabelPairs(labels, 1001, 3)
	for k := range a {
		if a[k] != a2[k] || b[k] != b2[k] {
			t.Fatal("not determined by the seed")
		}
	}
	bad := []struct {
		labels []int
		n      int
		want   error
	}{
		{labels, 1, gometric.ErrSetting},
		{labels, -1, gometric.ErrSetting},
		{labels, math.MaxInt, gometric.ErrSetting},
		{labels, math.MinInt, gometric.ErrSetting},
		{nil, 10, gometric.ErrLabels},
		{[]int{4, 4, 4}, 10, gometric.ErrLabels},
		{[]int{1, 2, 3}, 10, gometric.ErrLabels},
		{[]int{math.MaxInt, math.MinInt}, 10, gometric.ErrLabels},
	}
	for _, tc := range bad {
		if _, _, _, err := LabelPairs(tc.labels, tc.n, 0); !errors.Is(err, tc.want) {
			t.Errorf("LabelPairs(%v, %d): %v, want %v", tc.labels, tc.n, err, tc.want)
		}
	}
}
