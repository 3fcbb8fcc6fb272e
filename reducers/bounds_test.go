package reducers_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/reducers"
)

// TestRunawayBatchSize: PerAnchor's per-anchor values have Batch.N
// entries, so a huge Batch.N is refused (ErrShape, naming the value and
// the limit) instead of allocated; a label such as 10^18 or math.MinInt
// never indexes ClassWeighted's weights (ErrIndex).
func TestRunawayBatchSize(t *testing.T) {
	pair := reducers.SubLoss{Name: "loss", Values: []float64{1, 2}, Indices: [][]int{{0, 1}, {1, 0}}, Kind: reducers.PosPair}
	elem := reducers.SubLoss{Name: "loss", Values: []float64{1, 2}, Indices: [][]int{{0, 1}}, Kind: reducers.Element}
	cases := []struct {
		name string
		r    reducers.Reducer
		l    reducers.SubLoss
		b    reducers.Batch
		want error
		text string
	}{
		{"PerAnchor N 1e18", reducers.NewPerAnchor(), pair, reducers.Batch{N: 1e18}, gometric.ErrShape, "1000000000000000000"},
		{"PerAnchor N MaxInt", reducers.NewPerAnchor(), pair, reducers.Batch{N: math.MaxInt}, gometric.ErrShape, "9223372036854775807"},
		{"PerAnchor N 2^24+1", reducers.NewPerAnchor(), pair, reducers.Batch{N: 1<<24 + 1}, gometric.ErrShape, "16777217"},
		{"PerAnchor N MinInt", reducers.NewPerAnchor(), pair, reducers.Batch{N: math.MinInt}, gometric.ErrShape, "-9223372036854775808"},
		{"PerAnchor N with other labels", reducers.NewPerAnchor(), pair, reducers.Batch{N: 1000, Labels: []int{0, 1}}, gometric.ErrShape, "1000"},
		{"PerAnchor N 2^24", reducers.NewPerAnchor(), pair, reducers.Batch{N: 1 << 24}, nil, ""},
		{"ClassWeighted label 1e18", reducers.NewClassWeighted([]float64{1, 2}), elem, reducers.Batch{N: 2, Labels: []int{0, 1e18}}, gometric.ErrIndex, "1000000000000000000"},
		{"ClassWeighted label MaxInt", reducers.NewClassWeighted([]float64{1, 2}), elem, reducers.Batch{N: 2, Labels: []int{math.MaxInt, 0}}, gometric.ErrIndex, "9223372036854775807"},
		{"ClassWeighted label MinInt", reducers.NewClassWeighted([]float64{1, 2}), elem, reducers.Batch{N: 2, Labels: []int{1, math.MinInt}}, gometric.ErrIndex, "-9223372036854775808"},
		{"ClassWeighted N 1e18", reducers.NewClassWeighted([]float64{1, 2}), elem, reducers.Batch{N: 1e18, Labels: []int{0, 1}}, gometric.ErrLabels, "1000000000000000000"},
		{"PerAnchor of ClassWeighted, label MinInt", &reducers.PerAnchor{Reducer: reducers.NewClassWeighted([]float64{1, 2})}, pair, reducers.Batch{N: 2, Labels: []int{1, math.MinInt}}, gometric.ErrIndex, "-9223372036854775808"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := testkit.Allocated(func() { _, _, err = tc.r.ReduceOne(tc.l, tc.b) })
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "reducers.") || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v; want an error wrapping %v naming the reducer and %s", err, tc.want, tc.text)
			}
			if alloc > 1<<20 {
				t.Errorf("the refused call allocated %d KiB", alloc>>10)
			}
		})
	}
}
