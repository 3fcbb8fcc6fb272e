package tuples

import "testing"

func benchLabels(n, classes int) []int {
	labels := make([]int, n)
	for i := range labels {
		labels[i] = (i * 7) % classes
	}
	return labels
}

func BenchmarkEachAnchor(b *testing.B) {
	labels := benchLabels(256, 16)
	var sink int
	fn := func(_ int, pos, neg []int) error {
		for _, p := range pos {
			for _, n := range neg {
				sink += p ^ n
			}
		}
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := EachAnchor(labels, nil, true, fn); err != nil {
			b.Fatal(err)
		}
	}
	_ = sink
}

func BenchmarkAllPairs(b *testing.B) {
	labels := benchLabels(256, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AllPairs(labels, nil, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAllTriplets(b *testing.B) {
	labels := benchLabels(256, 16)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AllTriplets(labels, nil, true); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRandomTriplets(b *testing.B) {
	labels := benchLabels(256, 16)
	rng := seeded(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := RandomTriplets(labels, nil, true, 10, nil, rng); err != nil {
			b.Fatal(err)
		}
	}
}
