package miners_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/miners"
)

// TestRunawaySettings: a setting never sizes an allocation beyond what the
// batch holds or the documented limit (the reproduction:
// UniformHistogram{PosPerBin: 1e9} on 12 rows). A refused setting is an
// error wrapping ErrSetting that names the miner and the value, returned
// having allocated little.
func TestRunawaySettings(t *testing.T) {
	in := miners.Input{Embeddings: circle(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110), Labels: []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}}
	uh := func(bins, pos, neg int) miners.Miner {
		return &miners.UniformHistogram{NumBins: bins, PosPerBin: pos, NegPerBin: neg}
	}
	cases := []struct {
		name string
		m    miners.Miner
		text string // the value the error must name; "" when the call succeeds
	}{
		{"UniformHistogram PosPerBin 1e9 (the issue)", uh(0, 1e9, 0), "1000000000"},
		{"UniformHistogram NegPerBin 1e9", uh(0, 0, 1e9), "1000000000"},
		{"UniformHistogram PosPerBin MaxInt", uh(0, math.MaxInt, 0), "9223372036854775807"},
		{"UniformHistogram NumBins MaxInt", uh(math.MaxInt, 0, 0), "9223372036854775807"},
		{"UniformHistogram NumBins 1e18", uh(1e18, 0, 0), "1000000000000000000"},
		// 2^20 per bin is allowed alone, but not in 100 non-empty bins'
		// worth: the 54 negative pairs fill more than 4 bins.
		{"UniformHistogram 2^20 per bin, many bins", uh(0, 1, 1<<20), "1048576"},
		{"UniformHistogram 2^20 per bin, one bin", uh(1, 1<<20, 1<<20), ""},
		{"UniformHistogram at the limit", uh(1, 1<<22, 1<<22), ""},
		{"UniformHistogram above the limit", uh(1, 1<<22+1, 1), "4194305"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			alloc := testkit.Allocated(func() { _, err = tc.m.Mine(in) })
			if tc.text == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, gometric.ErrSetting) || !strings.HasPrefix(err.Error(), "miners.UniformHistogram: ") || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v; want an ErrSetting error from miners.UniformHistogram naming %s", err, tc.text)
			}
			if alloc > 16<<20 {
				t.Errorf("the refused call allocated %d MiB", alloc>>20)
			}
		})
	}
}

// TestExtremeLabels: labels such as 10^18, math.MaxInt and math.MinInt
// mine exactly what small labels in the same order mine (the random
// miners with the same seed), with and without ref embeddings.
func TestExtremeLabels(t *testing.T) {
	emb := circle(0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 200)
	small := []int{0, 1, 2, 0, 1, 2, 0, 1, 5, 3, 4, 5, 2}
	ref := circle(5, 95, 185, 275, 300, 15)
	smallRef := []int{5, 0, 0, 4, 3, 3}
	ext, extRef := testkit.Relabel(small, testkit.ExtremeLabels()), testkit.Relabel(smallRef, testkit.ExtremeLabels())
	for _, tc := range minerZeroCases() {
		if tc.name == "EmbeddingsAlreadyPackagedAsTriplets" {
			continue // takes no labels
		}
		for _, withRef := range []bool{false, true} {
			a := miners.Input{Embeddings: emb, Labels: small}
			b := miners.Input{Embeddings: emb, Labels: ext}
			if withRef {
				a.Ref, a.RefLabels = ref, smallRef
				b.Ref, b.RefLabels = ref, extRef
			}
			want, err := withRand(tc.made(), 3).Mine(a)
			if err != nil {
				t.Fatalf("%s (ref %v), small labels: %v", tc.name, withRef, err)
			}
			got, err := withRand(tc.made(), 3).Mine(b)
			if err != nil {
				t.Fatalf("%s (ref %v), extreme labels: %v", tc.name, withRef, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s (ref %v): extreme labels mine %+v, small ones %+v", tc.name, withRef, got, want)
			}
		}
	}
}
