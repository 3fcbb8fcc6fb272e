package models_test

import (
	"fmt"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/models"
)

// A torchvision ResNet-18 as PML's trunk (trunk.fc = Identity()): the
// embeddings are the 512 pooled features. With torchvision's weights in a
// StateDict (from a .pth or .safetensors file), LoadStateDict(sd) loads
// them by torchvision's names; fc.weight and fc.bias are ignored, as the
// trunk has no fc.
func ExampleResNet() {
	trunk, err := models.NewResNet(models.ResNetConfig{Depth: 18, Height: 64, Width: 64, Seed: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	sd := trunk.StateDict() // torchvision's state_dict names
	fmt.Println(len(sd), sd["layer2.0.downsample.0.weight"].Shape)
	fmt.Println(trunk.LoadStateDict(sd))

	x := gometric.Matrix{Rows: 2, Cols: 3 * 64 * 64, Data: make([]float32, 2*3*64*64)}
	emb, err := trunk.Embed(x) // eval mode, as model.eval()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(emb.Rows, emb.Cols)

	// Fine-tuning: one train-mode step, then the optimizer.
	loss, err := trunk.TrainStep(x, func(e gometric.Matrix) (float32, gometric.Matrix, error) {
		return 0, gometric.Matrix{Rows: e.Rows, Cols: e.Cols, Data: make([]float32, len(e.Data))}, nil
	})
	fmt.Println(loss, err)
	opt, _ := models.NewOptimizer("adam", 1e-5)
	fmt.Println(trunk.Step(opt))
	// Output:
	// 120 [128 64 1 1]
	// <nil>
	// 2 512
	// 0 <nil>
	// <nil>
}
