package datasets

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// jpegCase is one fixture of testdata/jpeg (scripts/torchvision_jpeg_fixtures.py).
type jpegCase struct {
	name         string
	resize, crop int
	hasRGB       bool
}

func jpegCases(t testing.TB) []jpegCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "jpeg", "cases.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cs []jpegCase
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "#") || l == "" {
			continue
		}
		fs := strings.Fields(l)
		r, _ := strconv.Atoi(fs[1])
		c, _ := strconv.Atoi(fs[2])
		cs = append(cs, jpegCase{fs[0], r, c, fs[3] == "1"})
	}
	return cs
}

// diffStats returns the largest and the mean absolute difference of the
// RGB bytes of two images of the same size (-1 if the sizes differ).
func diffStats(a, b *image.RGBA) (int, float64) {
	if a.Bounds().Size() != b.Bounds().Size() {
		return -1, math.NaN()
	}
	var sum float64
	n := 0
	d := 0
	for y := range a.Bounds().Dy() {
		for x := range a.Bounds().Dx() {
			p := a.Pix[a.PixOffset(a.Rect.Min.X+x, a.Rect.Min.Y+y):]
			q := b.Pix[b.PixOffset(b.Rect.Min.X+x, b.Rect.Min.Y+y):]
			for c := range 3 {
				v := int(p[c]) - int(q[c])
				if v < 0 {
					v = -v
				}
				d = max(d, v)
				sum += float64(v)
				n++
			}
		}
	}
	return d, sum / float64(n)
}

func readJPEGFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "jpeg", name+".jpg"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadJPEGPNG(t testing.TB, name string) *image.RGBA {
	t.Helper()
	return loadRGBA(t, filepath.Join("..", "jpeg", name))
}

// TestJPEGFixtures compares decodeJPEG with torchvision 0.14's loader
// (Pillow 9.4 on libjpeg-turbo 2.1), recorded by
// scripts/torchvision_jpeg_fixtures.py: the decoded RGB and the eval
// transform's bytes (Resize, CenterCrop) are equal — tolerance 0, within
// issue 14's 2/255 — for every subsampling, the progressive, grayscale,
// CMYK, YCCK, RGB, EXIF-rotated and tiny fixtures. It logs image/jpeg's
// error (with Go's colour conversion) for comparison.
func TestJPEGFixtures(t *testing.T) {
	for _, tc := range jpegCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			data := readJPEGFixture(t, tc.name)
			old, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			oldRGBA := toRGBA(old)
			got, err := decodeJPEG(bytes.NewReader(data), DefaultMaxPixels)
			if err != nil {
				t.Fatal(err)
			}
			if tc.hasRGB {
				want := loadJPEGPNG(t, tc.name+".rgb.png")
				d0, m0 := diffStats(oldRGBA, want)
				d1, m1 := diffStats(got, want)
				t.Logf("decoded vs PIL: image/jpeg max %d mean %.4f; decodeJPEG max %d mean %.4f (/255)", d0, m0, d1, m1)
				if d1 != 0 {
					t.Errorf("decoded: largest difference %d/255 from PIL's, want 0", d1)
				}
			}
			want := loadJPEGPNG(t, tc.name+".eval.png")
			tr := EvalTransform(tc.crop, tc.resize)
			eo, err := tr.Apply(oldRGBA, nil)
			if err != nil {
				t.Fatal(err)
			}
			en, err := tr.Apply(got, nil)
			if err != nil {
				t.Fatal(err)
			}
			d0, m0 := diffStats(eo, want)
			d1, m1 := diffStats(en, want)
			t.Logf("eval transform vs torchvision: image/jpeg max %d mean %.4f; decodeJPEG max %d mean %.4f (/255)", d0, m0, d1, m1)
			if d1 != 0 {
				t.Errorf("eval transform: largest difference %d/255 from torchvision's, want 0 (issue 14 allows 2)", d1)
			}
		})
	}
}

// BenchmarkDecodeJPEG compares decodeJPEG with what ImageFiles did before
// (image/jpeg's Decode, then toRGBA's draw into RGBA) on a 500×375 JPEG.
func BenchmarkDecodeJPEG(b *testing.B) {
	data := readJPEGFixture(b, "full_500x375")
	b.Run("image-jpeg+toRGBA", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			m, err := jpeg.Decode(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			toRGBA(m)
		}
	})
	b.Run("image-jpeg", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decodeJPEG", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeJPEG(bytes.NewReader(data), DefaultMaxPixels); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestImageFilesJPEG checks that ImageFiles decodes JPEG files with
// decodeJPEG: the CHW bytes of EvalTransform(224, 256) of a 500×375 JPEG
// in an image folder are torchvision's.
func TestImageFilesJPEG(t *testing.T) {
	fsys := fstest.MapFS{
		"bird/a.jpg": {Data: readJPEGFixture(t, "full_500x375")},
		"bird/b.JPG": {Data: readJPEGFixture(t, "progressive_q75")},
	}
	f, err := NewImageFolderFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	f.Transform = EvalTransform(224, 256)
	imgs, err := f.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := chwBytes(loadJPEGPNG(t, "full_500x375.eval.png"))
	if got := imgs.pix[:len(want)]; !bytes.Equal(got, want) {
		t.Errorf("ImageFiles' eval transform of a JPEG differs from torchvision's")
	}
	f.Transform = nil
	f.Width, f.Height = 64, 48
	if _, err := f.Load(context.Background()); err != nil {
		t.Errorf("without a Transform: %v", err)
	}
}
