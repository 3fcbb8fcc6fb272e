package losses_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/miners"
	"github.com/gometric/gometric/models"
)

// Your own training loop, PML's two lines: a miner and a loss on any
// model's float32 embeddings, the gradient for the model's backward pass,
// and the loss's learnable parameters (ArcFace's W) stepped in one line.
func ExampleObjective() {
	// A stand-in for any model: its embeddings are its parameters
	// (8 samples of 4 classes, embeddings of size 16).
	rng := rand.New(rand.NewPCG(1, 2))
	emb := gometric.Matrix{Rows: 8, Cols: 16, Data: make([]float32, 8*16)}
	for i := range emb.Data {
		emb.Data[i] = float32(rng.NormFloat64())
	}
	labels := []int{0, 1, 2, 3, 0, 1, 2, 3}

	arcface, _ := losses.NewArcFace(4, 16, rand.New(rand.NewPCG(0, 0)))
	obj := &losses.Objective{Loss: arcface, Miner: miners.NewMultiSimilarity()}
	lossOpt, _ := models.NewOptimizer("sgd", 0.01) // PML's loss_optimizer
	w0 := arcface.W.At(0, 0)
	for step := 0; step < 3; step++ {
		loss, grad, err := obj.Compute(emb, labels) // pairs = miner(...); loss = loss_func(...)
		if err != nil {
			fmt.Println(err)
			return
		}
		for i, g := range grad.Data { // the model's backward and optimizer step
			emb.Data[i] -= 0.05 * g
		}
		if err := obj.StepParams(lossOpt); err != nil { // loss_optimizer.step()
			fmt.Println(err)
			return
		}
		_, mined := obj.Last()
		fmt.Printf("step %d: loss %.2f, %d positive and %d negative pairs mined\n", step, loss, mined.PosPairs, mined.NegPairs)
	}
	fmt.Println("W stepped:", arcface.W.At(0, 0) != w0)
	// Output:
	// step 0: loss 42.35, 8 positive and 32 negative pairs mined
	// step 1: loss 40.10, 8 positive and 32 negative pairs mined
	// step 2: loss 37.12, 8 positive and 31 negative pairs mined
	// W stepped: true
}
