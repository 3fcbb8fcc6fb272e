package datasets_test

import (
	"fmt"
	"image"
	"log"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
)

// torchvision's ImageNet evaluation preprocessing, Resize(256) then
// CenterCrop(224), on a 500×375 image.
func ExampleEvalTransform() {
	img := image.NewRGBA(image.Rect(0, 0, 500, 375))
	out, err := datasets.EvalTransform(224, 256).Apply(img, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out.Bounds().Dx(), out.Bounds().Dy())
	fmt.Println(datasets.EvalTransform(224, 256))
	// Output:
	// 224 224
	// Compose(
	//     Resize(size=256, interpolation=bilinear, max_size=0)
	//     CenterCrop(size=(224, 224))
	// )
}

// Training augmentation drawn per sample from (seed, epoch, index): the
// same triple gives the same crop, whatever the batch or the worker.
func ExampleTrainTransform() {
	img := image.NewRGBA(image.Rect(0, 0, 320, 240))
	tr := datasets.TrainTransform(224)
	a, err := tr.Apply(img, datasets.SampleRand(0, 3, 17))
	if err != nil {
		log.Fatal(err)
	}
	b, _ := tr.Apply(img, datasets.SampleRand(0, 3, 17))
	fmt.Println(a.Bounds().Dx(), a.Bounds().Dy(), string(a.Pix) == string(b.Pix))
	// Output: 224 224 true
}

// A pipeline ending in torchvision's ToTensor and Normalize.
func ExampleToTensor() {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	pipe := datasets.Compose{datasets.Resize{Size: 2}, datasets.NewRandomHorizontalFlip(0.5), datasets.ColorJitter{Brightness: 0.4}}
	out, err := pipe.Apply(img, datasets.SampleRand(1, 0, 0))
	if err != nil {
		log.Fatal(err)
	}
	x, err := datasets.ToTensor(out, datasets.ImageNetNormalize(), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d values, first %.4f\n", len(x), x[0])
	// Output: 12 values, first -2.1179
}

// Two streams of one data set, paired sample by sample, as PML's
// TwoStreamMetricLoss trainer reads them.
func ExampleNewTwoStream() {
	anchors, err := datasets.NewFeatures(2, []float32{1, 0, 0, 1, 1, 1}, []int{0, 1, 0})
	if err != nil {
		log.Fatal(err)
	}
	positives, err := datasets.NewFeatures(2, []float32{0.9, 0.1, 0.1, 0.9, 1, 0.8}, []int{0, 1, 0})
	if err != nil {
		log.Fatal(err)
	}
	ts, err := datasets.NewTwoStream(anchors, positives)
	if err != nil {
		log.Fatal(err)
	}
	a, p, labels, err := ts.Batch([]int{2, 0}, gometric.Matrix{}, gometric.Matrix{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Data, p.Data, labels)
	// Output: [1 1 1 0] [1 0.8 0.9 0.1] [0 0]
}
