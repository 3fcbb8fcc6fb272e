package samplers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
)

// superOf maps labelsOf's labels (10·c+3) to super label c%2.
func superOf(labels []int) []int {
	out := make([]int, len(labels))
	for i, l := range labels {
		out[i] = (l / 10) % 2
	}
	return out
}

// verifyHierarchical checks the batches of one epoch of h.
func verifyHierarchical(h *Hierarchical, batches [][]int) error {
	inner, outer := h.Labels[h.InnerLabel], h.Labels[h.OuterLabel]
	type key struct{ s, c int }
	size := make(map[key]int)
	classesOf := make(map[int]map[int]bool)
	for i := range inner {
		size[key{outer[i], inner[i]}]++
		if classesOf[outer[i]] == nil {
			classesOf[outer[i]] = make(map[int]bool)
		}
		classesOf[outer[i]][inner[i]] = true
	}
	if len(batches) != h.NumBatches() {
		return fmt.Errorf("%d batches, NumBatches() = %d", len(batches), h.NumBatches())
	}
	subLen := h.BatchSize / h.SuperClassesPerBatch
	tuples := make(map[string]int)
	for bi, b := range batches {
		perSuper := make(map[int]int)
		perClass := make(map[key][]int)
		for _, v := range b {
			if v < 0 || v >= len(inner) {
				return fmt.Errorf("batch %d: index %d out of range", bi, v)
			}
			k := key{outer[v], inner[v]}
			perSuper[k.s]++
			perClass[k] = append(perClass[k], v)
		}
		if len(perSuper) > h.SuperClassesPerBatch {
			return fmt.Errorf("batch %d has %d super labels", bi, len(perSuper))
		}
		var supers []int
		for s, n := range perSuper {
			supers = append(supers, s)
			if n > subLen {
				return fmt.Errorf("batch %d: super %d has %d samples > %d", bi, s, n, subLen)
			}
		}
		slices.Sort(supers)
		tuples[fmt.Sprint(supers)]++
		for k, idx := range perClass {
			want := h.SamplesPerClass
			if want == AllSamples {
				want = size[k]
			}
			if len(idx) != want {
				return fmt.Errorf("batch %d: class %v has %d samples, want %d", bi, k, len(idx), want)
			}
			if size[k] >= want && len(slices.Compact(slices.Sorted(slices.Values(idx)))) != want {
				return fmt.Errorf("batch %d: class %v repeats an index: %v", bi, k, idx)
			}
		}
		// A super label's sub-batch is full unless its classes ran out.
		if h.SamplesPerClass != AllSamples {
			for s, n := range perSuper {
				if n < subLen && n != len(classesOf[s])*h.SamplesPerClass {
					return fmt.Errorf("batch %d: super %d has %d samples from %d classes", bi, s, n, len(classesOf[s]))
				}
			}
		}
	}
	// Every combination (that shows up fully) gets BatchesPerSuperTuple
	// batches.
	for tup, n := range tuples {
		if strings.Count(tup, " ")+1 == h.SuperClassesPerBatch && n != h.BatchesPerSuperTuple {
			return fmt.Errorf("super tuple %s has %d batches, want %d", tup, n, h.BatchesPerSuperTuple)
		}
	}
	return nil
}

// hierLabels: 3 super labels; super 0 has classes of 5, 4, 3 samples,
// super 1 of 6 and 2, super 2 a single class of 4.
func hierLabels() (fine, super []int) {
	add := func(c, s, n int) {
		for range n {
			fine = append(fine, c)
			super = append(super, s)
		}
	}
	add(0, 0, 5)
	add(1, 1, 6)
	add(2, 0, 4)
	add(3, 2, 4)
	add(4, 1, 2)
	add(5, 0, 3)
	return fine, super
}

func TestHierarchicalComposition(t *testing.T) {
	fine, super := hierLabels()
	tests := []struct {
		name        string
		bs, spc     int
		perTuple, k int
		swap        bool
		numBatches  int
	}{
		{"defaults", 8, 2, 4, 2, false, 12},
		{"one sample per class", 4, 1, 3, 2, false, 9},
		{"three supers per batch", 6, 2, 2, 3, false, 2},
		{"one super per batch", 3, 3, 5, 1, false, 15},
		{"columns swapped", 8, 2, 4, 2, true, 12},
		{"all samples", 12, AllSamples, 4, 2, false, 12},
		{"all samples, small sub-batch", 8, AllSamples, 2, 2, false, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHierarchical(fine, super, tc.bs, tc.spc)
			h.BatchesPerSuperTuple, h.SuperClassesPerBatch = tc.perTuple, tc.k
			if tc.swap {
				h.Labels = [2][]int{super, fine}
				h.InnerLabel, h.OuterLabel = 1, 0
			}
			if got := h.NumBatches(); got != tc.numBatches {
				t.Fatalf("NumBatches() = %d, want %d", got, tc.numBatches)
			}
			for seed := range uint64(20) {
				b, err := h.EpochBatches(newRNG(seed))
				if err != nil {
					t.Fatal(err)
				}
				if err := verifyHierarchical(h, b); err != nil {
					t.Fatalf("seed %d: %v\n%v", seed, err, b)
				}
			}
		})
	}
}

// TestHierarchicalFull: with enough classes everywhere, every batch is
// full and holds exactly SuperClassesPerBatch super labels with
// BatchSize/SuperClassesPerBatch samples each.
func TestHierarchicalFull(t *testing.T) {
	var fine, super []int
	for c := range 12 {
		for range 3 + c%3 {
			fine = append(fine, c)
			super = append(super, c%3)
		}
	}
	h := NewHierarchical(fine, super, 12, 2)
	b, err := h.EpochBatches(newRNG(7))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 12 {
		t.Fatalf("%d batches, want C(3,2)·4 = 12", len(b))
	}
	for i, batch := range b {
		perSuper := make(map[int]int)
		perClass := make(map[int]int)
		for _, v := range batch {
			perSuper[super[v]]++
			perClass[fine[v]]++
		}
		if len(batch) != 12 || len(perSuper) != 2 || len(perClass) != 6 {
			t.Fatalf("batch %d: %d samples, %d supers, %d classes", i, len(batch), len(perSuper), len(perClass))
		}
		for s, n := range perSuper {
			if n != 6 {
				t.Fatalf("batch %d: super %d has %d samples", i, s, n)
			}
		}
	}
	if err := verifyHierarchical(h, b); err != nil {
		t.Fatal(err)
	}
}

func TestHierarchicalErrors(t *testing.T) {
	fine, super := hierLabels()
	tests := []struct {
		name     string
		edit     func(h *Hierarchical)
		sentinel error
		msg      string
	}{
		{"no labels", func(h *Hierarchical) { h.Labels = [2][]int{} }, gometric.ErrLabels, "labels is empty"},
		{"ragged labels", func(h *Hierarchical) { h.Labels[1] = super[:3] }, gometric.ErrLabels, "3 labels in column 1"},
		{"bad inner", func(h *Hierarchical) { h.InnerLabel = 2 }, gometric.ErrSetting, "inner_label = 2"},
		{"bad outer", func(h *Hierarchical) { h.OuterLabel = -1 }, gometric.ErrSetting, "outer_label = -1"},
		{"zero batch", func(h *Hierarchical) { h.BatchSize = 0 }, gometric.ErrSetting, "batch_size = 0"},
		{"zero supers", func(h *Hierarchical) { h.SuperClassesPerBatch = 0 }, gometric.ErrSetting, "super_classes_per_batch = 0"},
		{"batch not multiple of supers", func(h *Hierarchical) { h.BatchSize = 7 }, gometric.ErrSetting, "batch_size (7) is not a multiple of super_classes_per_batch (2)"},
		{"sub-batch not multiple", func(h *Hierarchical) { h.SamplesPerClass = 3 }, gometric.ErrSetting, "(4) is not a multiple of samples_per_class (3)"},
		{"zero samples", func(h *Hierarchical) { h.SamplesPerClass = 0 }, gometric.ErrSetting, "samples_per_class = 0"},
		{"zero per tuple", func(h *Hierarchical) { h.BatchesPerSuperTuple = 0 }, gometric.ErrSetting, "batches_per_super_tuple = 0"},
		{"too many supers", func(h *Hierarchical) { h.SuperClassesPerBatch = 4; h.BatchSize = 8; h.SamplesPerClass = 1 }, gometric.ErrSetting, "exceeds the number of super labels (3)"},
		{"too many batches", func(h *Hierarchical) { h.BatchesPerSuperTuple = 1 << 30 }, gometric.ErrSetting, "exceed the limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewHierarchical(fine, super, 8, 2)
			tc.edit(h)
			_, err := h.EpochBatches(newRNG(1))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, tc.sentinel) || !strings.HasPrefix(err.Error(), "samplers.Hierarchical: ") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q, want %v naming samplers.Hierarchical and containing %q", err, tc.sentinel, tc.msg)
			}
			if h.NumBatches() != 0 {
				t.Fatalf("NumBatches() = %d for invalid settings", h.NumBatches())
			}
		})
	}
}

func TestCombinations(t *testing.T) {
	got := fmt.Sprint(combinations(4, 2))
	if want := "[[0 1] [0 2] [0 3] [1 2] [1 3] [2 3]]"; got != want {
		t.Fatalf("combinations(4, 2) = %s, want %s", got, want)
	}
	for _, tc := range []struct{ n, k, want int }{{5, 0, 1}, {5, 5, 1}, {6, 3, 20}, {40, 20, 137846528820}} {
		got, ok := binomial(tc.n, tc.k)
		if tc.want > maxEpochLen {
			if ok {
				t.Fatalf("binomial(%d, %d) = %d within the limit", tc.n, tc.k, got)
			}
			continue
		}
		if !ok || got != tc.want {
			t.Fatalf("binomial(%d, %d) = %d, %v; want %d", tc.n, tc.k, got, ok, tc.want)
		}
	}
}
