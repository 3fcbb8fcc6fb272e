package losses_test

import (
	"fmt"

	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// rankingBatch is a small batch of three classes in the plane.
func rankingBatch() losses.Batch {
	emb := mat.NewDense(6, 2, []float64{
		1, 0.1,
		0.9, 0.3,
		-0.2, 1,
		0.1, 0.8,
		-1, -0.3,
		0.4, -0.9,
	})
	return losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1, 2, 2}}
}

func ExampleFastAP() {
	loss := losses.NewFastAP() // 10 bins over squared normalised L2 distances
	res, err := loss.Compute(rankingBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Element 4's positive is ranked behind a negative: it gets a gradient;
	// element 0's positive is closer than every negative, so its precision
	// is flat at 1.
	fmt.Printf("grad row 4: %.4f\n", mat.Row(nil, 4, res.Grad))
	// Output:
	// loss 0.2109
	// grad row 4: [-0.0621 0.2070]
}

func ExampleHistogram() {
	loss := losses.NewHistogram()
	loss.NBins = 10
	res, err := loss.Compute(rankingBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.1847
}

func ExamplePNP() {
	loss := losses.NewPNP()
	loss.Variant, loss.Anneal = losses.PNPDq, 0.1
	res, err := loss.Compute(rankingBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.0890
}

func ExampleRankedList() {
	loss := losses.NewRankedList(0.4, 1) // margin 0.4, Tn 1: Alpha = 1.2
	res, err := loss.Compute(rankingBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("alpha %.1f, loss %.4f\n", loss.Alpha, res.Loss)
	// Output:
	// alpha 1.2, loss 0.1438
}
