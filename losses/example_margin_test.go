package losses_test

import (
	"fmt"

	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

func marginExampleBatch() losses.Batch {
	return losses.Batch{
		Embeddings: mat.NewDense(6, 2, []float64{
			1, 0.1, 0.9, 0.3, 0.8, -0.2,
			-0.1, 1, 0.3, 0.9, -1, -0.4,
		}),
		Labels: []int{0, 0, 0, 1, 1, 2},
	}
}

func ExampleDynamicSoftMargin() {
	loss := losses.NewDynamicSoftMargin()
	b := marginExampleBatch()
	// The second batch moves one point: its values shift the histogram by
	// the momentum (0.01) only.
	b2 := marginExampleBatch()
	b2.Embeddings.Set(5, 1, 0.9)
	for call, batch := range []losses.Batch{b, b2} {
		res, err := loss.Compute(batch)
		if err != nil {
			fmt.Println(err)
			return
		}
		h := loss.Histogram()
		fmt.Printf("call %d: loss %.4f, histogram bins 0-4 %.3f\n", call+1, res.Loss, h[:5])
	}
	loss.Reset()
	fmt.Printf("after Reset: %.0f\n", loss.Histogram())
	// Output:
	// call 1: loss -0.4458, histogram bins 0-4 [0.036 0.180 0.341 0.332 0.104]
	// call 2: loss -0.4649, histogram bins 0-4 [0.029 0.176 0.336 0.338 0.113]
	// after Reset: [0 0 0 0 0 0 0 0 0 0]
}

func ExampleThresholdConsistentMargin() {
	loss := losses.NewThresholdConsistentMargin()
	res, err := loss.Compute(marginExampleBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f, gradient norm %.4f\n", res.Loss, mat.Norm(res.Grad, 2))
	// Output:
	// loss 0.1563, gradient norm 1.7666
}
