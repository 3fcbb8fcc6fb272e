package losses_test

import (
	"fmt"

	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/utils/tuples"
	"gonum.org/v1/gonum/mat"
)

// pairbasedExampleBatch is a small batch of three classes in 3-D.
func pairbasedExampleBatch() losses.Batch {
	emb := mat.NewDense(6, 3, []float64{
		1, 0.2, 0,
		0.9, 0.1, 0.3,
		0, 1, 0.2,
		0.3, 0.8, 0,
		0.1, 0, 1,
		0.4, 0.2, 0.9,
	})
	return losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1, 2, 2}}
}

func ExampleLiftedStructure() {
	l := losses.NewLiftedStructure() // neg_margin 1, pos_margin 0, normalised L2
	res, err := l.Compute(pairbasedExampleBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Printf("grad row 0 %.4f\n", mat.Row(nil, 0, res.Grad))
	// Output:
	// loss 2.6613
	// grad row 0 [-0.1037 0.5184 -0.4166]
}

func ExampleNTXent() {
	l := losses.NewNTXent() // temperature 0.07, cosine similarity
	l.Temperature = 0.1
	res, err := l.Compute(pairbasedExampleBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Printf("grad row 0 %.4f\n", mat.Row(nil, 0, res.Grad))
	// Output:
	// loss 0.0382
	// grad row 0 [-0.0127 0.0637 -0.0306]
}

func ExampleIntraPairVariance() {
	l := losses.NewIntraPairVariance() // pos_eps 0.01, neg_eps 0.01, cosine
	res, err := l.Compute(pairbasedExampleBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("pos_loss %.6f neg_loss %.6f\n", res.Parts["pos_loss"], res.Parts["neg_loss"])
	// Output:
	// pos_loss 0.000005 neg_loss 0.016472
}

func ExampleTupletMargin() {
	l := losses.NewTupletMargin() // margin 5.73°, scale 64, cosine
	l.Scale = 16
	b := pairbasedExampleBatch()
	// Mined triplets become the pairs (a, p) and (a, n), as in PML.
	b.Tuples = &tuples.Triplets{A: []int{0, 2, 4}, P: []int{1, 3, 5}, N: []int{3, 5, 0}}
	res, err := l.Compute(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.6f\n", res.Loss)
	// Output:
	// loss 0.000298
}
