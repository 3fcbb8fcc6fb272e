package miners_test

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric/distances"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// exampleBatch is four points on a line, x = 0, 1, 3, 6, in two classes;
// with an unnormalised Euclidean distance d(i, j) = |x_i − x_j|.
func exampleBatch() miners.Input {
	return miners.Input{
		Embeddings: mat.NewDense(4, 1, []float64{0, 1, 3, 6}),
		Labels:     []int{0, 0, 1, 1},
	}
}

func euclid() *distances.Lp { return &distances.Lp{P: 2, Power: 1} }

// circle returns unit vectors at the given angles (degrees).
func circle(degrees ...float64) *mat.Dense {
	m := mat.NewDense(len(degrees), 2, nil)
	for i, deg := range degrees {
		s, c := math.Sincos(deg * math.Pi / 180)
		m.SetRow(i, []float64{c, s})
	}
	return m
}

func printTuples(t tuples.Tuples) {
	switch v := t.(type) {
	case *tuples.Triplets:
		fmt.Println("a:", v.A, "p:", v.P, "n:", v.N)
	case *tuples.Pairs:
		fmt.Println("a1:", v.A1, "p:", v.P)
		fmt.Println("a2:", v.A2, "n:", v.N)
	}
}

func ExampleTripletMargin() {
	m := miners.NewTripletMargin()
	m.Distance = euclid()
	m.Margin = 2
	m.TypeOfTriplets = miners.SemiHard // 0 < d(a,n) − d(a,p) <= 2
	t, err := m.Mine(exampleBatch())
	if err != nil {
		panic(err)
	}
	printTuples(t)
	// Output:
	// a: [0 1 3] p: [1 0 2] n: [2 2 1]
}

func ExamplePairMargin() {
	m := miners.NewPairMargin()
	m.Distance = euclid()
	m.PosMargin, m.NegMargin = 2, 3 // positives farther than 2, negatives closer than 3
	t, err := m.Mine(exampleBatch())
	if err != nil {
		panic(err)
	}
	printTuples(t)
	// Output:
	// a1: [2 3] p: [3 2]
	// a2: [1 2] n: [2 1]
}

func ExampleBatchHard() {
	m := miners.NewBatchHard()
	m.Distance = euclid()
	t, err := m.Mine(exampleBatch())
	if err != nil {
		panic(err)
	}
	// The farthest positive and the closest negative of each anchor.
	printTuples(t)
	// Output:
	// a: [0 1 2 3] p: [1 0 3 2] n: [2 2 1 1]
}

func ExampleBatchEasyHard() {
	m := miners.NewBatchEasyHard() // easy positives, semi-hard negatives
	m.Distance = euclid()
	t, err := m.Mine(exampleBatch())
	if err != nil {
		panic(err)
	}
	// Anchor 2 has no negative farther than its positive: it is dropped.
	printTuples(t)
	// Output:
	// a1: [0 1 3] p: [1 0 2]
	// a2: [0 1 3] n: [2 2 1]
}

func ExampleMultiSimilarity() {
	// Unit vectors at 0°, 80°, 40°, 60°; labels 0, 0, 1, 1. The default
	// distance is the cosine similarity.
	in := miners.Input{Embeddings: circle(0, 80, 40, 60), Labels: []int{0, 0, 1, 1}}
	t, err := miners.NewMultiSimilarity().Mine(in)
	if err != nil {
		panic(err)
	}
	// Negatives come by increasing similarity for each anchor.
	printTuples(t)
	// Output:
	// a1: [0 1 3] p: [1 0 2]
	// a2: [0 0 1 1 3] n: [3 2 2 3 1]
}

func ExampleHDC() {
	m := miners.NewHDC() // keeps the hardest half of each kind of pair
	m.Distance = euclid()
	t, err := m.Mine(exampleBatch())
	if err != nil {
		panic(err)
	}
	printTuples(t)

	// A cascade: filter another miner's output further.
	hard, _ := (&miners.BatchHard{Distance: euclid()}).Mine(exampleBatch())
	if err := m.SetIndicesExternally(hard, exampleBatch().Labels); err != nil {
		panic(err)
	}
	t, err = m.Mine(exampleBatch())
	if err != nil {
		panic(err)
	}
	printTuples(t)
	m.ResetIndices()
	// Output:
	// a1: [2 3] p: [3 2]
	// a2: [1 2 0 2] n: [2 1 2 0]
	// a1: [2 3] p: [3 2]
	// a2: [1 2] n: [2 1]
}

func ExampleAngular() {
	m := miners.NewAngular() // 20 degrees
	t, err := m.Mine(exampleBatch())
	if err != nil {
		panic(err)
	}
	// Only (2, 3, 1) and (3, 2, 1) have atan(|a−p| / 2|n−c|) > 20°.
	printTuples(t)
	// Output:
	// a: [2 3] p: [3 2] n: [1 1]
}

func ExampleEmbeddingsAlreadyPackagedAsTriplets() {
	// Rows 0, 1, 2 are one triplet, rows 3, 4, 5 another; no labels needed.
	in := miners.Input{Embeddings: mat.NewDense(6, 2, nil)}
	t, err := miners.NewEmbeddingsAlreadyPackagedAsTriplets().Mine(in)
	if err != nil {
		panic(err)
	}
	printTuples(t)
	// Output:
	// a: [0 3] p: [1 4] n: [2 5]
}

func ExampleDistanceWeighted() {
	m := miners.NewDistanceWeighted()
	m.Rand = rand.New(rand.NewPCG(1, 2))
	// Unit vectors in the plane; negatives closer than the non-zero-loss
	// cut-off (1.4) are drawn, nearer ones more often.
	in := miners.Input{Embeddings: circle(0, 30, 60, 90, 20, 50), Labels: []int{0, 0, 0, 1, 1, 1}}
	t, err := m.Mine(in)
	if err != nil {
		panic(err)
	}
	tr := t.(*tuples.Triplets)
	// Each anchor appears as many times as its class has members.
	fmt.Println("anchors:", tr.A)
	// Output:
	// anchors: [0 0 0 1 1 1 2 2 2 3 3 3 4 4 4 5 5 5]
}

func ExampleUniformHistogram() {
	m := miners.NewUniformHistogram()
	m.Distance = euclid()
	m.NumBins, m.PosPerBin, m.NegPerBin = 2, 3, 1
	m.Rand = rand.New(rand.NewPCG(1, 2))
	t, err := m.Mine(exampleBatch())
	if err != nil {
		panic(err)
	}
	// Two non-empty bins of each kind: 3 positives and 1 negative per bin.
	fmt.Printf("%+v\n", miners.CountOf(t))
	// Output:
	// {PosPairs:6 NegPairs:2 Triplets:0}
}

func ExampleCountOf() {
	// Default TripletMargin (normalised Euclidean distance, margin 0.2).
	in := miners.Input{Embeddings: circle(0, 80, 40, 60), Labels: []int{0, 0, 1, 1}}
	t, err := miners.NewTripletMargin().Mine(in)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%+v\n", miners.CountOf(t))
	// Output:
	// {PosPairs:0 NegPairs:0 Triplets:5}
}
