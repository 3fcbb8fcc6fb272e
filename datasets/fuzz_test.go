package datasets

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gometric/gometric"
)

// gzPool reuses gzip writers (each holds several hundred KB of state).
var gzPool = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

// FuzzIDX feeds arbitrary bytes, raw or gzip-compressed, to ReadIDX as an
// image file and a label file, then pairs them with NewImagesFromIDX:
// every call returns a result consistent with the header or an error
// wrapping ErrFormat, never panics; a parsed file writes back to the same
// bytes.
func FuzzIDX(f *testing.F) {
	img := []byte{0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2, 1, 2, 3, 4}
	lab := []byte{0, 0, 8, 1, 0, 0, 0, 2, 1, 0}
	f.Add(img, lab, false, uint8(2))
	f.Add(img, lab, true, uint8(1))
	f.Add(img[:13], lab, false, uint8(0))
	f.Add([]byte{0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 28, 0, 0, 0, 28}, lab, false, uint8(10))
	f.Add([]byte{0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0}, []byte{1, 2, 3}, false, uint8(10))
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, lab, false, uint8(10))
	f.Fuzz(func(t *testing.T, imgData, labData []byte, compress bool, nClasses uint8) {
		read := func(b []byte) (*IDX, error) {
			if compress {
				var buf bytes.Buffer
				zw := gzPool.Get().(*gzip.Writer)
				zw.Reset(&buf)
				zw.Write(b)
				zw.Close()
				gzPool.Put(zw)
				b = buf.Bytes()
			}
			x, err := ReadIDX(bytes.NewReader(b))
			if err != nil {
				if !errors.Is(err, ErrFormat) {
					t.Fatalf("error %v does not wrap ErrFormat", err)
				}
				return nil, err
			}
			n := 1
			for _, d := range x.Dims {
				n *= d
			}
			if len(x.Data) != n {
				t.Fatalf("dims %v but %d data bytes", x.Dims, len(x.Data))
			}
			return x, nil
		}
		x, errX := read(imgData)
		if errX == nil && !compress && (len(imgData) < 2 || imgData[0] != 0x1f || imgData[1] != 0x8b) {
			var buf bytes.Buffer
			if err := WriteIDX(&buf, x); err != nil || !bytes.Equal(buf.Bytes(), imgData) {
				t.Fatalf("WriteIDX(ReadIDX(b)) != b: %v", err)
			}
		}
		y, errY := read(labData)
		if errX != nil || errY != nil {
			return
		}
		var classes []string
		if nClasses < 10 {
			classes = make([]string, nClasses)
		}
		m, err := NewImagesFromIDX(x, y, classes)
		if err != nil {
			return
		}
		if _, err := batchData(m.Batch([]int{0, m.Len() - 1}, gometric.Matrix{})); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzCUBIndex feeds arbitrary images.txt, image_class_labels.txt and
// classes.txt to NewCUBFS for each split: an error, or a data set whose
// labels are the split's classes and whose paths lie under images/.
func FuzzCUBIndex(f *testing.F) {
	f.Add("1 001.Black_footed_Albatross/Black_Footed_Albatross_0046_18.jpg\n2 101.White_Pelican/White_Pelican_0025_97604.jpg\n",
		"1 1\n2 101\n", "1 001.Black_footed_Albatross\n101 101.White_Pelican\n", uint8(0))
	f.Add("1 a/b.jpg\r\n2 a/c.jpg\r\n", "2 1\r\n1 1\r\n", "", uint8(5))
	f.Add("1 a.jpg\n1 b.jpg\n", "1 1\n", "1 x\n", uint8(2))
	f.Add("1 ../a.jpg\n", "1 999\n", "x", uint8(1))
	f.Add("", "", "", uint8(3))
	f.Fuzz(func(t *testing.T, images, labels, classes string, mode uint8) {
		prefix := ""
		if mode&4 != 0 {
			prefix = CUBDirName + "/"
		}
		fsys := fstest.MapFS{
			prefix + "images.txt":             {Data: []byte(images)},
			prefix + "image_class_labels.txt": {Data: []byte(labels)},
		}
		if mode&8 == 0 {
			fsys[prefix+"classes.txt"] = &fstest.MapFile{Data: []byte(classes)}
		}
		split := []string{CUBTrain, CUBTest, CUBTrainTest, "bad"}[mode%4]
		d, err := NewCUBFS(fsys, split)
		if err != nil {
			return
		}
		r := map[string][2]int{CUBTrain: {1, 100}, CUBTest: {101, 200}, CUBTrainTest: {1, 200}}[split]
		lo, hi := r[0], r[1]
		if d.Len() == 0 || len(d.Paths()) != d.Len() {
			t.Fatalf("%d images, %d paths", d.Len(), len(d.Paths()))
		}
		for i, l := range d.Labels() {
			if l < lo || l > hi {
				t.Fatalf("label %d outside split %s", l, split)
			}
			if p := d.Paths()[i]; !strings.HasPrefix(p, prefix+"images/") || !fs.ValidPath(p) {
				t.Fatalf("path %q outside images/", p)
			}
		}
	})
}
