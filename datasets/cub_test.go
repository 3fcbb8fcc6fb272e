package datasets

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// solidJPEG encodes a w×h JPEG of one colour (grey when gray).
func solidJPEG(t testing.TB, w, h int, c color.RGBA, gray bool) []byte {
	t.Helper()
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = c.R
		}
		img = g
	} else {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				m.SetRGBA(x, y, c)
			}
		}
		img = m
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// classColor is the colour of the fixture images of class c.
func classColor(c int) color.RGBA {
	return color.RGBA{uint8(c), uint8(255 - c), uint8(40 + c%100), 255}
}

// cubFixture describes a CUB-200-2011 tree made by writeCUB.
type cubFixture struct {
	dir     string // the CUB_200_2011 directory
	classes []int
	ids     []int // image ids in file order
	class   []int // class of each image
	rel     []string
}

// writeCUB writes CUB-200-2011's layout under parent/CUB_200_2011 with
// perClass JPEGs of each class (sizes vary; the second image of every
// class is greyscale), listed with shuffled ids as in the real files
// (ids follow the class order there; here the ids of class 1 come last
// to check that the listing order, not the id order, is kept).
func writeCUB(t testing.TB, parent string, classes []int, perClass int) cubFixture {
	t.Helper()
	fx := cubFixture{dir: filepath.Join(parent, CUBDirName), classes: classes}
	var images []testkit.CUBImage
	id := 1000
	for _, c := range classes {
		for k := range perClass {
			id++
			rel := fmt.Sprintf("%s/Bird_%d_%04d_%d.jpg", testkit.CUBClassDir(c), c, k, id)
			b := solidJPEG(t, 30+10*(k%3), 20+7*(k%2), classColor(c), k == 1)
			images = append(images, testkit.CUBImage{ID: id, Class: c, Rel: rel, Train: k%2 == 1, JPEG: b})
			fx.ids = append(fx.ids, id)
			fx.class = append(fx.class, c)
			fx.rel = append(fx.rel, rel)
		}
	}
	testkit.WriteCUB(t, fx.dir, images, true)
	return fx
}

func TestCUBSplits(t *testing.T) {
	parent := t.TempDir()
	fx := writeCUB(t, parent, []int{1, 2, 100, 101, 150, 200}, 3)
	tests := []struct {
		split string
		lo    int
		hi    int
	}{
		{CUBTrain, 1, 100},
		{CUBTest, 101, 200},
		{CUBTrainTest, 1, 200},
	}
	for _, tc := range tests {
		for _, root := range []string{parent, fx.dir} {
			t.Run(tc.split, func(t *testing.T) {
				d, err := NewCUB(root, tc.split)
				if err != nil {
					t.Fatal(err)
				}
				var wantLabels []int
				var wantPaths []string
				for i, c := range fx.class {
					if c >= tc.lo && c <= tc.hi {
						wantLabels = append(wantLabels, c)
						wantPaths = append(wantPaths, filepath.Join(fx.dir, "images", filepath.FromSlash(fx.rel[i])))
					}
				}
				if !slices.Equal(d.Labels(), wantLabels) || !slices.Equal(d.Paths(), wantPaths) {
					t.Errorf("labels %v paths %v, want %v %v", d.Labels(), d.Paths(), wantLabels, wantPaths)
				}
				if d.ClassName(150) != "150.Bird_150" || d.Classes()[0] != "" || len(d.Classes()) != 201 {
					t.Errorf("class names: %q, %d", d.ClassName(150), len(d.Classes()))
				}
				if !slices.Equal(d.SampleShape(), []int{3, 224, 224}) || len(d.Norm.Mean) != 3 {
					t.Errorf("defaults: %v %v", d.SampleShape(), d.Norm)
				}
			})
		}
	}
	if _, err := NewCUB(parent, "val"); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("unknown split: %v", err)
	}
	// Only training classes: the test split has no image.
	onlyTrain := writeCUB(t, t.TempDir(), []int{5}, 1)
	if _, err := NewCUB(onlyTrain.dir, CUBTest); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("empty split: %v", err)
	}
	// classes.txt is optional.
	os.Remove(filepath.Join(onlyTrain.dir, "classes.txt"))
	if d, err := NewCUB(onlyTrain.dir, CUBTrain); err != nil || d.Classes() != nil || d.ClassName(5) != "5" {
		t.Errorf("without classes.txt: %v", err)
	}
	// Relabel turns CUB's class ids into 0..k-1.
	d, _ := NewCUB(parent, CUBTest)
	r, orig := d.Relabel()
	if !slices.Equal(r.Labels(), []int{0, 0, 0, 1, 1, 1, 2, 2, 2}) || !slices.Equal(orig, []int{101, 150, 200}) || r.ClassName(1) != "150.Bird_150" {
		t.Errorf("Relabel: %v %v %q", r.Labels(), orig, r.ClassName(1))
	}
}

func TestCUBBatch(t *testing.T) {
	fx := writeCUB(t, t.TempDir(), []int{3, 120}, 3)
	d, err := NewCUB(fx.dir, CUBTrainTest)
	if err != nil {
		t.Fatal(err)
	}
	d.Width, d.Height = 6, 5
	d.Norm = Normalize{}
	got, err := batchData(d.Batch([]int{5, 0, 1}, gometric.Matrix{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3*3*5*6 {
		t.Fatalf("%d values, want %d", len(got), 3*3*30)
	}
	hw := 30
	for k, i := range []int{5, 0, 1} {
		c := classColor(fx.class[i])
		want := [3]float64{float64(c.R), float64(c.G), float64(c.B)}
		if i%3 == 1 { // greyscale image: R replicated
			want = [3]float64{float64(c.R), float64(c.R), float64(c.R)}
		}
		for ch := range 3 {
			for j := range hw {
				v := float64(got[k*3*hw+ch*hw+j]) * 255
				if math.Abs(v-want[ch]) > 4 { // JPEG tolerance
					t.Fatalf("image %d channel %d pixel %d: %.1f, want %.0f±4", i, ch, j, v, want[ch])
				}
			}
		}
	}
	// ImageNet normalisation of the same batch.
	d.Norm = ImageNetNormalize()
	norm, _ := batchData(d.Batch([]int{5, 0, 1}, gometric.Matrix{}))
	for j := range norm {
		ch := (j / hw) % 3
		want := (got[j] - d.Norm.Mean[ch]) / d.Norm.Std[ch]
		if math.Abs(float64(norm[j]-want)) > 1e-5 {
			t.Fatalf("value %d: %v, want %v", j, norm[j], want)
		}
	}
	// The result does not depend on the number of workers or the resampler
	// cache, and Load gives the same images.
	idx := []int{0, 1, 2, 3, 4, 5, 2}
	d.Workers = 1
	one, _ := batchData(d.Batch(idx, gometric.Matrix{}))
	d.Workers = 4
	d.CacheSize = 3
	four, _ := batchData(d.Batch(idx, gometric.Matrix{}))
	again, _ := batchData(d.Batch(idx, gometric.Matrix{}))
	if !slices.Equal(one, four) || !slices.Equal(one, again) {
		t.Error("Batch depends on Workers or the cache")
	}
	calls := 0
	d.Progress = func(done, total int) {
		calls++
		if total != 6 || done < 1 || done > 6 {
			t.Errorf("Progress(%d, %d)", done, total)
		}
	}
	all, err := d.Load(context.Background())
	if err != nil || calls != 6 {
		t.Fatalf("Load: %v, %d Progress calls", err, calls)
	}
	fromLoad, _ := batchData(all.Batch(idx, gometric.Matrix{}))
	if !slices.Equal(one, fromLoad) || !slices.Equal(all.Labels(), d.Labels()) {
		t.Error("Load differs from Batch")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Load(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Load: %v", err)
	}
	// Bad settings and indices.
	for _, mod := range []func(f *ImageFiles){
		func(f *ImageFiles) { f.Width = 0 },
		func(f *ImageFiles) { f.Height = maxSide + 1 },
		func(f *ImageFiles) { f.Fit = 7 },
		func(f *ImageFiles) { f.Interpolation = -1 },
		func(f *ImageFiles) { f.CacheSize = -1 },
		func(f *ImageFiles) { f.Norm = Normalize{Mean: []float32{1, 2}, Std: []float32{1, 1}} },
	} {
		f, _ := d.Subset([]int{0})
		mod(f)
		if _, err := batchData(f.Batch([]int{0}, gometric.Matrix{})); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("bad setting: %v", err)
		}
		if _, err := f.Load(context.Background()); !errors.Is(err, gometric.ErrSetting) {
			t.Errorf("bad setting in Load: %v", err)
		}
	}
	if _, err := batchData(d.Batch([]int{6}, gometric.Matrix{})); !errors.Is(err, gometric.ErrIndex) {
		t.Errorf("index out of range: %v", err)
	}
}

func TestImageFilesCache(t *testing.T) {
	fx := writeCUB(t, t.TempDir(), []int{7}, 4)
	d, err := NewCUB(fx.dir, CUBTrain)
	if err != nil {
		t.Fatal(err)
	}
	d.Width, d.Height, d.CacheSize, d.Workers = 4, 4, 2, 1
	first, err := batchData(d.Batch([]int{0, 1, 2}, gometric.Matrix{})) // the cache keeps 1 and 2
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Paths() {
		os.Remove(p)
	}
	cached, err := batchData(d.Batch([]int{2, 1}, gometric.Matrix{}))
	if err != nil || !slices.Equal(cached, append(slices.Clone(first[2*48:3*48]), first[48:2*48]...)) {
		t.Fatalf("cached images: %v", err)
	}
	_, err = batchData(d.Batch([]int{0}, gometric.Matrix{}))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), d.Paths()[0]) {
		t.Errorf("evicted image: %v", err)
	}
	// A new size empties the cache.
	d.Width = 5
	if _, err := batchData(d.Batch([]int{1}, gometric.Matrix{})); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("resized: %v", err)
	}
	// A corrupt image names its path.
	os.WriteFile(d.Paths()[3], []byte("\xff\xd8\xff garbage"), 0o644)
	_, err = batchData(d.Batch([]int{3}, gometric.Matrix{}))
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != d.Paths()[3] {
		t.Errorf("corrupt JPEG: %v", err)
	}
	os.WriteFile(d.Paths()[3], []byte("not an image"), 0o644)
	if _, err = batchData(d.Batch([]int{3}, gometric.Matrix{})); !errors.Is(err, gometric.ErrUnsupported) {
		t.Errorf("unknown format: %v", err)
	}
}

func TestResizeFit(t *testing.T) {
	// 40×20: black quarter, white middle half, black quarter.
	src := image.NewGray(image.Rect(0, 0, 40, 20))
	for y := range 20 {
		for x := 10; x < 30; x++ {
			src.SetGray(x, y, color.Gray{255})
		}
	}
	for _, interp := range []Interpolation{CatmullRom, BiLinear, ApproxBiLinear, NearestNeighbor} {
		sc, _ := interp.scaler()
		crop, err := resizeCHW(src, 8, 8, CenterCrop, sc)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range crop {
			if v != 255 {
				t.Fatalf("interp %d CenterCrop: value %d at %d, want the white middle only", interp, v, i)
			}
		}
		st, _ := resizeCHW(src, 8, 4, Stretch, sc)
		if st[0] > 10 || st[7] > 10 || st[3] < 245 || st[4] < 245 {
			t.Errorf("interp %d Stretch row 0: %v, want black edges and a white middle", interp, st[:8])
		}
	}
	// A tall image is cropped vertically.
	tall := image.NewGray(image.Rect(0, 0, 10, 30))
	for y := 10; y < 20; y++ {
		for x := range 10 {
			tall.SetGray(x, y, color.Gray{200})
		}
	}
	sc, _ := NearestNeighbor.scaler()
	out, _ := resizeCHW(tall, 5, 5, CenterCrop, sc)
	if slices.ContainsFunc(out, func(v uint8) bool { return v != 200 }) {
		t.Errorf("tall CenterCrop: %v", out[:25])
	}
}

func TestCUBMalformed(t *testing.T) {
	base := writeCUB(t, t.TempDir(), []int{1, 2}, 2)
	orig := map[string][]byte{}
	for _, name := range []string{"images.txt", "image_class_labels.txt", "classes.txt"} {
		orig[name], _ = os.ReadFile(filepath.Join(base.dir, name))
	}
	firstRel := base.rel[0]
	tests := []struct {
		name     string
		file     string
		content  string
		line     int
		sentinel error
		msg      string
	}{
		{"images three fields", "images.txt", "1001 a.jpg extra\n", 1, gometric.ErrShape, "3 fields"},
		{"images one field", "images.txt", "1001 " + firstRel + "\n1002\n", 2, gometric.ErrShape, "1 fields"},
		{"images bad id", "images.txt", "x1 " + firstRel + "\n", 1, gometric.ErrShape, "positive integer"},
		{"images zero id", "images.txt", "0 " + firstRel + "\n", 1, gometric.ErrShape, "positive integer"},
		{"images duplicate id", "images.txt", "1001 a.jpg\n\n1001 b.jpg\n", 3, gometric.ErrShape, "already on line 1"},
		{"images escaping path", "images.txt", "1001 ../x.jpg\n", 1, gometric.ErrShape, "relative"},
		{"images absolute path", "images.txt", "1001 /etc/passwd\n", 1, gometric.ErrShape, "relative"},
		{"images too long", "images.txt", "1001 " + strings.Repeat("a", maxIndexLine+1) + "\n", 1, gometric.ErrShape, "longer"},
		{"images missing id", "images.txt", "1001 " + base.rel[0] + "\n1002 " + base.rel[1] + "\n1003 " + base.rel[2] + "\n", 3, gometric.ErrLabels, ""},
		{"images file absent", "images.txt", "1001 " + base.rel[0] + "\n1002 " + base.rel[1] + "\n1003 " + base.rel[2] + "\n1004 nothere/x.jpg\n", 4, gometric.ErrShape, "1 of the 4 images listed are missing"},
		{"labels bad class", "image_class_labels.txt", "1001 1\n1002 one\n", 2, gometric.ErrShape, "not an integer"},
		{"labels class 0", "image_class_labels.txt", "1001 0\n", 1, gometric.ErrLabels, "outside 1–200"},
		{"labels class 201", "image_class_labels.txt", "1001 1\n1002 201\n", 2, gometric.ErrLabels, "outside 1–200"},
		{"labels unknown id", "image_class_labels.txt", "1001 1\n9 1\n", 2, gometric.ErrShape, "not in images.txt"},
		{"labels duplicate", "image_class_labels.txt", "1001 1\n1001 1\n", 2, gometric.ErrShape, "already on line 1"},
		{"labels missing image", "image_class_labels.txt", "1001 1\n1002 1\n1004 2\n", 3, gometric.ErrShape, "image id 1003 has no class"},
		{"classes one field", "classes.txt", "1 001.A\n2\n", 2, gometric.ErrShape, "1 fields"},
		{"classes bad id", "classes.txt", "a 001.A\n", 1, gometric.ErrShape, "not an integer"},
		{"classes id 300", "classes.txt", "300 x\n", 1, gometric.ErrLabels, "outside"},
		{"classes duplicate", "classes.txt", "1 A\n1 B\n", 2, gometric.ErrShape, "named twice"},
		{"classes unnamed class", "classes.txt", "1 A\n", 0, gometric.ErrShape, "class 2 (of image 1003) has no name"},
		{"labels empty", "image_class_labels.txt", "", 1, gometric.ErrShape, "has no class"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for name, b := range orig {
				os.WriteFile(filepath.Join(base.dir, name), b, 0o644)
			}
			p := filepath.Join(base.dir, tc.file)
			os.WriteFile(p, []byte(tc.content), 0o644)
			_, err := NewCUB(base.dir, CUBTrainTest)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.name == "images missing id" {
				// 1004 is listed in image_class_labels.txt but not images.txt.
				p = filepath.Join(base.dir, "image_class_labels.txt")
				tc.line, tc.sentinel, tc.msg = 4, gometric.ErrShape, "image id 1004 is not in images.txt"
			}
			if tc.name == "labels empty" || tc.name == "labels missing image" {
				p = filepath.Join(base.dir, "images.txt")
			}
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFormat) || !errors.Is(err, tc.sentinel) {
				t.Fatalf("%v: want a *FileError wrapping %v", err, tc.sentinel)
			}
			if fe.Path != p || fe.Line != tc.line || !strings.Contains(err.Error(), tc.msg) || !strings.HasPrefix(err.Error(), "datasets.NewCUB: ") {
				t.Errorf("%v: want %s:%d and %q", err, p, tc.line, tc.msg)
			}
		})
	}
	for name, b := range orig {
		os.WriteFile(filepath.Join(base.dir, name), b, 0o644)
	}
	os.Remove(filepath.Join(base.dir, "image_class_labels.txt"))
	if _, err := NewCUB(base.dir, CUBTrain); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "image_class_labels.txt") {
		t.Errorf("missing index: %v", err)
	}
}

func TestImageFolder(t *testing.T) {
	root := t.TempDir()
	pngOf := func(v uint8) []byte {
		img := image.NewGray(image.Rect(0, 0, 3, 2))
		for i := range img.Pix {
			img.Pix[i] = v
		}
		var buf bytes.Buffer
		png.Encode(&buf, img)
		return buf.Bytes()
	}
	files := map[string]uint8{
		"cat/z.png":        10,
		"cat/a.PNG":        20,
		"cat/sub/b.png":    30,
		"cat/sub-x/c.png":  40,
		"ant/only.png":     50,
		"bee/deep/d/e.png": 60,
	}
	for p, v := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, pngOf(v), 0o644)
	}
	os.WriteFile(filepath.Join(root, "cat", "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(root, "README"), []byte("x"), 0o644)
	d, err := NewImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	var rel []string
	for _, p := range d.Paths() {
		r, _ := filepath.Rel(root, p)
		rel = append(rel, filepath.ToSlash(r))
	}
	// torchvision order: classes sorted; within a class, directory by
	// directory in sorted order of their paths, files sorted.
	wantRel := []string{"ant/only.png", "bee/deep/d/e.png", "cat/a.PNG", "cat/z.png", "cat/sub/b.png", "cat/sub-x/c.png"}
	if !slices.Equal(rel, wantRel) || !slices.Equal(d.Labels(), []int{0, 1, 2, 2, 2, 2}) || !slices.Equal(d.Classes(), []string{"ant", "bee", "cat"}) {
		t.Errorf("paths %v labels %v classes %v; want %v", rel, d.Labels(), d.Classes(), wantRel)
	}
	d.Width, d.Height, d.Norm, d.Fit = 3, 2, Normalize{}, Stretch
	got, err := batchData(d.Batch([]int{2, 5}, gometric.Matrix{}))
	if err != nil || got[0] != 20.0/255 || got[18] != 40.0/255 || got[18+17] != 40.0/255 {
		t.Errorf("Batch: %v %v", got, err)
	}
	os.MkdirAll(filepath.Join(root, "dog"), 0o755)
	os.WriteFile(filepath.Join(root, "dog", "x.txt"), nil, 0o644)
	if _, err := NewImageFolder(root); !errors.Is(err, gometric.ErrShape) || !strings.Contains(err.Error(), "dog") {
		t.Errorf("class without images: %v", err)
	}
	if _, err := NewImageFolder(t.TempDir()); !errors.Is(err, gometric.ErrShape) {
		t.Errorf("no classes: %v", err)
	}
	if _, err := NewImageFolder(filepath.Join(root, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing root: %v", err)
	}
	fsd, err := NewImageFolderFS(os.DirFS(filepath.Join(root, "cat")))
	if err != nil || !slices.Equal(fsd.Paths(), []string{"sub/b.png", "sub-x/c.png"}) {
		t.Errorf("NewImageFolderFS: %v %v", fsd, err)
	}
}
