package tuples_test

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/gometric/gometric/utils/tuples"
)

func ExampleAllPairs() {
	p, err := tuples.AllPairs([]int{0, 1, 0}, nil, true)
	if err != nil {
		panic(err)
	}
	fmt.Println("positive:", p.A1, p.P)
	fmt.Println("negative:", p.A2, p.N)
	// Output:
	// positive: [0 2] [2 0]
	// negative: [0 1 1 2] [1 0 2 1]
}

func ExampleEachAnchor() {
	labels := []int{0, 0, 1, 1}
	err := tuples.EachAnchor(labels, nil, true, func(a int, pos, neg []int) error {
		// pos and neg are reused buffers: use them here, do not keep them.
		var line []string
		for _, p := range pos {
			for _, n := range neg {
				line = append(line, fmt.Sprintf("(%d,%d,%d)", a, p, n))
			}
		}
		fmt.Println(a, strings.Join(line, " "))
		return nil
	})
	if err != nil {
		panic(err)
	}
	n, _ := tuples.CountAllTriplets(labels, nil, true)
	fmt.Println("count:", n)
	// Output:
	// 0 (0,1,2) (0,1,3)
	// 1 (1,0,2) (1,0,3)
	// 2 (2,3,0) (2,3,1)
	// 3 (3,2,0) (3,2,1)
	// count: 8
}

func ExampleToTriplets() {
	// Pairs are joined on their anchor, as PML's convert_to_triplets does.
	pairs := &tuples.Pairs{A1: []int{0, 1}, P: []int{1, 0}, A2: []int{1, 0, 0}, N: []int{2, 2, 3}}
	t, err := tuples.ToTriplets(pairs, []int{7, 7, 8, 9}, nil, true, tuples.AllPerAnchor, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(t.A, t.P, t.N)
	// Output:
	// [0 0 1] [1 1 0] [2 3 2]
}

func ExampleRandomTriplets() {
	labels := []int{0, 0, 0, 1, 1}
	rng := rand.New(rand.NewPCG(1, 2))
	t, err := tuples.RandomTriplets(labels, nil, true, 2, nil, rng)
	if err != nil {
		panic(err)
	}
	// Labels ascending, anchors ascending, 2 triplets each.
	fmt.Println(t.A)
	// Output:
	// [0 0 1 1 2 2 3 3 4 4]
}

func ExampleRemoveSelfComparisons() {
	// A batch of 3 written at slots 4, 0, 1 of a 5-slot ring buffer
	// (wrapping around); anchors are batch positions, positives slots.
	pairs := &tuples.Pairs{A1: []int{0, 1, 2, 0}, P: []int{4, 0, 1, 0}}
	out, err := tuples.RemoveSelfComparisons(pairs, []int{4, 0, 1}, 5, false)
	if err != nil {
		panic(err)
	}
	p := out.(*tuples.Pairs)
	fmt.Println(p.A1, p.P)
	// Output:
	// [0] [0]
}

func ExampleWeights() {
	trip := &tuples.Triplets{A: []int{0, 0, 1}, P: []int{1, 1, 0}, N: []int{2, 3, 2}}
	w, err := tuples.Weights(trip, 4, false)
	if err != nil {
		panic(err)
	}
	fmt.Println(w)
	// Output:
	// [1 1 0.6666666666666666 0.3333333333333333]
}
