package models_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
	"gonum.org/v1/gonum/mat"
)

// A training loop: TrainStep runs forward, loss and backward in one pass
// of the Gorgonia graph; Step applies the optimizer.
func ExampleConvNet() {
	enc, err := models.NewConvNet(models.ReferenceConvNetConfig(0))
	if err != nil {
		panic(err)
	}
	for _, p := range enc.Params() {
		fmt.Println(p.Name(), p.Shape())
	}
	opt, err := models.NewOptimizer("adam", 1e-3)
	if err != nil {
		panic(err)
	}
	// The loss pulls every embedding towards 0.
	// Two 1×28×28 images, one flattened image per row.
	batch := gometric.Matrix{Rows: 2, Cols: 28 * 28, Data: make([]float32, 2*28*28)}
	for i := range batch.Data {
		batch.Data[i] = float32(i%28) / 28
	}
	loss := func(emb gometric.Matrix) (float32, gometric.Matrix, error) {
		var l float32
		grad := emb.Clone()
		for i, v := range emb.Data {
			l += v * v
			grad.Data[i] = 2 * v
		}
		return l, grad, nil
	}
	first, err := enc.TrainStep(batch, loss)
	if err != nil {
		panic(err)
	}
	if err := enc.Step(opt); err != nil {
		panic(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := enc.TrainStep(batch, loss); err != nil {
			panic(err)
		}
		if err := enc.Step(opt); err != nil {
			panic(err)
		}
	}
	last, _ := enc.TrainStep(batch, loss)
	emb, _ := enc.Embed(batch)
	fmt.Println("embeddings:", emb.Rows, emb.Cols)
	fmt.Println("loss fell:", last < first)
	// Output:
	// conv1.weight [16 1 3 3]
	// conv1.bias [16]
	// conv2.weight [32 16 3 3]
	// conv2.bias [32]
	// fc.weight [64 1568]
	// fc.bias [64]
	// embeddings: 2 64
	// loss fell: true
}

// An MLP head on precomputed features, saved and loaded back.
func ExampleMLP() {
	enc, err := models.NewMLP(models.MLPConfig{Sizes: []int{512, 64}, Seed: 1})
	if err != nil {
		panic(err)
	}
	features := gometric.Matrix{Rows: 3, Cols: 512, Data: make([]float32, 3*512)}
	for i := range features.Data {
		features.Data[i] = float32(i%7) - 3
	}
	emb, _ := enc.Embed(features)

	dir, _ := os.MkdirTemp("", "models-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "head.gmw")
	if err := enc.Save(path); err != nil {
		panic(err)
	}
	back, err := models.LoadEncoder(path)
	if err != nil {
		panic(err)
	}
	emb2, _ := back.Embed(features)
	same := true
	for i := range emb.Data {
		same = same && emb.Data[i] == emb2.Data[i]
	}
	fmt.Println(emb.Rows, emb.Cols, back.InputShape(), back.EmbeddingSize(), same)
	// Output:
	// 3 64 [512] 64 true
}

// Optimizers by name, with torch's defaults.
func ExampleNewOptimizer() {
	adam, _ := models.NewOptimizer("adam", 1e-3)
	fmt.Println(adam.Name(), adam.LR, adam.Beta1, adam.Beta2, adam.Eps)
	sgd, _ := models.NewOptimizer("sgd", 0.01)
	sgd.Momentum, sgd.Nesterov = 0.9, true // read at every Step
	fmt.Println(sgd.Name(), sgd.LR, sgd.Momentum, sgd.Nesterov)
	adamw, _ := models.NewOptimizer("adamw", 1e-3)
	fmt.Println(adamw.Name(), adamw.LR, adamw.WeightDecay)
	rms, _ := models.NewOptimizer("rmsprop", 0.01)
	fmt.Println(rms.Name(), rms.LR, rms.Alpha, rms.Eps)
	_, err := models.NewOptimizer("lbfgs", 1)
	fmt.Println(err)
	// Output:
	// adam 0.001 0.9 0.999 1e-08
	// sgd 0.01 0.9 true
	// adamw 0.001 0.01
	// rmsprop 0.01 0.99 1e-08
	// models.NewOptimizer: unknown optimizer "lbfgs" (want one of [adam adamw sgd rmsprop]): invalid setting
}

// A learning-rate schedule, as torch's StepLR: the rate is set on the
// optimizer, whose moments are kept.
func ExampleNewStepLR() {
	opt, _ := models.NewOptimizer("adam", 0.1)
	sched, _ := models.NewStepLR(opt, 2, 0.5) // torch.optim.lr_scheduler.StepLR(opt, 2, gamma=0.5)
	for epoch := 0; epoch < 5; epoch++ {
		// ... train an epoch: enc.TrainStep, enc.Step(opt) ...
		_ = sched.Step()
		fmt.Print(opt.LR, " ")
	}
	fmt.Println()
	// Output: 0.1 0.05 0.05 0.025 0.025
}

// Cosine annealing over 4 epochs to 0.
func ExampleNewCosineAnnealingLR() {
	opt, _ := models.NewOptimizer("sgd", 1)
	sched, _ := models.NewCosineAnnealingLR(opt, 4, 0)
	for range 4 {
		_ = sched.Step()
		fmt.Printf("%.4f ", sched.LastLR())
	}
	fmt.Println()
	// Output: 0.8536 0.5000 0.1464 0.0000
}

// The rate is cut when the validation metric stops improving.
func ExampleNewReduceLROnPlateau() {
	opt, _ := models.NewOptimizer("adamw", 1e-3)
	sched, _ := models.NewReduceLROnPlateau(opt)
	sched.Mode, sched.Patience = "max", 1 // an accuracy; tolerate one bad epoch
	for _, mapr := range []float64{0.30, 0.40, 0.39, 0.40, 0.41} {
		_ = sched.Step(mapr)
		fmt.Print(opt.LR, " ")
	}
	fmt.Println()
	// Output: 0.001 0.001 0.001 0.0001 0.0001
}

// Clipping the gradients between TrainStep and Step.
func ExampleClipGradNorm() {
	w, g := mat.NewDense(1, 2, []float64{0, 0}), mat.NewDense(1, 2, []float64{3, 4})
	p, _ := models.NewDenseParam("w", w, g)
	norm, _ := models.ClipGradNorm([]*models.Param{p}, 1, 2)
	fmt.Printf("norm %.1f, clipped to %.4f %.4f\n", norm, g.At(0, 0), g.At(0, 1))
	_ = models.ClipGradValue([]*models.Param{p}, 0.7)
	fmt.Printf("%.4f %.4f\n", g.At(0, 0), g.At(0, 1))
	// Output:
	// norm 5.0, clipped to 0.6000 0.8000
	// 0.6000 0.7000
}
