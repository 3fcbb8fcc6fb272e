package logging_test

import (
	"context"
	"fmt"
	"os"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/losses"
	"github.com/gometric/gometric/models"
	"github.com/gometric/gometric/testers"
	"github.com/gometric/gometric/trainers"
	"github.com/gometric/gometric/utils/accuracy"
	"github.com/gometric/gometric/utils/logging"
)

// ExampleHookContainer is PML's logging preset in a few lines: a trainer,
// a tester, a HookContainer on a model folder; Train tests every epoch,
// keeps the latest and the best checkpoint and the records, and a second
// call with Resume continues the run where it stopped.
func ExampleHookContainer() {
	train, val, err := datasets.FashionMNISTSample()
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "hooks")
	defer os.RemoveAll(dir)

	newTrainer := func() *trainers.MetricLossOnly {
		trunk, _ := models.NewConvNet(models.ConvNetConfig{Channels: 1, Height: 28, Width: 28, Blocks: []int{4}, Embedding: 16, Seed: 0})
		opt, _ := models.NewOptimizer("adam", 1e-3)
		t := trainers.NewMetricLossOnly(trunk, opt, 64, losses.NewContrastive(), train)
		t.IterationsPerEpoch = 4
		return t
	}
	tester := testers.NewGlobalEmbeddingSpace()
	tester.BatchSize = 256

	hooks := logging.NewHookContainer(dir, tester, map[string]datasets.Dataset{"val": val})
	if _, err := hooks.Train(context.Background(), newTrainer(), 2); err != nil {
		fmt.Println(err)
		return
	}
	// Later, in another process: continue to epoch 3.
	hooks = logging.NewHookContainer(dir, tester, map[string]datasets.Dataset{"val": val})
	hooks.Resume = true
	if _, err := hooks.Train(context.Background(), newTrainer(), 3); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range hooks.Records() {
		v, _ := r.Primary(accuracy.NameMeanAveragePrecisionAtR)
		fmt.Printf("epoch %d: %d iterations, MAP@R in [0, 1]: %v\n", r.Epoch, r.Train.Iterations, v >= 0 && v <= 1)
	}
	best, _ := hooks.Best()
	_, err = models.LoadEncoder(dir + "/checkpoint.gmw")
	fmt.Println("best epoch in 1..3:", best >= 1 && best <= 3, "checkpoint loads:", err == nil)
	// Output:
	// epoch 1: 4 iterations, MAP@R in [0, 1]: true
	// epoch 2: 4 iterations, MAP@R in [0, 1]: true
	// epoch 3: 4 iterations, MAP@R in [0, 1]: true
	// best epoch in 1..3: true checkpoint loads: true
}
