// Command gensample writes the Fashion-MNIST sample that package datasets
// embeds (datasets/sample): the first datasets.SampleTrainPerClass
// training images and the first datasets.SampleTestPerClass test images of
// each class, in file order, as gzip-compressed IDX files. The output is
// deterministic. Run it from the repository root:
//
//	go run ./datasets/internal/gensample -src /usr/share/datasets/fashion-mnist -out datasets/sample
package main

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gometric/gometric/datasets"
	"github.com/gometric/gometric/internal/atomicfile"
)

func main() {
	src := flag.String("src", datasets.DefaultFashionMNISTDir, "directory holding the Fashion-MNIST IDX files")
	out := flag.String("out", filepath.Join("datasets", "sample"), "output directory")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		log.Fatal(err)
	}
}

func run(src, out string) error {
	train, test, err := datasets.LoadFashionMNIST(src)
	if err != nil {
		return err
	}
	train, err = train.FirstPerClass(datasets.SampleTrainPerClass)
	if err != nil {
		return err
	}
	test, err = test.FirstPerClass(datasets.SampleTestPerClass)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, s := range []struct {
		prefix string
		m      *datasets.Images
	}{{"train", train}, {"t10k", test}} {
		_, h, w := s.m.Shape()
		labels := make([]uint8, s.m.Len())
		for i, l := range s.m.Labels() {
			labels[i] = uint8(l)
		}
		files := []struct {
			name string
			x    *datasets.IDX
		}{
			{s.prefix + "-images-idx3-ubyte.gz", &datasets.IDX{Dims: []int{s.m.Len(), h, w}, Data: s.m.Pix()}},
			{s.prefix + "-labels-idx1-ubyte.gz", &datasets.IDX{Dims: []int{s.m.Len()}, Data: labels}},
		}
		for _, f := range files {
			var buf bytes.Buffer
			zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			if err != nil {
				return err
			}
			if err := datasets.WriteIDX(zw, f.x); err != nil {
				return err
			}
			if err := zw.Close(); err != nil {
				return err
			}
			p := filepath.Join(out, f.name)
			if err := atomicfile.WriteFile(p, buf.Bytes()); err != nil {
				return err
			}
			fmt.Printf("%s: %d bytes\n", p, buf.Len())
		}
	}
	return nil
}
