package miners_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/gometric/gometric/internal/testkit"
	"github.com/gometric/gometric/miners"
)

// concurrentMiner shares m and the inputs between goroutines (run with
// -race): a deterministic miner gives every goroutine the result of a
// lone call; a random one (nil Rand: the process-wide generator) valid
// tuples.
func concurrentMiner(t *testing.T, m miners.Miner) {
	self := miners.Input{Embeddings: circle(0, 30, 60, 90, 20, 50, 200, 250, 300), Labels: []int{0, 0, 0, 1, 1, 1, 2, 2, 0}}
	withRef := miners.Input{Embeddings: circle(0, 30, 60, 90), Labels: []int{0, 0, 1, 1}, Ref: circle(10, 40, 70, 100, 200), RefLabels: []int{0, 1, 1, 0, 2}}
	inputs := []miners.Input{self, withRef}
	if _, ok := m.(*miners.EmbeddingsAlreadyPackagedAsTriplets); ok {
		inputs = inputs[:1]
	}
	random := reflect.ValueOf(m).Elem().FieldByName("Rand").IsValid()
	for _, in := range inputs {
		n, _ := in.Embeddings.Dims()
		nr := n
		if in.Ref != nil {
			nr, _ = in.Ref.Dims()
		}
		want, err := m.Mine(in)
		if err != nil {
			t.Fatalf("%T: %v", m, err)
		}
		testkit.Concurrently(t, 4, 3, func(int) error {
			got, err := m.Mine(in)
			if err != nil {
				return fmt.Errorf("%T: %v", m, err)
			}
			if random {
				return got.Validate(n, nr)
			}
			if !reflect.DeepEqual(got, want) || miners.CountOf(got) != miners.CountOf(want) {
				return fmt.Errorf("%T: concurrent result %+v, sequential %+v", m, got, want)
			}
			return nil
		})
	}
}

// TestConcurrencyClaims backs every claim of safety for concurrent use in
// the package's docs (the list is checked against them): run with -race.
// HDC keeps state and is documented unsafe; DistanceWeighted and
// UniformHistogram are safe with a nil Rand only (a seeded *rand.Rand is
// not safe for concurrent use, internal/randsrc's rule), and are
// exercised so.
func TestConcurrencyClaims(t *testing.T) {
	each := func(ms ...miners.Miner) func(t *testing.T) {
		return func(t *testing.T) {
			for _, m := range ms {
				concurrentMiner(t, m)
			}
		}
	}
	ranged := &miners.BatchEasyHard{PosStrategy: miners.Hard, NegStrategy: miners.Easy,
		AllowedPosRange: &miners.Range{Low: 0, High: 1.5}, AllowedNegRange: &miners.Range{Low: 0.1, High: 2}}
	hard := miners.NewTripletMargin()
	hard.TypeOfTriplets = miners.SemiHard
	testkit.RunConcurrentCases(t, ".", []testkit.ConcurrentCase{
		{Type: "Angular", Run: each(miners.NewAngular())},
		{Type: "BatchEasyHard", Run: each(miners.NewBatchEasyHard(), ranged)},
		{Type: "BatchHard", Run: each(miners.NewBatchHard(), &miners.BatchHard{AllowedNegRange: &miners.Range{Low: 0.2, High: 2}})},
		{Type: "DistanceWeighted", Run: each(miners.NewDistanceWeighted())},
		{Type: "EmbeddingsAlreadyPackagedAsTriplets", Run: each(miners.NewEmbeddingsAlreadyPackagedAsTriplets())},
		{Type: "MultiSimilarity", Run: each(miners.NewMultiSimilarity())},
		{Type: "PairMargin", Run: each(miners.NewPairMargin())},
		{Type: "TripletMargin", Run: each(miners.NewTripletMargin(), hard)},
		{Type: "UniformHistogram", Run: each(miners.NewUniformHistogram())},
		// Data shared by the goroutines of the miners above.
		{Type: "Input", Run: each(miners.NewBatchHard(), miners.NewPairMargin())},
		{Type: "Range", Run: each(ranged)},
		{Type: "Strategy", Run: each(ranged, hard)},
		{Type: "Counts", Run: func(t *testing.T) {
			got, err := miners.NewPairMargin().Mine(miners.Input{Embeddings: circle(0, 30, 60, 90), Labels: []int{0, 0, 1, 1}})
			if err != nil {
				t.Fatal(err)
			}
			c := miners.CountOf(got)
			testkit.Concurrently(t, 4, 50, func(int) error {
				if d := miners.CountOf(got); d != c || d.PosPairs+d.NegPairs == 0 {
					return fmt.Errorf("counts %+v, want %+v", d, c)
				}
				return nil
			})
		}},
	})
}
