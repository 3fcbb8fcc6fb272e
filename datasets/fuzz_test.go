package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"io/fs"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/binio"
	"github.com/gometric/gometric/internal/testkit"
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
	f.Add([]byte{0, 0, 8, 3, 0, 0, 0x40, 0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 2, 3}, lab, true, uint8(10))
	f.Add([]byte{0, 0, 8, 3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{0, 0, 8, 1, 0, 0, 0, 0}, true, uint8(10))
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

// FuzzFeatures feeds arbitrary bytes to ReadFeatures: raw (binary, CSV
// or neither), or after "GMFEATS2" and sealed with a valid checksum, so
// that the checks behind the checksum are reached. Every call returns an
// error wrapping ErrFormat and a sentinel, or Features whose shape,
// labels and values are valid and that write back (binary and CSV) to the
// same Features.
func FuzzFeatures(f *testing.F) {
	toy, _ := NewFeatures(2, []float32{0.5, -1, 2, 3}, []int{0, 7})
	var bin, csv bytes.Buffer
	toy.WriteBinary(&bin)
	toy.WriteCSV(&csv)
	f.Add(bin.Bytes(), false)
	f.Add(bin.Bytes()[8:len(bin.Bytes())-4], true)
	f.Add(csv.Bytes(), false)
	f.Add([]byte("# c\n\n3, 1.5, -2\n 0,3,4e-1 \n"), false)
	f.Add(append([]byte("GMFEATS1"), bin.Bytes()[8:len(bin.Bytes())-4]...), false)
	f.Add(unsealed(1<<26, 63, nil, nil), false)
	f.Add([]byte{1, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0xc0, 0x7f}, true)
	f.Add([]byte("1,NaN\n"), false)
	f.Fuzz(func(t *testing.T, data []byte, seal bool) {
		if seal {
			data = binio.Seal(append([]byte(FeaturesMagic), data...))
		}
		g, err := ReadFeatures(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, ErrFormat) || !testkit.WrapsSentinel(err) || !strings.HasPrefix(err.Error(), "datasets.ReadFeatures: ") {
				t.Fatalf("error %v does not wrap ErrFormat and a sentinel", err)
			}
			return
		}
		if g.Len() < 1 || g.Dim() < 1 || len(g.Data()) != g.Len()*g.Dim() {
			t.Fatalf("%d samples of dimension %d, %d values", g.Len(), g.Dim(), len(g.Data()))
		}
		n := 0
		for _, c := range g.ClassCounts() {
			n += c
		}
		if n != g.Len() || slices.ContainsFunc(g.Labels(), func(l int) bool { return l < 0 }) {
			t.Fatalf("labels %v, counts %v", g.Labels(), g.ClassCounts())
		}
		if slices.ContainsFunc(g.Data(), func(v float32) bool { return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) }) {
			t.Fatal("a non-finite feature was read")
		}
		var out bytes.Buffer
		for _, write := range []func(io.Writer) error{g.WriteBinary, g.WriteCSV} {
			out.Reset()
			if err := write(&out); err != nil {
				if errors.Is(err, gometric.ErrLabels) && slices.Max(g.Labels()) > math.MaxInt32 {
					continue
				}
				t.Fatal(err)
			}
			h, err := ReadFeatures(&out)
			if err != nil || h.Dim() != g.Dim() || !slices.Equal(h.Labels(), g.Labels()) || !slices.Equal(h.Data(), g.Data()) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}

// FuzzImageFile decodes arbitrary bytes as an image file of each
// extension through ImageFiles.Batch (the decode path of NewCUB,
// NewImageFolder and Load) with a small MaxPixels: an error wrapping a
// sentinel and naming the file, or one row of 3·Width·Height finite
// values.
func FuzzImageFile(f *testing.F) {
	for ext, b := range declared(f, 2, 3) {
		f.Add(b, uint8(slices.Index(fuzzImageExts, ext)), uint16(100), uint8(4), uint8(5))
	}
	for ext, b := range declared(f, 30000, 30000) {
		f.Add(b, uint8(slices.Index(fuzzImageExts, ext)), uint16(0), uint8(4), uint8(5))
	}
	var buf bytes.Buffer
	png.Encode(&buf, image.NewNRGBA(image.Rect(0, 0, 3, 2)))
	f.Add(buf.Bytes(), uint8(0), uint16(6), uint8(1), uint8(31))
	f.Add(solidJPEG(f, 9, 7, classColor(3), false), uint8(1), uint16(63), uint8(8), uint8(8))
	f.Fuzz(func(t *testing.T, data []byte, ext uint8, maxPixels uint16, w, h uint8) {
		name := "c/x." + fuzzImageExts[int(ext)%len(fuzzImageExts)]
		d, err := NewImageFolderFS(fstest.MapFS{name: {Data: data}})
		if err != nil {
			t.Fatal(err)
		}
		// At most 65,536 source pixels, so that the fuzzer cannot make
		// each run decode a large image.
		d.MaxPixels = 1 + int(maxPixels)
		d.Width, d.Height = 1+int(w%32), 1+int(h%32)
		got, labels, err := d.Batch([]int{0}, gometric.Matrix{})
		if err != nil {
			if !testkit.WrapsSentinel(err) || !strings.Contains(err.Error(), name) || !strings.HasPrefix(err.Error(), "datasets.ImageFiles.Batch: ") {
				t.Fatalf("error %v does not wrap a sentinel and name %s", err, name)
			}
			return
		}
		if got.Rows != 1 || got.Cols != 3*d.Width*d.Height || len(got.Data) != got.Cols || !slices.Equal(labels, []int{0}) {
			t.Fatalf("batch %d×%d (%d values), labels %v", got.Rows, got.Cols, len(got.Data), labels)
		}
		for _, v := range got.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatal("non-finite value")
			}
		}
	})
}

// fuzzImageExts are the extensions FuzzImageFile names its file with.
var fuzzImageExts = []string{"png", "jpg", "gif", "bmp", "tiff", "webp"}

// FuzzLabels builds Features and Images with arbitrary labels (8 bytes
// each): a negative label is an ErrLabels error naming it; otherwise
// ClassCounts, Relabel, FilterClasses, FirstPerClass and ClassDisjoint
// agree with each other whatever the label values.
func FuzzLabels(f *testing.F) {
	le := binary.LittleEndian
	seed := func(labels ...int64) []byte {
		var b []byte
		for _, l := range labels {
			b = le.AppendUint64(b, uint64(l))
		}
		return b
	}
	f.Add(seed(0, 1e18))
	f.Add(seed(0, math.MaxInt64, 1e9, 3, 1e9))
	f.Add(seed(-1, 2))
	f.Add(seed(math.MinInt64))
	f.Add(seed(5, 5, 5, 0, 1<<40))
	f.Fuzz(func(t *testing.T, data []byte) {
		n := min(len(data)/8, 64)
		if n == 0 {
			return
		}
		labels := make([]int, n)
		for i := range labels {
			labels[i] = int(int64(le.Uint64(data[8*i:])))
		}
		feats := make([]float32, n)
		pix := make([]uint8, n)
		for i := range feats {
			feats[i], pix[i] = float32(i), uint8(i)
		}
		fe, errF := NewFeatures(1, feats, slices.Clone(labels))
		im, errI := NewImages(1, 1, 1, pix, slices.Clone(labels), nil)
		if i := slices.IndexFunc(labels, func(l int) bool { return l < 0 }); i >= 0 {
			for _, err := range []error{errF, errI} {
				if !errors.Is(err, gometric.ErrLabels) || !strings.Contains(err.Error(), fmt.Sprint(labels[i])) {
					t.Fatalf("negative label %d: %v", labels[i], err)
				}
			}
			return
		}
		if errF != nil || errI != nil {
			t.Fatal(errF, errI)
		}
		counts := fe.ClassCounts()
		if !maps.Equal(counts, im.ClassCounts()) {
			t.Fatal("ClassCounts differ")
		}
		total := 0
		for _, c := range counts {
			total += c
		}
		if total != n {
			t.Fatalf("counts %v for %d labels", counts, n)
		}
		rel, orig := fe.Relabel()
		if len(orig) != len(counts) || !slices.IsSorted(orig) {
			t.Fatalf("Relabel's originals %v for %d classes", orig, len(counts))
		}
		for i, l := range rel.Labels() {
			if l < 0 || l >= len(orig) || orig[l] != labels[i] {
				t.Fatalf("relabelled %d as %d", labels[i], l)
			}
		}
		first, err := im.FirstPerClass(1)
		if err != nil || first.Len() != len(counts) {
			t.Fatalf("FirstPerClass(1): %v", err)
		}
		sub, err := fe.FilterClasses(orig[:1])
		if err != nil || sub.Len() != counts[orig[0]] {
			t.Fatalf("FilterClasses(%d): %v", orig[0], err)
		}
		if len(orig) > 1 {
			tr, te, err := ClassDisjoint(im, im, orig[:1], orig[1:])
			if err != nil || tr.Len()+te.Len() != n {
				t.Fatalf("ClassDisjoint: %v", err)
			}
		}
	})
}

// FuzzParseClassList parses arbitrary class lists: an ErrSetting error or
// sorted, distinct, non-negative labels, at most 2^20 of them.
func FuzzParseClassList(f *testing.F) {
	for _, s := range []string{"0-4", "0-4,7,9", " 3 , 1-2", "9223372036854775807", "9223372036854775806-9223372036854775807", "0-1048576", "-1", "5-3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseClassList(s)
		if err != nil {
			if !errors.Is(err, gometric.ErrSetting) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if len(got) == 0 || len(got) > maxClassList || got[0] < 0 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Fatalf("%q: %d labels", s, len(got))
		}
	})
}
