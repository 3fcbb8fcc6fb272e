package datasets

import (
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/testkit"
)

// numbered returns a w×h image whose pixel (x, y) is (x, y, x+y).
func numbered(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			o := m.PixOffset(x, y)
			m.Pix[o], m.Pix[o+1], m.Pix[o+2], m.Pix[o+3] = uint8(x), uint8(y), uint8(x+y), 255
		}
	}
	return m
}

// at returns the R, G of pixel (x, y).
func at(m *image.RGBA, x, y int) [2]uint8 {
	o := m.PixOffset(m.Rect.Min.X+x, m.Rect.Min.Y+y)
	return [2]uint8{m.Pix[o], m.Pix[o+1]}
}

// TestCropsAndFlipsByHand checks CenterCropSize and the flip against hand
// worked boxes of a numbered 7×5 image (pixel (x, y) holds x and y).
func TestCropsAndFlipsByHand(t *testing.T) {
	src := numbered(7, 5)
	cases := []struct {
		crop         CenterCropSize
		first, last  [2]uint8 // top-left and bottom-right source pixels
		blackTopLeft bool
	}{
		// (7−3)/2 = 2, (5−3)/2 = 1.
		{CenterCropSize{3, 3}, [2]uint8{2, 1}, [2]uint8{4, 3}, false},
		// (7−4)/2 = 1.5 rounds to 2 (half to even), (5−2)/2 = 1.5 to 2.
		{CenterCropSize{4, 2}, [2]uint8{2, 2}, [2]uint8{5, 3}, false},
		// (7−2)/2 = 2.5 rounds to 2, (5−4)/2 = 0.5 to 0.
		{CenterCropSize{2, 4}, [2]uint8{2, 0}, [2]uint8{3, 3}, false},
		{CenterCropSize{7, 5}, [2]uint8{0, 0}, [2]uint8{6, 4}, false},
	}
	for _, tc := range cases {
		got, err := tc.crop.Apply(src, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Rect.Dx() != tc.crop.Width || got.Rect.Dy() != tc.crop.Height ||
			at(got, 0, 0) != tc.first || at(got, tc.crop.Width-1, tc.crop.Height-1) != tc.last {
			t.Errorf("%v: %v, corners %v %v; want %v %v", tc.crop, got.Rect, at(got, 0, 0), at(got, tc.crop.Width-1, tc.crop.Height-1), tc.first, tc.last)
		}
	}
	// A larger crop pads: 10×8 of 7×5 puts the image at left (10−7)/2 = 1,
	// top (8−5)/2 = 1, black around.
	got, err := CenterCropSize{10, 8}.Apply(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	if at(got, 0, 0) != [2]uint8{} || at(got, 1, 1) != [2]uint8{0, 0} || at(got, 7, 5) != [2]uint8{6, 4} || at(got, 8, 6) != [2]uint8{} || got.Pix[3] != 255 {
		t.Errorf("padded crop: %v %v %v", at(got, 1, 1), at(got, 7, 5), at(got, 8, 6))
	}
	// A sub-image (bounds not at the origin) crops the same.
	sub := src.SubImage(image.Rect(1, 1, 6, 4)).(*image.RGBA)
	got, _ = CenterCropSize{3, 1}.Apply(sub, nil)
	if at(got, 0, 0) != [2]uint8{2, 2} || got.Rect.Min != (image.Point{}) {
		t.Errorf("crop of a sub-image: %v at %v", at(got, 0, 0), got.Rect)
	}
	// Flip: column x becomes column W−1−x.
	f, _ := NewRandomHorizontalFlip(1).Apply(src, nil)
	for y := range 5 {
		for x := range 7 {
			if at(f, x, y) != [2]uint8{uint8(6 - x), uint8(y)} {
				t.Fatalf("flip at (%d, %d): %v", x, y, at(f, x, y))
			}
		}
	}
	if g, _ := NewRandomHorizontalFlip(0).Apply(src, nil); g != src {
		t.Error("p = 0 must return the image itself")
	}
	// Resize to the same size and RandomResizedCrop with scale 1 ratio
	// W/H is the identity.
	if g, _ := (Resize{Width: 7, Height: 5}).Apply(src, nil); g != src {
		t.Error("Resize to its own size must return the image")
	}
	g, err := RandomResizedCrop{Width: 7, Height: 5, Scale: [2]float64{1, 1}, Ratio: [2]float64{1.4, 1.4}}.Apply(src, rand.New(rand.NewPCG(1, 2)))
	if err != nil || maxDiff(g, src) != 0 {
		t.Errorf("full RandomResizedCrop: %v, difference %d", err, maxDiff(g, src))
	}
}

// TestResizeSizes checks torchvision's output sizes of Resize.
func TestResizeSizes(t *testing.T) {
	cases := []struct {
		r          Resize
		w, h       int
		wantW, wan int
	}{
		{Resize{Size: 256}, 500, 375, 341, 256}, // int(256·500/375) = 341
		{Resize{Size: 256}, 375, 500, 256, 341},
		{Resize{Size: 256}, 300, 300, 256, 256},
		{Resize{Size: 10}, 1, 3, 10, 30},
		{Resize{Size: 16, MaxSize: 20}, 37, 23, 20, 12}, // int(20·16/25) = 12
		{Resize{Width: 30, Height: 10}, 37, 23, 30, 10},
	}
	for _, tc := range cases {
		w, h, err := tc.r.outSize("test", tc.w, tc.h)
		if err != nil || w != tc.wantW || h != tc.wan {
			t.Errorf("%v of %d×%d: %d×%d, %v; want %d×%d", tc.r, tc.w, tc.h, w, h, err, tc.wantW, tc.wan)
		}
	}
}

// TestTransformErrors: zero values, bad settings, tiny images and huge
// sizes give errors wrapping the documented sentinels, naming the values,
// and never panic.
func TestTransformErrors(t *testing.T) {
	img := numbered(4, 3)
	one := numbered(1, 1)
	row := numbered(1, 9)
	wide := numbered(5000, 1)
	rng := rand.New(rand.NewPCG(3, 4))
	app := func(tr Transform, m *image.RGBA) func() error {
		return func() error { _, err := tr.Apply(m, rng); return err }
	}
	testkit.RunErrorCases(t, []testkit.ErrorCase{
		{Name: "zero Resize", Call: app(Resize{}, img), Want: gometric.ErrSetting},
		{Name: "negative Resize", Call: app(Resize{Size: -1}, img), Want: gometric.ErrSetting},
		{Name: "Resize both", Call: app(Resize{Size: 3, Width: 2, Height: 2}, img), Want: gometric.ErrSetting},
		{Name: "Resize huge", Call: app(Resize{Size: math.MaxInt}, img), Want: gometric.ErrShape},
		{Name: "Resize huge exact", Call: app(Resize{Width: 1 << 20, Height: 1}, img), Want: gometric.ErrShape},
		{Name: "Resize long side of 5000×1", Call: app(Resize{Size: 256}, wide), Want: gometric.ErrShape},
		{Name: "Resize MaxSize <= Size", Call: app(Resize{Size: 8, MaxSize: 8}, img), Want: gometric.ErrSetting},
		{Name: "Resize 1×1", Call: app(Resize{Size: 5}, one)},
		{Name: "Resize 1×9", Call: app(Resize{Size: 3}, row)},
		{Name: "Resize nil image", Call: app(Resize{Size: 3}, nil), Want: gometric.ErrSetting},
		{Name: "Resize empty image", Call: app(Resize{Size: 3}, image.NewRGBA(image.Rect(0, 0, 0, 5))), Want: gometric.ErrShape},
		{Name: "Resize short Pix", Call: app(Resize{Size: 3}, &image.RGBA{Pix: make([]uint8, 3), Stride: 8, Rect: image.Rect(0, 0, 2, 2)}), Want: gometric.ErrShape},
		{Name: "zero CenterCropSize", Call: app(CenterCropSize{}, img), Want: gometric.ErrSetting},
		{Name: "CenterCropSize huge", Call: app(CenterCropSize{math.MaxInt, math.MaxInt}, img), Want: gometric.ErrShape},
		{Name: "CenterCropSize of 1×1", Call: app(CenterCropSize{3, 3}, one)},
		{Name: "zero RandomResizedCrop", Call: app(RandomResizedCrop{}, img), Want: gometric.ErrSetting},
		{Name: "RandomResizedCrop huge", Call: app(RandomResizedCrop{Width: 1 << 40, Height: 1}, img), Want: gometric.ErrShape},
		{Name: "RandomResizedCrop scale reversed", Call: app(RandomResizedCrop{Width: 2, Height: 2, Scale: [2]float64{0.9, 0.1}}, img), Want: gometric.ErrSetting},
		{Name: "RandomResizedCrop NaN ratio", Call: app(RandomResizedCrop{Width: 2, Height: 2, Ratio: [2]float64{math.NaN(), 1}}, img), Want: gometric.ErrSetting},
		{Name: "RandomResizedCrop Inf scale", Call: app(RandomResizedCrop{Width: 2, Height: 2, Scale: [2]float64{0.5, math.Inf(1)}}, img), Want: gometric.ErrSetting},
		{Name: "RandomResizedCrop 1×1", Call: app(RandomResizedCrop{Width: 4, Height: 4}, one)},
		{Name: "RandomResizedCrop 1×9", Call: app(RandomResizedCrop{Width: 4, Height: 4}, row)},
		{Name: "RandomResizedCrop 5000×1", Call: app(RandomResizedCrop{Width: 4, Height: 4}, wide)},
		{Name: "Params bad size", Call: func() error { _, err := RandomResizedCrop{Width: 2, Height: 2}.Params(0, 5, nil); return err }, Want: gometric.ErrShape},
		{Name: "zero RandomHorizontalFlip", Call: app(RandomHorizontalFlip{P: 0.5}, img), Want: gometric.ErrSetting, Ctor: "NewRandomHorizontalFlip"},
		{Name: "flip NaN", Call: app(NewRandomHorizontalFlip(math.NaN()), img), Want: gometric.ErrSetting},
		{Name: "flip 2", Call: app(NewRandomHorizontalFlip(2), img), Want: gometric.ErrSetting},
		{Name: "flip 1×1", Call: app(NewRandomHorizontalFlip(1), one)},
		{Name: "zero ColorJitter", Call: app(ColorJitter{}, img)},
		{Name: "ColorJitter negative", Call: app(ColorJitter{Brightness: -0.1}, img), Want: gometric.ErrSetting},
		{Name: "ColorJitter Inf", Call: app(ColorJitter{Contrast: math.Inf(1)}, img), Want: gometric.ErrSetting},
		{Name: "ColorJitter hue 0.6", Call: app(ColorJitter{Hue: 0.6}, img), Want: gometric.ErrSetting},
		{Name: "ColorJitter 1×1", Call: app(ColorJitter{0.4, 0.4, 0.4, 0.5}, one)},
		{Name: "Compose nil step", Call: app(Compose{Resize{Size: 2}, nil}, img), Want: gometric.ErrSetting},
		{Name: "Compose typed nil step", Call: app(Compose{(*Compose)(nil)}, img), Want: gometric.ErrSetting},
		{Name: "Compose nil image", Call: app(Compose{}, nil), Want: gometric.ErrSetting},
		{Name: "EvalTransform zero", Call: app(EvalTransform(0, 0), img), Want: gometric.ErrSetting},
		{Name: "TrainTransform huge", Call: app(TrainTransform(math.MaxInt), img), Want: gometric.ErrShape},
		{Name: "TrainTransform negative", Call: app(TrainTransform(math.MinInt), img), Want: gometric.ErrSetting},
		{Name: "ToTensor nil", Call: func() error { _, err := ToTensor(nil, Normalize{}, nil); return err }, Want: gometric.ErrSetting},
		{Name: "ToTensor typed nil", Call: func() error { _, err := ToTensor((*image.RGBA)(nil), Normalize{}, nil); return err }, Want: gometric.ErrSetting},
		{Name: "ToTensor bad norm", Call: func() error { _, err := ToTensor(img, Normalize{Mean: []float32{1}}, nil); return err }, Want: gometric.ErrSetting},
	})
	// Errors name the values.
	_, err := Resize{Size: 256}.Apply(wide, nil)
	if err == nil || !strings.Contains(err.Error(), "5000×1") || !strings.Contains(err.Error(), "32768") {
		t.Errorf("error %v does not name the image size and the limit", err)
	}
}

// TestRandomTransformsReproducible: the same generator state gives the
// same output; SampleRand depends on (seed, epoch, index) only.
func TestRandomTransformsReproducible(t *testing.T) {
	src := loadRGBA(t, "src.png")
	pipe := Compose{RandomResizedCrop{Width: 9, Height: 7}, NewRandomHorizontalFlip(0.5), ColorJitter{0.4, 0.4, 0.4, 0.1}}
	a, err := pipe.Apply(src, SampleRand(7, 2, 11))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pipe.Apply(src, SampleRand(7, 2, 11))
	if !slices.Equal(a.Pix, b.Pix) {
		t.Error("the same (seed, epoch, index) gives different outputs")
	}
	distinct := map[string]bool{}
	for _, k := range [][3]int{{7, 2, 11}, {8, 2, 11}, {7, 3, 11}, {7, 2, 12}} {
		c, _ := pipe.Apply(src, SampleRand(uint64(k[0]), k[1], k[2]))
		distinct[string(c.Pix)] = true
	}
	if len(distinct) != 4 {
		t.Errorf("changing the seed, epoch or index gave %d distinct outputs of 4", len(distinct))
	}
}

// TestRandomDistributions: the flip rate is P (chi-square), and every
// RandomResizedCrop region has an area fraction within Scale and an
// aspect ratio within Ratio (up to the rounding of its sides), or is the
// fallback centre crop.
func TestRandomDistributions(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	src := numbered(5, 3)
	for _, p := range []float64{0.5, 0.2} {
		var counts [2]int
		f := NewRandomHorizontalFlip(p)
		for range 4000 {
			out, err := f.Apply(src, rng)
			if err != nil {
				t.Fatal(err)
			}
			if out == src {
				counts[0]++
			} else {
				counts[1]++
			}
		}
		testkit.CheckChiSquare(t, "flip rate", counts[:], []float64{1 - p, p}, 1e-4)
	}
	c := RandomResizedCrop{Width: 8, Height: 8}
	for _, size := range [][2]int{{500, 375}, {64, 64}, {300, 20}, {1, 1}} {
		w, h := size[0], size[1]
		fallback := 0
		for range 2000 {
			r, err := c.Params(w, h, rng)
			if err != nil {
				t.Fatal(err)
			}
			if !r.In(image.Rect(0, 0, w, h)) || r.Empty() {
				t.Fatalf("%d×%d: region %v outside the image", w, h, r)
			}
			frac := float64(r.Dx()*r.Dy()) / float64(w*h)
			// Rounding each side moves the area by at most about a side.
			slack := float64(r.Dx()+r.Dy()+1) / float64(w*h)
			ratio := float64(r.Dx()) / float64(r.Dy())
			inScale := frac >= 0.08-slack && frac <= 1+slack
			inRatio := ratio >= 0.75*(1-1/float64(r.Dy()))-1e-9 && ratio <= 4.0/3*(1+1/float64(r.Dy()))+1e-9
			if !inScale || !inRatio {
				// The fallback: centred, the whole image or clamped to the ratio.
				cx, cy := (w-r.Dx())/2, (h-r.Dy())/2
				if r.Min != image.Pt(cx, cy) || (r.Dx() != w && r.Dy() != h) {
					t.Fatalf("%d×%d: region %v: area fraction %.3f, ratio %.3f", w, h, r, frac, ratio)
				}
				fallback++
			}
		}
		if w == 500 && fallback > 0 {
			t.Errorf("500×375: %d fallbacks of 2000", fallback)
		}
	}
}

// TestImageFilesTransform: with a Transform, Batch is deterministic per
// (Seed, Epoch, index) whatever the workers, GOMAXPROCS, cache or batch
// composition; EvalTransform's batch equals ToTensor of the transformed
// image; a wrong output size is an error naming both sizes.
func TestImageFilesTransform(t *testing.T) {
	files, err := NewImageFolderFS(folderFS(t, 6))
	if err != nil {
		t.Fatal(err)
	}
	files.Width, files.Height = 4, 4
	files.Transform = Compose{Resize{Size: 5}, RandomResizedCrop{Width: 4, Height: 4}, NewRandomHorizontalFlip(0.5), ColorJitter{Brightness: 0.5}}
	files.Seed, files.Epoch = 3, 1
	want, labels, err := files.Batch([]int{0, 1, 2, 3, 4, 5}, gometric.Matrix{})
	if err != nil {
		t.Fatal(err)
	}
	if want.Rows != 6 || want.Cols != 48 || len(labels) != 6 {
		t.Fatalf("batch %d×%d", want.Rows, want.Cols)
	}
	per := want.Cols
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for _, setting := range []struct{ workers, cache int }{{1, 0}, {3, 0}, {2, 4}, {2, 4}} {
			files.Workers, files.CacheSize = setting.workers, setting.cache
			got, _, err := files.Batch([]int{5, 2}, gometric.Matrix{})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Data[:per], want.Data[5*per:6*per]) || !slices.Equal(got.Data[per:], want.Data[2*per:3*per]) {
				t.Errorf("GOMAXPROCS %d, %+v: samples differ from the first batch's", procs, setting)
			}
		}
	}
	files.Epoch = 2
	other, _, _ := files.Batch([]int{0, 1, 2, 3, 4, 5}, gometric.Matrix{})
	if slices.Equal(other.Data, want.Data) {
		t.Error("a new epoch gave the same augmentations")
	}
	// Load applies the same transform.
	files.Epoch = 1
	loaded, err := files.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	loaded.Norm = files.Norm
	lb, _, _ := loaded.Batch([]int{0, 1, 2, 3, 4, 5}, gometric.Matrix{})
	if !slices.Equal(lb.Data, want.Data) {
		t.Error("Load differs from Batch")
	}
	// Eval transform equals ToTensor of the transformed image.
	files.Transform, files.Width, files.Height = EvalTransform(2, 3), 2, 2
	ev, _, err := files.Batch([]int{4}, gometric.Matrix{})
	if err != nil {
		t.Fatal(err)
	}
	fsys := folderFS(t, 6)
	src, err := files.decodeSource("t", 4, &decodeSettings{maxPixels: DefaultMaxPixels})
	if err != nil {
		t.Fatal(err)
	}
	_ = fsys
	out, _ := EvalTransform(2, 3).Apply(toRGBA(src), nil)
	tt, err := ToTensor(out, files.Norm, nil)
	if err != nil || !slices.Equal(tt, ev.Data) {
		t.Errorf("Batch %v, ToTensor %v (%v)", ev.Data, tt, err)
	}
	// Wrong size, bad transform, typed nil.
	files.Width = 3
	if _, _, err := files.Batch([]int{0}, gometric.Matrix{}); !errors.Is(err, gometric.ErrShape) || !strings.Contains(err.Error(), "2×2") || !strings.Contains(err.Error(), "3×2") {
		t.Errorf("wrong size: %v", err)
	}
	files.Transform = Compose{CenterCropSize{}}
	if _, _, err := files.Batch([]int{0}, gometric.Matrix{}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("bad transform: %v", err)
	}
	files.Transform = (*panicky)(nil)
	if _, _, err := files.Batch([]int{0}, gometric.Matrix{}); !errors.Is(err, gometric.ErrSetting) {
		t.Errorf("typed nil transform: %v", err)
	}
	files.Transform = &panicky{}
	if _, err := files.Load(t.Context()); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("panicking transform: %v", err)
	}
}

type panicky struct{}

func (*panicky) Apply(*image.RGBA, *rand.Rand) (*image.RGBA, error) { panic("boom") }

// TestTwoStream: the pairing is checked, Batch returns both streams and
// the labels, and the type converts to testers.TwoStreamSplit's fields.
func TestTwoStream(t *testing.T) {
	sets := testSets(t)
	f := sets["Features"].(*Features)
	m := sets["Images"].(*Images)
	g, _ := f.Subset([]int{0, 1, 2})
	other, _ := NewFeatures(2, make([]float32, 18), []int{7, 2, 7, 0, 2, 2, 9, 0, 8})
	ts, err := NewTwoStream(f, f)
	if err != nil {
		t.Fatal(err)
	}
	a, p, labels, err := ts.Batch([]int{3, 1}, gometric.Matrix{}, gometric.Matrix{})
	if err != nil || a.Rows != 2 || p.Rows != 2 || !slices.Equal(labels, []int{0, 2}) || !slices.Equal(a.Data, p.Data) || ts.Len() != 9 || !slices.Equal(ts.Labels(), f.Labels()) {
		t.Errorf("Batch: %v %v %v %v", a, p, labels, err)
	}
	var zero TwoStream
	testkit.RunErrorCases(t, []testkit.ErrorCase{
		{Name: "lengths", Call: func() error { _, err := NewTwoStream(f, g); return err }, Want: gometric.ErrShape},
		{Name: "labels", Call: func() error { _, err := NewTwoStream(f, other); return err }, Want: gometric.ErrLabels},
		{Name: "shapes", Call: func() error { _, err := NewTwoStream(f, m); return err }, Want: gometric.ErrShape},
		{Name: "nil", Call: func() error { _, err := NewTwoStream(nil, f); return err }, Want: gometric.ErrSetting},
		{Name: "typed nil", Call: func() error { _, err := NewTwoStream(f, (*Features)(nil)); return err }, Want: gometric.ErrSetting},
		{Name: "zero Batch", Call: func() error { _, _, _, err := zero.Batch([]int{0}, gometric.Matrix{}, gometric.Matrix{}); return err }, Want: gometric.ErrSetting, Ctor: "NewTwoStream"},
		{Name: "bad index", Call: func() error { _, _, _, err := ts.Batch([]int{9}, gometric.Matrix{}, gometric.Matrix{}); return err }, Want: gometric.ErrIndex},
		{Name: "changed after construction", Call: func() error {
			bad := TwoStream{Anchors: f, Positives: other}
			_, _, _, err := bad.Batch([]int{0}, gometric.Matrix{}, gometric.Matrix{})
			return err
		}, Want: gometric.ErrLabels},
	})
	if zero.Len() != 0 || zero.Labels() != nil {
		t.Error("zero TwoStream")
	}
}

// TestConcurrentTransforms backs, under -race, the claims of the
// transforms (plain values, shared by goroutines with their own
// generators), of TwoStream, and of ImageFiles with a Transform and a
// shared cache: every goroutine gets the lone call's result.
func TestConcurrentTransforms(t *testing.T) {
	src := loadRGBA(t, "src.png")
	pipe := Compose{Resize{Size: 20}, CenterCropSize{18, 18}, RandomResizedCrop{Width: 9, Height: 7},
		NewRandomHorizontalFlip(0.5), ColorJitter{0.4, 0.4, 0.4, 0.1}}
	want, err := pipe.Apply(src, SampleRand(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	sets := testSets(t)
	f := sets["Features"].(*Features)
	ts, _ := NewTwoStream(f, f)
	files, _ := NewImageFolderFS(folderFS(t, 6))
	files.Width, files.Height, files.CacheSize = 2, 2, 3
	files.Transform = Compose{RandomResizedCrop{Width: 2, Height: 2}, NewRandomHorizontalFlip(0.5)}
	wantFiles, _, err := files.Batch([]int{0, 1, 2, 3, 4, 5}, gometric.Matrix{})
	if err != nil {
		t.Fatal(err)
	}
	testkit.Concurrently(t, 4, 3, func(k int) error {
		got, err := pipe.Apply(src, SampleRand(1, 0, 0))
		if err != nil || !slices.Equal(got.Pix, want.Pix) {
			return errors.New("Compose differs")
		}
		if _, _, _, err := ts.Batch([]int{k, 8 - k}, gometric.Matrix{}, gometric.Matrix{}); err != nil {
			return err
		}
		b, _, err := files.Batch([]int{k, 5 - k}, gometric.Matrix{})
		if err != nil || !slices.Equal(b.Data[:12], wantFiles.Data[12*k:12*(k+1)]) {
			return errors.New("ImageFiles with a Transform differs")
		}
		return nil
	})
}
