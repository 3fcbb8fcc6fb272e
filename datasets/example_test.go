package datasets_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log"
	"strings"
	"testing/fstest"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/datasets"
)

// The embedded Fashion-MNIST sample: real images, normalised for the
// encoder as torchvision's ToTensor and Normalize((0.2860,), (0.3530,)).
func ExampleFashionMNISTSample() {
	train, test, err := datasets.FashionMNISTSample()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.Len(), test.Len(), train.SampleShape())
	fmt.Println(train.ClassCounts())
	fmt.Println(train.ClassName(train.Labels()[0]))
	batch, labels, err := train.Batch([]int{0, 1}, gometric.Matrix{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d×%d, labels %v, first %.4f\n", batch.Rows, batch.Cols, labels, batch.Data[0])
	// Output:
	// 2000 1000 [1 28 28]
	// map[0:200 1:200 2:200 3:200 4:200 5:200 6:200 7:200 8:200 9:200]
	// Ankle boot
	// 2×784, labels [9 0], first -0.8102
}

// The quick-start's loading step: the full data set where Debian's
// dataset-fashion-mnist is installed, the embedded sample elsewhere.
func ExampleLoadFashionMNISTOrSample() {
	train, test, usedSample, err := datasets.LoadFashionMNISTOrSample("")
	if err != nil {
		log.Fatal(err)
	}
	if usedSample {
		fmt.Println(datasets.FashionMNISTSampleNotice(""))
	}
	fmt.Println(train.Len(), test.Len())
}

// A class-disjoint run: train on classes 0–4, evaluate retrieval on the
// test images of classes 5–9.
func ExampleClassDisjoint() {
	train, test, err := datasets.FashionMNISTSample()
	if err != nil {
		log.Fatal(err)
	}
	trainClasses, _ := datasets.ParseClassList("0-4")
	testClasses, _ := datasets.ParseClassList("5-9")
	tr, te, err := datasets.ClassDisjoint(train, test, trainClasses, testClasses)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tr.Len(), te.Len(), te.ClassCounts())
	// Losses with one weight per class want labels 0..k-1.
	rel, orig := te.Relabel()
	fmt.Println(rel.ClassCounts(), orig, rel.ClassName(0))
	// Output:
	// 1000 500 map[5:100 6:100 7:100 8:100 9:100]
	// map[0:100 1:100 2:100 3:100 4:100] [5 6 7 8 9] Sandal
}

// CUB-200-2011 with PML's split: classes 1–100 train, 101–200 test. Here
// the layout is built in memory; NewCUB reads the same from a directory.
func ExampleNewCUBFS() {
	jpegOf := func(c color.Gray) []byte {
		img := image.NewGray(image.Rect(0, 0, 40, 30))
		for i := range img.Pix {
			img.Pix[i] = c.Y
		}
		var buf bytes.Buffer
		jpeg.Encode(&buf, img, nil)
		return buf.Bytes()
	}
	fsys := fstest.MapFS{
		"CUB_200_2011/images.txt":                 {Data: []byte("1 001.Albatross/a.jpg\n2 001.Albatross/b.jpg\n3 150.Sparrow/c.jpg\n")},
		"CUB_200_2011/image_class_labels.txt":     {Data: []byte("1 1\n2 1\n3 150\n")},
		"CUB_200_2011/classes.txt":                {Data: []byte("1 001.Albatross\n150 150.Sparrow\n")},
		"CUB_200_2011/images/001.Albatross/a.jpg": {Data: jpegOf(color.Gray{0})},
		"CUB_200_2011/images/001.Albatross/b.jpg": {Data: jpegOf(color.Gray{255})},
		"CUB_200_2011/images/150.Sparrow/c.jpg":   {Data: jpegOf(color.Gray{128})},
	}
	train, err := datasets.NewCUBFS(fsys, datasets.CUBTrain)
	if err != nil {
		log.Fatal(err)
	}
	test, err := datasets.NewCUBFS(fsys, datasets.CUBTest)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(train.Labels(), test.Labels(), test.ClassName(150))
	train.Width, train.Height = 32, 32 // ImageNet normalisation by default
	batch, _, err := train.Batch([]int{1}, gometric.Matrix{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d×%d, red channel %.3f\n", batch.Rows, batch.Cols, batch.Data[0])
	// Output:
	// [1 1] [150] 150.Sparrow
	// 1×3072, red channel 2.249
}

// Precomputed features in the CSV format; the binary format holds the
// same.
func ExampleReadFeatures() {
	csv := "# label,f1,f2,f3\n3,0.5,1,-1\n1,0,0.25,2\n3,1,1,1\n"
	f, err := datasets.ReadFeatures(strings.NewReader(csv))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Len(), f.Dim(), f.Labels(), f.Row(1))
	// Output: 3 3 [3 1 3] [0 0.25 2]
}
