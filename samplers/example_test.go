package samplers_test

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gometric/gometric/samplers"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

func ExampleMPerClass() {
	// Four classes: 0 and 1 have 5 samples, 2 has 3, 3 has a single one.
	labels := []int{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 3}
	s := samplers.NewMPerClass(labels, 2)
	s.BatchSize = 4
	s.LengthBeforeNewIter = 10 // rounded down to a multiple of 4
	rng := rand.New(rand.NewPCG(1, 2))
	batches, err := samplers.Batches(s, rng, s.BatchSize)
	if err != nil {
		panic(err)
	}
	fmt.Println("Len:", s.Len(), "batches:", len(batches))
	for _, b := range batches {
		// Each batch: 2 distinct classes × 2 samples; class 3 repeats its
		// single sample.
		fmt.Println(classCountsShape(b, labels))
	}
	// Output:
	// Len: 8 batches: 2
	// 2 classes × 2
	// 2 classes × 2
}

// An impossible (m, batch size) setting: the error names PML's assertion
// and lists the valid pairs for these labels.
func ExampleMPerClass_invalidBatchSize() {
	labels := []int{0, 0, 0, 1, 1, 1, 2, 2, 2} // 3 classes
	s := samplers.NewMPerClass(labels, 2)
	s.BatchSize = 5
	_, err := s.Epoch(nil) // nil: the process-wide generator
	fmt.Println(err)
	// Output:
	// samplers.MPerClass: batch_size (5) is not a multiple of m (2); valid settings for these 3 classes and length_before_new_iter 100000: m = 2 with batch_size 2, 4, 6; or batch_size 5 with m = 5: invalid setting
}

func ExampleMPerClass_coverAll() {
	labels := []int{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}
	s := samplers.NewMPerClass(labels, 2)
	s.BatchSize = 4
	s.CoverAll = true // one pass: every index once, 2 classes × 2 per batch
	rng := rand.New(rand.NewPCG(3, 4))
	batches, err := samplers.Batches(s, rng, s.BatchSize)
	if err != nil {
		panic(err)
	}
	seen := make(map[int]int)
	for _, b := range batches {
		for _, i := range b {
			seen[i]++
		}
		fmt.Println(classCountsShape(b, labels))
	}
	fmt.Println("distinct indices:", len(seen), "of", len(labels))
	// Output:
	// 2 classes × 2
	// 2 classes × 2
	// 2 classes × 2
	// 2 classes × 2
	// distinct indices: 16 of 16
}

// classCountsShape reports a batch as "<classes> classes × <per class>",
// or "mixed" when the classes do not have the same count.
func classCountsShape(batch, labels []int) string {
	count := make(map[int]int)
	for _, i := range batch {
		count[labels[i]]++
	}
	per := -1
	for _, n := range count {
		if per >= 0 && n != per {
			return "mixed"
		}
		per = n
	}
	return fmt.Sprintf("%d classes × %d", len(count), per)
}

func ExampleHierarchical() {
	// Six classes under two super labels (e.g. "bikes" 0 and "chairs" 1).
	fine := []int{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5}
	super := []int{0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1}
	h := samplers.NewHierarchical(fine, super, 8, 2)
	batches, err := h.EpochBatches(rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		panic(err)
	}
	fmt.Println("batches:", h.NumBatches())
	for _, b := range batches {
		supers := make(map[int]int)
		for _, i := range b {
			supers[super[i]]++
		}
		fmt.Println(len(b), "samples:", supers[0], "from super 0,", supers[1], "from super 1,", classCountsShape(b, fine))
	}
	// Output:
	// batches: 4
	// 8 samples: 4 from super 0, 4 from super 1, 4 classes × 2
	// 8 samples: 4 from super 0, 4 from super 1, 4 classes × 2
	// 8 samples: 4 from super 0, 4 from super 1, 4 classes × 2
	// 8 samples: 4 from super 0, 4 from super 1, 4 classes × 2
}

func ExampleFixedSetOfTriplets() {
	labels := []int{0, 0, 1, 1, 2, 2}
	f, err := samplers.NewFixedSetOfTriplets(labels, 4, rand.New(rand.NewPCG(7, 8)))
	if err != nil {
		panic(err)
	}
	epoch, err := f.Epoch(rand.New(rand.NewPCG(9, 10)))
	if err != nil {
		panic(err)
	}
	fmt.Println("Len:", f.Len(), "epoch:", len(epoch))
	for i := 0; i < len(epoch); i += 3 {
		a, p, n := epoch[i], epoch[i+1], epoch[i+2]
		fmt.Println(labels[a] == labels[p], labels[a] != labels[n], a != p)
	}
	// Output:
	// Len: 12 epoch: 12
	// true true true
	// true true true
	// true true true
	// true true true
}

func ExampleTuplesToWeights() {
	labels := []int{0, 0, 1, 1}
	// A stand-in for a network: sample i embeds to (i, 1).
	model := func(idx []int) (*mat.Dense, error) {
		m := mat.NewDense(len(idx), 2, nil)
		for r, i := range idx {
			m.Set(r, 0, float64(i))
			m.Set(r, 1, 1)
		}
		return m, nil
	}
	// A stand-in for a miner: one hard triplet (0, 1, 2) among the rows.
	miner := func(emb *mat.Dense, labels []int) (tuples.Tuples, error) {
		return &tuples.Triplets{A: []int{0}, P: []int{1}, N: []int{2}}, nil
	}
	s := samplers.NewTuplesToWeights(model, miner, labels)
	idx, w, err := s.EpochWithWeights(rand.New(rand.NewPCG(11, 12)))
	if err != nil {
		panic(err)
	}
	fmt.Println("weights:", w)
	fmt.Println("drew", len(idx), "indices, index 3 drawn:", slices.Contains(idx, 3))
	// Output:
	// weights: [1 1 1 0]
	// drew 4 indices, index 3 drawn: false
}
