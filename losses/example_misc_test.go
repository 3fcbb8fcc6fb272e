package losses_test

import (
	"fmt"

	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// miscExampleBatch is a small batch of two classes in the plane.
func miscExampleBatch() losses.Batch {
	emb := mat.NewDense(4, 2, []float64{
		1, 0.1,
		0.9, 0.3,
		-0.2, 1,
		0.1, 0.8,
	})
	return losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}}
}

func ExampleAngular() {
	l := losses.NewAngular() // alpha 40°
	res, err := l.Compute(miscExampleBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Printf("grad row 0 %.4f\n", mat.Row(nil, 0, res.Grad))
	// Output:
	// loss 0.1937
	// grad row 0 [-0.0176 0.2566]
}

func ExampleNPairs() {
	l := losses.NewNPairs() // dot product of normalised embeddings
	res, err := l.Compute(miscExampleBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.3747
}

func ExampleNCA() {
	l := losses.NewNCA()
	l.SoftmaxScale = 2
	res, err := l.Compute(miscExampleBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.1038
}

func ExampleInstance() {
	l := losses.NewInstance()
	l.Gamma = 10
	res, err := l.Compute(miscExampleBatch())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 4.1974
}

func ExampleVICReg() {
	// Two views of the same four samples; no labels.
	z1 := mat.NewDense(4, 2, []float64{0, 1, 1, 0, 2, 2, -1, 0.5})
	z2 := mat.NewDense(4, 2, []float64{0.1, 1, 1, 0.2, 1.8, 2, -1, 0.4})
	res, err := losses.NewVICReg().Compute(losses.Batch{Embeddings: z1, Ref: z2})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	for _, name := range []string{"invariance_loss", "variance_loss1", "variance_loss2", "covariance_loss"} {
		fmt.Printf("%s %.4f\n", name, res.Parts[name])
	}
	// Output:
	// loss 3.1193
	// invariance_loss 0.3125
	// variance_loss1 0.9127
	// variance_loss2 1.1978
	// covariance_loss 0.6963
}

// A training loop hands each call the previous result, whose gradient
// matrices the call overwrites instead of allocating new ones.
func ExampleBatch_reuse() {
	loss := losses.NewContrastive()
	emb := mat.NewDense(4, 2, []float64{1, 0, 0.6, 0.8, 0, 1, 0.8, 0.6})
	labels := []int{0, 0, 1, 1}
	var res losses.Result
	var grads []*mat.Dense
	for range 3 {
		var err error
		res, err = loss.Compute(losses.Batch{Embeddings: emb, Labels: labels, Reuse: &res})
		if err != nil {
			fmt.Println(err)
			return
		}
		grads = append(grads, res.Grad)
	}
	fmt.Printf("loss %.4f, one gradient matrix: %v\n", res.Loss, grads[0] == grads[1] && grads[1] == grads[2])
	// Output:
	// loss 1.3785, one gradient matrix: true
}
