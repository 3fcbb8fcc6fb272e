package samplers

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

func TestFixedSetOfTriplets(t *testing.T) {
	tests := []struct {
		name   string
		labels []int
		n      int
	}{
		{"balanced", labelsOf(4, 4, 4), 50},
		{"singletons", labelsOf(1, 1, 3), 40},
		{"two classes", []int{5, 9}, 7},
		{"one triplet", labelsOf(2, 2), 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sizes := classSizes(tc.labels)
			f, err := NewFixedSetOfTriplets(tc.labels, tc.n, newRNG(9))
			if err != nil {
				t.Fatal(err)
			}
			if f.Len() != 3*tc.n {
				t.Fatalf("Len() = %d, want %d", f.Len(), 3*tc.n)
			}
			trip := f.Triplets()
			if err := trip.Validate(len(tc.labels), len(tc.labels)); err != nil {
				t.Fatal(err)
			}
			var rows []string
			for i := range trip.Len() {
				a, p, n := trip.A[i], trip.P[i], trip.N[i]
				if tc.labels[a] != tc.labels[p] || tc.labels[a] == tc.labels[n] {
					t.Fatalf("triplet %d = (%d, %d, %d) has labels (%d, %d, %d)", i, a, p, n, tc.labels[a], tc.labels[p], tc.labels[n])
				}
				if (a == p) != (sizes[tc.labels[a]] == 1) {
					t.Fatalf("triplet %d: anchor %d, positive %d in a class of %d", i, a, p, sizes[tc.labels[a]])
				}
				rows = append(rows, fmt.Sprint(a, p, n))
			}
			slices.Sort(rows)
			// Fixed across epochs: every epoch is the same rows reordered.
			for seed := range uint64(5) {
				e, err := f.Epoch(newRNG(seed))
				if err != nil {
					t.Fatal(err)
				}
				if len(e) != f.Len() {
					t.Fatalf("epoch has %d indices", len(e))
				}
				var got []string
				for i := 0; i < len(e); i += 3 {
					got = append(got, fmt.Sprint(e[i], e[i+1], e[i+2]))
				}
				slices.Sort(got)
				if !slices.Equal(got, rows) {
					t.Fatalf("seed %d: epoch rows differ from the fixed set", seed)
				}
			}
			if after := f.Triplets(); !slices.Equal(after.A, trip.A) || !slices.Equal(after.P, trip.P) || !slices.Equal(after.N, trip.N) {
				t.Fatal("epochs changed the fixed set")
			}
		})
	}
}

// TestFixedSetOfTripletsLabelPairs: (anchor label, negative label) is a
// uniform ordered pair of distinct labels.
func TestFixedSetOfTripletsLabelPairs(t *testing.T) {
	labels := labelsOf(3, 3, 3)
	f, err := NewFixedSetOfTriplets(labels, 6000, newRNG(2))
	if err != nil {
		t.Fatal(err)
	}
	tr := f.Triplets()
	count := make(map[[2]int]float64)
	for i := range tr.Len() {
		count[[2]int{labels[tr.A[i]], labels[tr.N[i]]}]++
	}
	if len(count) != 6 {
		t.Fatalf("%d ordered label pairs, want 6: %v", len(count), count)
	}
	chi2, _, err := testkit.ChiSquare(slices.Collect(maps.Values(count)), []float64{1. / 6, 1. / 6, 1. / 6, 1. / 6, 1. / 6, 1. / 6})
	if err != nil || chi2 > 20.5 { // 5 dof, 0.999 quantile
		t.Fatalf("chi-square %.1f: %v", chi2, count)
	}
}

func TestFixedSetOfTripletsErrors(t *testing.T) {
	tests := []struct {
		name     string
		labels   []int
		n        int
		sentinel error
		msg      string
	}{
		{"no labels", nil, 3, gometric.ErrLabels, "labels is empty"},
		{"one label", []int{4, 4, 4}, 3, gometric.ErrLabels, "1 distinct value"},
		{"zero triplets", labelsOf(2, 2), 0, gometric.ErrSetting, "num_triplets = 0"},
		{"too many", labelsOf(2, 2), 1 << 29, gometric.ErrSetting, "more than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewFixedSetOfTriplets(tc.labels, tc.n, newRNG(1))
			if err == nil || !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "samplers.FixedSetOfTriplets: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want %v containing %q", err, tc.sentinel, tc.msg)
			}
		})
	}
	var zero FixedSetOfTriplets
	if _, err := zero.Epoch(newRNG(1)); !errors.Is(err, gometric.ErrSetting) {
		t.Fatalf("zero value: %v", err)
	}
}
