package samplers

import "testing"

// fashionLabels: 60,000 labels in 10 classes, as Fashion-MNIST's training
// set.
func fashionLabels() []int {
	labels := make([]int, 60000)
	for i := range labels {
		labels[i] = i % 10
	}
	return labels
}

func BenchmarkMPerClass(b *testing.B) {
	labels := fashionLabels()
	for _, bc := range []struct {
		name  string
		cover bool
	}{{"pml_100000", false}, {"cover_all", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s := NewMPerClass(labels, 4)
			s.BatchSize, s.CoverAll = 32, bc.cover
			rng := newRNG(1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Epoch(rng); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkHierarchical(b *testing.B) {
	labels := fashionLabels()
	super := make([]int, len(labels))
	for i, l := range labels {
		super[i] = l % 5
	}
	h := NewHierarchical(labels, super, 32, 4)
	rng := newRNG(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.EpochBatches(rng); err != nil {
			b.Fatal(err)
		}
	}
}
