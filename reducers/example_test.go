package reducers_test

import (
	"fmt"
	"math"

	"github.com/gometric/gometric/reducers"
)

// A contrastive-style loss with positive and negative pair losses, reduced
// by AvgNonZero as PML's ContrastiveLoss does by default.
func ExampleReduce() {
	losses := []reducers.SubLoss{
		{Name: "pos_loss", Values: []float64{0.5, 0, 1.5}, Indices: [][]int{{0, 1, 2}, {1, 0, 3}}, Kind: reducers.PosPair},
		{Name: "neg_loss", Values: []float64{0, 0.2}, Indices: [][]int{{0, 3}, {2, 1}}, Kind: reducers.NegPair},
	}
	out, err := reducers.Reduce(reducers.NewAvgNonZero(), losses, reducers.Batch{N: 4})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.2f, parts %.2f\n", out.Loss, out.Parts)
	fmt.Printf("d/d(pos_loss) %.2f\n", out.Grads[0])
	// Output:
	// loss 1.20, parts [1.00 0.20]
	// d/d(pos_loss) [0.50 0.00 0.50]
}

func ExampleMean() {
	l := reducers.SubLoss{Name: "loss", Values: []float64{1, 2, 6}, Kind: reducers.Element}
	v, grad, err := reducers.NewMean().ReduceOne(l, reducers.Batch{N: 3})
	fmt.Println(v, grad, err)
	// Output: 3 [0.3333333333333333 0.3333333333333333 0.3333333333333333] <nil>
}

func ExampleThreshold() {
	// Keep the values strictly above 0.5 (PML: ThresholdReducer(low=0.5)).
	r := reducers.NewThreshold(0.5, math.Inf(1))
	l := reducers.SubLoss{Name: "loss", Values: []float64{0.2, 0.5, 1, 2}, Kind: reducers.Element}
	v, grad, _ := r.ReduceOne(l, reducers.Batch{N: 4})
	fmt.Println(v, grad)
	// Output: 1.5 [0 0 0.5 0.5]
}

func ExampleDivisor() {
	// MarginLoss-style: the sum divided by the number of active pairs.
	l := reducers.SubLoss{Name: "margin_loss", Values: []float64{0.5, 1.5, 0}, Kind: reducers.Triplet, Divisor: 2, HasDivisor: true}
	v, grad, _ := reducers.NewDivisor().ReduceOne(l, reducers.Batch{N: 5})
	fmt.Println(v, grad)
	// Output: 1 [0.5 0.5 0.5]
}

func ExampleClassWeighted() {
	r := reducers.NewClassWeighted([]float64{0.5, 2})
	l := reducers.SubLoss{Name: "loss", Values: []float64{1, 1}, Indices: [][]int{{0, 1}}, Kind: reducers.Element}
	v, grad, _ := r.ReduceOne(l, reducers.Batch{N: 2, Labels: []int{0, 1}})
	fmt.Println(v, grad)
	// Output: 1.25 [0.25 1]
}

func ExamplePerAnchor() {
	// Anchor 0 has pairs with losses 1 and 3, anchor 1 one pair with loss
	// 4, anchor 2 none: per-anchor means 2, 4, 0, then their mean.
	l := reducers.SubLoss{
		Name:    "pos_loss",
		Values:  []float64{1, 3, 4},
		Indices: [][]int{{0, 0, 1}, {1, 2, 0}},
		Kind:    reducers.PosPair,
	}
	v, grad, _ := reducers.NewPerAnchor().ReduceOne(l, reducers.Batch{N: 3})
	fmt.Printf("%.4f %.4f\n", v, grad)
	// Output: 2.0000 [0.1667 0.1667 0.3333]
}

func ExampleMultiple() {
	r := reducers.NewMultiple(map[string]reducers.Reducer{"pos_loss": reducers.NewSum()})
	losses := []reducers.SubLoss{
		{Name: "pos_loss", Values: []float64{1, 2}, Kind: reducers.PosPair},
		{Name: "neg_loss", Values: []float64{1, 2}, Kind: reducers.NegPair},
	}
	out, _ := reducers.Reduce(r, losses, reducers.Batch{N: 3})
	fmt.Println(out.Loss, out.Parts)
	// Output: 4.5 [3 1.5]
}

func ExamplePassthrough() {
	var r reducers.Reducer = reducers.NewDoNothing()
	if reducers.Passthrough(r) {
		fmt.Println("hand the records back unreduced")
	}
	_, _, err := r.ReduceOne(reducers.SubLoss{Name: "loss"}, reducers.Batch{})
	fmt.Println(err != nil)
	// Output:
	// hand the records back unreduced
	// true
}
