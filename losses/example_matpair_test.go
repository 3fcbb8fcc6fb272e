package losses_test

import (
	"fmt"

	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// matpairExampleBatch is a small batch of two classes in the plane.
func matpairExampleBatch() losses.Batch {
	emb := mat.NewDense(4, 2, []float64{
		1, 0.1,
		0.9, 0.3,
		-0.2, 1,
		0.1, 0.8,
	})
	return losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}}
}

func ExampleMultiSimilarity() {
	loss := losses.NewMultiSimilarity() // alpha 2, beta 50, base 0.5, cosine
	res, err := loss.Compute(matpairExampleBatch())
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.6f\n", res.Loss)
	fmt.Printf("d/d emb[0] = (%.6f, %.6f)\n", res.Grad.At(0, 0), res.Grad.At(0, 1))
	// Output:
	// loss 0.167476
	// d/d emb[0] = (0.003039, -0.030390)
}

func ExampleGeneralizedLiftedStructure() {
	loss := losses.NewGeneralizedLiftedStructure() // neg_margin 1, pos_margin 0, L2
	res, err := loss.Compute(matpairExampleBatch())
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.6f\n", res.Loss)
	// Output:
	// loss 0.690012
}

func ExampleSupCon() {
	loss := losses.NewSupCon() // temperature 0.1, cosine
	res, err := loss.Compute(matpairExampleBatch())
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.6f\n", res.Loss)
	// Output:
	// loss 0.002932
}

func ExampleCircle() {
	loss := losses.NewCircle() // m 0.4, gamma 80, cosine
	loss.Gamma = 32
	res, err := loss.Compute(matpairExampleBatch())
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.6f\n", res.Loss)
	// Output:
	// loss 0.007365
}
