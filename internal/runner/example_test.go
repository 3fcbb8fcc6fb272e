package runner_test

import (
	"fmt"

	"github.com/gometric/gometric/internal/runner"
)

// ExampleNewLoss builds the loss and miner of the quick-start's defaults.
func ExampleNewLoss() {
	o := runner.Defaults()
	loss, takesTuples, err := runner.NewLoss(o.Loss, 10, 8, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	miner, err := runner.NewMiner(o.Miner, o.Seed)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%T %T %v\n", loss, miner, takesTuples)
	// Output: *losses.TripletMargin *miners.MultiSimilarity true
}
