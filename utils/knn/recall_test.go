package knn

import (
	"errors"
	"testing"

	"github.com/gometric/gometric"
)

func TestRecall(t *testing.T) {
	exact := Result{K: 2, Indices: []int{0, 1, 2, 3}}
	for _, tc := range []struct {
		approx []int
		want   float64
	}{
		{[]int{0, 1, 2, 3}, 1},
		{[]int{1, 0, 3, 2}, 1},
		{[]int{0, 5, 2, -1}, 0.5},
		{[]int{0, 0, 9, 9}, 0.25},
		{[]int{-1, -1, -1, -1}, 0},
	} {
		got, err := Recall(Result{K: 2, Indices: tc.approx}, exact)
		if err != nil || got != tc.want {
			t.Errorf("%v: %v %v, want %v", tc.approx, got, err, tc.want)
		}
	}
	for _, bad := range [][2]Result{
		{{}, {}},
		{{K: 1, Indices: []int{0, 1}}, exact},
		{{K: 2, Indices: []int{0}}, exact},
		{{K: 2, Indices: []int{0, 1, 2}}, {K: 2, Indices: []int{0, 1, 2}}},
		{{K: -1}, {K: -1}},
	} {
		if _, err := Recall(bad[0], bad[1]); !errors.Is(err, gometric.ErrShape) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
