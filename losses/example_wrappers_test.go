package losses_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"gonum.org/v1/gonum/mat"
)

// Two views of three inputs: row i of ref is an augmentation of row i of
// the embeddings.
func ExampleSelfSupervised() {
	emb := mat.NewDense(3, 2, []float64{1, 0, 0, 1, -1, 0})
	ref := mat.NewDense(3, 2, []float64{0.9, 0.1, 0.1, 0.9, -0.9, -0.1})
	l := losses.NewSelfSupervised(losses.NewNTXent())
	res, err := l.Compute(losses.Batch{Embeddings: emb, Ref: ref})
	if err != nil {
		fmt.Println(err)
		return
	}
	r, _ := res.RefGrad.Dims()
	fmt.Printf("loss %.4f, ref gradient rows %d\n", res.Loss, r)
	// Output: loss 0.0000, ref gradient rows 3
}

// A contrastive loss on a miner's pairs plus half an ArcFace loss, named
// as PML's dict form.
func ExampleMultiple() {
	arc, err := losses.NewArcFace(2, 2, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	m := &losses.Multiple{
		Losses:  []losses.Loss{losses.NewContrastive(), arc},
		Names:   []string{"con", "arc"},
		Miners:  []miners.Miner{miners.NewMultiSimilarity(), nil},
		Weights: []float64{1, 0.5},
	}
	emb := mat.NewDense(4, 2, []float64{1, 0.1, 0.9, 0, 0, 1, 0.1, 0.9})
	res, err := m.Compute(losses.Batch{Embeddings: emb, Labels: []int{0, 0, 1, 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range m.Params() {
		r, c := res.ParamGrads[p.Name].Dims()
		fmt.Printf("%s: gradient %d×%d\n", p.Name, r, c)
	}
	// Output: losses.arc.W: gradient 2×2
}

// A memory of 4 slots filled over two calls; the second call's batch wraps
// around.
func ExampleCrossBatchMemory() {
	l, err := losses.NewCrossBatchMemory(losses.NewContrastive(), 2, 4)
	if err != nil {
		fmt.Println(err)
		return
	}
	batches := []*mat.Dense{
		mat.NewDense(3, 2, []float64{1, 0, 0, 1, 1, 0.1}),
		mat.NewDense(3, 2, []float64{0.1, 1, 0.9, 0, 0, 0.8}),
	}
	for _, b := range batches {
		if _, err := l.Compute(losses.Batch{Embeddings: b, Labels: []int{0, 1, 0}}); err != nil {
			fmt.Println(err)
			return
		}
		_, labels := l.Memory()
		fmt.Println("queue index", l.QueueIdx(), "filled", l.Filled(), "memory labels", labels)
	}
	// Output:
	// queue index 3 filled false memory labels [0 1 0]
	// queue index 2 filled true memory labels [1 0 0 0]
}

// Save a head's parameters and load them into another of the same shape.
func ExampleSaveParams() {
	dir, err := os.MkdirTemp("", "params")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "arcface.params")
	a, _ := losses.NewArcFace(3, 4, nil)
	b, _ := losses.NewArcFace(3, 4, nil)
	a.Params()[0].Value.Set(0, 0, 42)
	if err := losses.SaveParams(path, a); err != nil {
		fmt.Println(err)
		return
	}
	if err := losses.LoadParams(path, b); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(b.Params()[0].Value.At(0, 0))
	// Output: 42
}
