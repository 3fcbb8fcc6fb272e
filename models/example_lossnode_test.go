package models_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Your own Gorgonia network trained with a pure-Go miner and loss: the loss
// is one node of the graph, so a run is one forward pass, one loss call and
// one backward pass.
func ExampleLossNode() {
	// The user's network: a linear layer emb = x·w, 8 samples of 6
	// features to embeddings of size 4.
	const n, d, e = 8, 6, 4
	rng := rand.New(rand.NewPCG(3, 4))
	xs, ws := make([]float32, n*d), make([]float32, d*e)
	for i := range xs {
		xs[i] = float32(rng.NormFloat64()) + float32(i/d%2) // two classes, shifted apart
	}
	for i := range ws {
		ws[i] = float32(rng.NormFloat64()) / 2
	}
	labels := []int{0, 1, 0, 1, 0, 1, 0, 1}
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(n, d), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(n, d), tensor.WithBacking(xs))))
	w := gorgonia.NewMatrix(g, tensor.Float32, gorgonia.WithShape(d, e), gorgonia.WithName("w"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(d, e), tensor.WithBacking(ws))))
	emb := gorgonia.Must(gorgonia.Mul(x, w))

	// PML's miner and loss_func, as one node of the graph.
	obj := &losses.Objective{Loss: losses.NewTripletMargin(), Miner: miners.NewMultiSimilarity()}
	loss, err := models.LossNode(emb, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
		return obj.Compute(e, labels) // labels: the current batch's
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := gorgonia.Grad(loss, w); err != nil {
		fmt.Println(err)
		return
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(w))
	defer vm.Close()
	solver := gorgonia.NewAdamSolver(gorgonia.WithLearnRate(0.05))
	for step := 0; step < 4; step++ {
		if err := vm.RunAll(); err != nil { // forward, miner + loss, backward
			fmt.Println(err)
			return
		}
		if err := solver.Step(gorgonia.NodesToValueGrads(gorgonia.Nodes{w})); err != nil {
			fmt.Println(err)
			return
		}
		vm.Reset()
		res, mined := obj.Last()
		fmt.Printf("step %d: loss %.3f, %d+%d pairs mined\n", step, res.Loss, mined.PosPairs, mined.NegPairs)
	}
	// Output:
	// step 0: loss 0.458, 22+26 pairs mined
	// step 1: loss 0.393, 21+25 pairs mined
	// step 2: loss 0.368, 19+23 pairs mined
	// step 3: loss 0.319, 16+20 pairs mined
}
