package models_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gometric/gometric/models"
)

// A torchvision state dict saved in Python with
//
//	torch.save(torchvision.models.resnet50(weights="IMAGENET1K_V1").state_dict(), "resnet50.pth")
//
// reads by torchvision's parameter names, here the fixture
// Sequential(Conv2d(3, 4, 3), BatchNorm2d(4)); it can be saved back as
// safetensors.
func ExampleReadStateDict() {
	sd, err := models.ReadStateDict("testdata/statedict/module.pth")
	if err != nil {
		fmt.Println(err)
		return
	}
	names := make([]string, 0, len(sd))
	for name := range sd {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t := sd[name]
		fmt.Println(name, t.Shape, len(t.Data), t.Ints)
	}

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "module.safetensors")
	if err := models.WriteSafetensorsFile(path, sd); err != nil {
		fmt.Println(err)
		return
	}
	back, err := models.ReadStateDict(path)
	fmt.Println(len(back), err)
	// Output:
	// 0.bias [4] 4 []
	// 0.weight [4 3 3 3] 108 []
	// 1.bias [4] 4 []
	// 1.num_batches_tracked [] 0 [1]
	// 1.running_mean [4] 4 []
	// 1.running_var [4] 4 []
	// 1.weight [4] 4 []
	// 7 <nil>
}
