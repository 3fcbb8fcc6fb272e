package losses_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// proxyExampleBatch is a small fixed batch of three classes.
func proxyExampleBatch() losses.Batch {
	return losses.Batch{
		Embeddings: mat.NewDense(6, 3, []float64{
			1, 0.1, 0, 0.9, 0, 0.2,
			0, 1, 0.1, 0.1, 0.8, 0,
			0, 0.2, 1, 0.1, 0, 0.9,
		}),
		Labels: []int{0, 0, 1, 1, 2, 2},
	}
}

func ExampleProxyAnchor() {
	l, err := losses.NewProxyAnchor(3, 3, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	// Start from proxies equal to the class directions.
	l.Proxies.Copy(mat.NewDense(3, 3, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}))
	res, err := l.Compute(proxyExampleBatch())
	if err != nil {
		panic(err)
	}
	r, c := res.ParamGrads["proxies"].Dims()
	fmt.Printf("loss %.4f (pos %.4f, neg %.4f), proxies gradient %d×%d\n",
		res.Loss, res.Parts["pos_loss"], res.Parts["neg_loss"], r, c)
	// Output:
	// loss 9.1273 (pos 0.0000, neg 9.1273), proxies gradient 3×3
}

func ExampleProxyNCA() {
	l, err := losses.NewProxyNCA(3, 3, nil)
	if err != nil {
		panic(err)
	}
	l.Proxies.Copy(mat.NewDense(3, 3, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}))
	res, err := l.Compute(proxyExampleBatch())
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.2798
}

func ExampleSoftTriple() {
	l, err := losses.NewSoftTriple(3, 3, 2, nil)
	if err != nil {
		panic(err)
	}
	// Two identical centres per class along the class direction.
	l.FC.Copy(mat.NewDense(3, 6, []float64{
		1, 1, 0, 0, 0, 0,
		0, 0, 1, 1, 0, 0,
		0, 0, 0, 0, 1, 1,
	}))
	res, err := l.Compute(proxyExampleBatch())
	if err != nil {
		panic(err)
	}
	r, c := res.ParamGrads["fc"].Dims()
	fmt.Printf("loss %.4f, fc gradient %d×%d\n", res.Loss, r, c)
	// Output:
	// loss 0.0000, fc gradient 3×6
}

func ExampleP2SGrad() {
	l, err := losses.NewP2SGrad(3, 3, nil)
	if err != nil {
		panic(err)
	}
	l.Weight.Copy(mat.NewDense(3, 3, []float64{2, 0, 0, 0, 2, 0, 0, 0, 2}))
	res, err := l.Compute(proxyExampleBatch())
	if err != nil {
		panic(err)
	}
	// Compute renormalised the columns of Weight to unit norm in place.
	fmt.Printf("loss %.4f, weight[0][0] %.4f\n", res.Loss, l.Weight.At(0, 0))
	// Output:
	// loss 0.0074, weight[0][0] 1.0000
}

func ExampleMargin() {
	l := losses.NewMargin()
	l.LearnBeta, l.Nu = true, 0.1
	res, err := l.Compute(proxyExampleBatch())
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.4f, d loss/d beta %.4f\n", res.Loss, res.ParamGrads["beta"].At(0, 0))
	// Output:
	// loss 0.2332, d loss/d beta 1.1000
}

func ExampleManifold() {
	l, err := losses.NewManifold(3, 3, nil)
	if err != nil {
		panic(err)
	}
	l.Proxies.Copy(mat.NewDense(3, 3, []float64{1, 0, 0, 0, 1, 0, 0, 0, 1}))
	l.MetaClasses = []int{0, 0, 1, 1, 2, 2} // each embedding's proxy
	l.Margin = 0.1
	b := proxyExampleBatch()
	b.Labels = nil // ManifoldLoss takes no labels
	res, err := l.Compute(b)
	if err != nil {
		panic(err)
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 1.1267
}
