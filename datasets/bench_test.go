package datasets

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gometric/gometric"
)

// BenchmarkImagesBatch normalises a batch of 64 Fashion-MNIST images.
func BenchmarkImagesBatch(b *testing.B) {
	train, _, err := FashionMNISTSample()
	if err != nil {
		b.Fatal(err)
	}
	idx := make([]int, 64)
	for i := range idx {
		idx[i] = i * 31
	}
	var dst gometric.Matrix
	b.SetBytes(64 * 784)
	for b.Loop() {
		if dst, _, err = train.Batch(idx, dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCUBBatch decodes and resizes a batch of 16 CUB-sized (500×375)
// photo-like JPEGs, without a cache.
func BenchmarkCUBBatch(b *testing.B) {
	dir := b.TempDir()
	fx := writeCUB(b, dir, []int{1}, 16)
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(image.Rect(0, 0, 500, 375))
	for i := range img.Pix {
		img.Pix[i] = uint8(i/4%251) ^ uint8(rng.IntN(32))
	}
	var buf bytes.Buffer
	jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	for _, rel := range fx.rel {
		os.WriteFile(filepath.Join(fx.dir, "images", filepath.FromSlash(rel)), buf.Bytes(), 0o644)
	}
	d, err := NewCUB(dir, CUBTrain)
	if err != nil {
		b.Fatal(err)
	}
	idx := make([]int, d.Len())
	for i := range idx {
		idx[i] = i
	}
	for _, size := range []int{64, 224} {
		for _, interp := range []Interpolation{CatmullRom, BiLinear} {
			b.Run(fmt.Sprintf("size=%d/interp=%d", size, interp), func(b *testing.B) {
				d.Width, d.Height, d.Interpolation = size, size, interp
				var dst gometric.Matrix
				for b.Loop() {
					if dst, _, err = d.Batch(idx, dst); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(idx)), "µs/image")
			})
		}
	}
}

// BenchmarkLoadFashionMNIST reads the full Fashion-MNIST files (skipped
// where they are not installed).
func BenchmarkLoadFashionMNIST(b *testing.B) {
	if _, err := os.Stat(DefaultFashionMNISTDir); err != nil {
		b.Skip("Fashion-MNIST is not installed")
	}
	for b.Loop() {
		if _, _, err := LoadFashionMNIST(""); err != nil {
			b.Fatal(err)
		}
	}
}
