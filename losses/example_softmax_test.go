package losses_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric/losses"
	"gonum.org/v1/gonum/mat"
)

// softmaxExampleBatch is a small batch of two classes in the plane, and
// class weights W (2×2: embedding size × classes) pointing at them.
func softmaxExampleBatch() (losses.Batch, *mat.Dense) {
	emb := mat.NewDense(4, 2, []float64{
		1, 0.1,
		0.9, 0.3,
		-0.2, 1,
		0.1, 0.8,
	})
	w := mat.NewDense(2, 2, []float64{
		1, 0,
		0.2, 1,
	})
	return losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}}, w
}

func ExampleArcFace() {
	l, err := losses.NewArcFace(2, 2, rand.New(rand.NewPCG(1, 1))) // margin 28.6°
	if err != nil {
		fmt.Println(err)
		return
	}
	l.Scale = 4 // PML's default 64 saturates on this tiny batch
	b, w := softmaxExampleBatch()
	l.W.Copy(w)
	res, err := l.Compute(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Printf("dW row 0 %.4f\n", mat.Row(nil, 0, res.ParamGrads["W"]))
	// One SGD step on the class weights.
	for _, p := range l.Params() {
		p.Value.Sub(p.Value, scaled(0.01, res.ParamGrads[p.Name]))
	}
	after, _ := l.Compute(b)
	fmt.Printf("after a step %.4f\n", after.Loss)
	// Output:
	// loss 0.0891
	// dW row 0 [-0.0226 0.1241]
	// after a step 0.0889
}

func scaled(f float64, m *mat.Dense) *mat.Dense {
	var s mat.Dense
	s.Scale(f, m)
	return &s
}

func ExampleCosFace() {
	l, _ := losses.NewCosFace(2, 2, nil) // margin 0.35
	l.Scale = 4
	b, w := softmaxExampleBatch()
	l.W.Copy(w)
	res, err := l.Compute(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.1661
}

func ExampleSphereFace() {
	l, _ := losses.NewSphereFace(2, 2, nil) // margin 4, scale 1
	b, w := softmaxExampleBatch()
	l.W.Copy(w)
	res, err := l.Compute(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.4282
}

func ExampleLargeMarginSoftmax() {
	l, _ := losses.NewLargeMarginSoftmax(2, 2, nil) // margin 4, scale 1
	b, w := softmaxExampleBatch()
	l.W.Copy(w)
	res, err := l.Compute(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	logits, _ := l.Logits(b.Embeddings) // ‖w‖‖x‖cos θ: no margin
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Printf("logits row 0 %.4f\n", mat.Row(nil, 0, logits))
	// Output:
	// loss 0.4258
	// logits row 0 [1.0200 0.1000]
}

func ExampleNormalizedSoftmax() {
	l, _ := losses.NewNormalizedSoftmax(2, 2, nil)
	l.Temperature = 0.5 // PML's default 0.05 saturates on this tiny batch
	b, w := softmaxExampleBatch()
	l.W.Copy(w)
	res, err := l.Compute(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", res.Loss)
	// Output:
	// loss 0.1865
}

func ExampleSubCenterArcFace() {
	l, _ := losses.NewSubCenterArcFace(2, 2, 2, nil) // 2 sub-centres per class
	l.Scale = 4
	// Columns: class 0 has (1, 0.2) and (0, −1), class 1 (0, 1) and (−1, 0.2).
	l.W.Copy(mat.NewDense(2, 4, []float64{
		1, 0, 0, -1,
		0.2, -1, 1, 0.2,
	}))
	b, _ := softmaxExampleBatch()
	res, err := l.Compute(b)
	if err != nil {
		fmt.Println(err)
		return
	}
	outliers, dominant, _ := l.Outliers(b.Embeddings, b.Labels, 10) // more than 10° from the dominant centre
	fmt.Printf("loss %.4f\n", res.Loss)
	fmt.Println("outliers", outliers)
	fmt.Printf("dominant centres %v\n", mat.Formatted(dominant, mat.FormatPython()))
	// Output:
	// loss 0.0891
	// outliers [2]
	// dominant centres [[1, 0], [0.2, 1]]
}
