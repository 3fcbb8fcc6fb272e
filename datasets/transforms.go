package datasets

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/gometric/gometric"
	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
	xdraw "golang.org/x/image/draw"
)

// Limits of the images a transform makes: each side at most
// MaxTransformSide pixels and at most MaxTransformPixels pixels in all
// (128 MiB as RGBA). A transform asked for a larger image returns an error
// wrapping gometric.ErrShape that names the size and the limit.
const (
	MaxTransformSide   = 1 << 15
	MaxTransformPixels = 1 << 25
)

// Transform is one image-to-image step of a torchvision transform
// pipeline (a class of torchvision.transforms applied to a PIL image):
// Resize, CenterCropSize, RandomResizedCrop, RandomHorizontalFlip,
// ColorJitter, or a Compose of them. The float32 end of torchvision's
// pipelines, ToTensor followed by Normalize, is Normalize (see ToTensor).
//
// Apply returns img transformed as an opaque RGBA image whose bounds
// start at (0, 0); img's alpha is ignored (the package's decoders compose
// transparency over black first). Apply must not modify img, and may
// return img itself when the step changes nothing. A random step draws
// from rng; a nil rng means math/rand/v2's process-wide generator. An
// implementation says whether it is safe for concurrent use; those of
// this package are plain values, safe for concurrent use (with distinct
// or nil rngs, as a *rand.Rand is not).
type Transform interface {
	Apply(img *image.RGBA, rng *rand.Rand) (*image.RGBA, error)
}

// Compose mirrors torchvision.transforms.Compose: its steps applied in
// order. The zero value (no steps) returns the image unchanged; a nil
// step is an error wrapping gometric.ErrSetting. A Compose is a plain
// value, safe for concurrent use as long as its elements are not changed
// meanwhile.
type Compose []Transform

// Apply applies the steps in order (see Transform).
func (c Compose) Apply(img *image.RGBA, rng *rand.Rand) (*image.RGBA, error) {
	if img == nil {
		return nil, check.Settingf("datasets.Compose.Apply", "nil image")
	}
	rng = randsrc.Or(rng)
	for i, t := range c {
		if check.Nil(t) {
			return nil, check.Settingf("datasets.Compose.Apply", "step %d is nil", i)
		}
		var err error
		if img, err = t.Apply(img, rng); err != nil {
			return nil, err
		}
	}
	return img, nil
}

// String lists the steps as torchvision prints a Compose, one per line.
func (c Compose) String() string {
	var b strings.Builder
	b.WriteString("Compose(\n")
	for _, t := range c {
		fmt.Fprintf(&b, "    %v\n", t)
	}
	b.WriteString(")")
	return b.String()
}

// EvalTransform returns torchvision's ImageNet evaluation preprocessing
// before ToTensor: Compose{Resize{Size: resize}, CenterCropSize{size,
// size}} — transforms.Compose([Resize(256), CenterCrop(224), ToTensor(),
// Normalize(mean, std)]) for EvalTransform(224, 256) with
// ImageNetNormalize(), what PML's examples use for their test sets. The
// sizes are checked when it is applied.
func EvalTransform(size, resize int) Compose {
	return Compose{Resize{Size: resize}, CenterCropSize{Width: size, Height: size}}
}

// TrainTransform returns torchvision's ImageNet training augmentation
// before ToTensor: Compose{RandomResizedCrop{size×size, scale (0.08, 1),
// ratio (3/4, 4/3)}, RandomHorizontalFlip p 0.5} —
// transforms.Compose([RandomResizedCrop(224), RandomHorizontalFlip(),
// ToTensor(), Normalize(mean, std)]) for TrainTransform(224) with
// ImageNetNormalize(), what PML's examples train with. The size is checked
// when it is applied.
func TrainTransform(size int) Compose {
	return Compose{RandomResizedCrop{Width: size, Height: size}, NewRandomHorizontalFlip(0.5)}
}

// checkOut checks the size of an image a transform makes.
func checkOut(comp string, w, h int) error {
	if w <= 0 || h <= 0 || w > MaxTransformSide || h > MaxTransformSide || int64(w)*int64(h) > MaxTransformPixels {
		return check.Errorf(comp, gometric.ErrShape, "output size %d×%d: want sides in [1, %d] and at most %d pixels (MaxTransformSide, MaxTransformPixels)",
			w, h, MaxTransformSide, MaxTransformPixels)
	}
	return nil
}

// srcSize checks img and returns its size.
func srcSize(comp string, img *image.RGBA) (int, int, error) {
	if img == nil {
		return 0, 0, check.Settingf(comp, "nil image")
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		return 0, 0, check.Errorf(comp, gometric.ErrShape, "empty %d×%d image", b.Dx(), b.Dy())
	}
	if len(img.Pix) < img.PixOffset(b.Max.X-1, b.Max.Y-1)+4 || img.Stride < 4*b.Dx() {
		return 0, 0, check.Errorf(comp, gometric.ErrShape, "%d×%d image with %d pixel bytes and stride %d", b.Dx(), b.Dy(), len(img.Pix), img.Stride)
	}
	return b.Dx(), b.Dy(), nil
}

// Resize mirrors torchvision.transforms.Resize with its default
// interpolation, bilinear, on a PIL image: Pillow's Image.resize with
// Image.BILINEAR, which antialiases when shrinking (its triangle filter
// widens with the scale), reimplemented in Pillow's fixed-point
// arithmetic, so the bytes are Pillow 9's.
//
// With Size > 0 (torchvision's Resize(size) with an int), the shorter side
// becomes Size and the longer int(Size·long/short), truncated as
// torchvision; a MaxSize > 0 then bounds the longer side as torchvision's
// max_size (it must exceed Size). With Size 0, Width and Height are the
// exact output size (Resize((h, w))). The zero value has no size and is
// refused with an error wrapping gometric.ErrSetting. Output sizes are
// bounded by MaxTransformSide and MaxTransformPixels. A Resize is a plain
// value, safe for concurrent use.
type Resize struct {
	Size          int // shorter side; 0 to use Width and Height
	Width, Height int // exact size when Size is 0
	MaxSize       int // bound of the longer side with Size; 0 for none
}

// outSize returns the size Resize makes from a w×h image.
func (r Resize) outSize(comp string, w, h int) (int, int, error) {
	if r.Size < 0 || r.Width < 0 || r.Height < 0 || r.MaxSize < 0 {
		return 0, 0, check.Settingf(comp, "Size %d, Width %d, Height %d, MaxSize %d: want values >= 0", r.Size, r.Width, r.Height, r.MaxSize)
	}
	if r.Size == 0 {
		if r.Width == 0 || r.Height == 0 {
			return 0, 0, check.Settingf(comp, "no size (Size 0, Width %d, Height %d): set Size (the shorter side) or Width and Height", r.Width, r.Height)
		}
		if r.MaxSize != 0 {
			return 0, 0, check.Settingf(comp, "MaxSize %d with an exact Width×Height %d×%d: torchvision allows max_size only with a shorter-side size", r.MaxSize, r.Width, r.Height)
		}
		return r.Width, r.Height, nil
	}
	if r.Width != 0 || r.Height != 0 {
		return 0, 0, check.Settingf(comp, "both Size %d and Width×Height %d×%d: set one", r.Size, r.Width, r.Height)
	}
	if r.Size > MaxTransformSide {
		return 0, 0, check.Errorf(comp, gometric.ErrShape, "Size %d above MaxTransformSide %d", r.Size, MaxTransformSide)
	}
	short, long := min(w, h), max(w, h)
	// int(size * long / short) as Python's float division; long/short is
	// exact enough in float64 for sizes below 2^31.
	nl := float64(r.Size) * float64(long) / float64(short)
	if nl > MaxTransformSide {
		return 0, 0, check.Errorf(comp, gometric.ErrShape, "resizing %d×%d to shorter side %d makes the longer side %.0f, above MaxTransformSide %d", w, h, r.Size, nl, MaxTransformSide)
	}
	ns, nlong := r.Size, int(nl)
	if r.MaxSize != 0 {
		if r.MaxSize <= r.Size {
			return 0, 0, check.Settingf(comp, "MaxSize %d must be greater than Size %d", r.MaxSize, r.Size)
		}
		if nlong > r.MaxSize {
			ns, nlong = int(float64(r.MaxSize)*float64(ns)/float64(nlong)), r.MaxSize
		}
	}
	if w <= h {
		return ns, nlong, nil
	}
	return nlong, ns, nil
}

// Apply resizes img (see Transform).
func (r Resize) Apply(img *image.RGBA, _ *rand.Rand) (*image.RGBA, error) {
	const comp = "datasets.Resize.Apply"
	w, h, err := srcSize(comp, img)
	if err != nil {
		return nil, err
	}
	ow, oh, err := r.outSize(comp, w, h)
	if err != nil {
		return nil, err
	}
	if err := checkOut(comp, ow, oh); err != nil {
		return nil, err
	}
	if ow == w && oh == h {
		return img, nil
	}
	return resizeBilinear(img, img.Bounds(), ow, oh), nil
}

// String prints r as torchvision's repr.
func (r Resize) String() string {
	if r.Size > 0 {
		return fmt.Sprintf("Resize(size=%d, interpolation=bilinear, max_size=%d)", r.Size, r.MaxSize)
	}
	return fmt.Sprintf("Resize(size=(%d, %d), interpolation=bilinear)", r.Height, r.Width)
}

// CenterCropSize mirrors torchvision.transforms.CenterCrop (named so
// because CenterCrop is a Fit of ImageFiles): the centred Width×Height
// region, whose top-left corner is at round((H−Height)/2),
// round((W−Width)/2) with Python's round half to even; an image smaller
// than the crop is first padded with black, (Width−W)/2 columns on the
// left (rounded down) and (Height−H)/2 rows on the top, as torchvision.
// The zero value has no size and is refused with an error wrapping
// gometric.ErrSetting. A CenterCropSize is a plain value, safe for
// concurrent use.
type CenterCropSize struct {
	Width, Height int
}

// Apply crops img (see Transform).
func (c CenterCropSize) Apply(img *image.RGBA, _ *rand.Rand) (*image.RGBA, error) {
	const comp = "datasets.CenterCropSize.Apply"
	w, h, err := srcSize(comp, img)
	if err != nil {
		return nil, err
	}
	if c.Width <= 0 || c.Height <= 0 {
		return nil, check.Settingf(comp, "crop size %d×%d: want positive Width and Height", c.Width, c.Height)
	}
	if err := checkOut(comp, c.Width, c.Height); err != nil {
		return nil, err
	}
	if c.Width == w && c.Height == h {
		return img, nil
	}
	// Padding (left, top) as torchvision's, then the crop of the padded
	// image: in the coordinates of img, the crop starts at (x0, y0).
	padL, padT := 0, 0
	pw, ph := w, h
	if c.Width > w {
		padL = (c.Width - w) / 2
		pw = c.Width
	}
	if c.Height > h {
		padT = (c.Height - h) / 2
		ph = c.Height
	}
	top := int(math.RoundToEven(float64(ph-c.Height) / 2))
	left := int(math.RoundToEven(float64(pw-c.Width) / 2))
	x0, y0 := left-padL, top-padT
	out := image.NewRGBA(image.Rect(0, 0, c.Width, c.Height))
	b := img.Bounds()
	for y := range c.Height {
		o := out.Pix[out.Stride*y : out.Stride*(y+1)]
		sy := y0 + y
		if sy < 0 || sy >= h {
			for x := range c.Width {
				o[4*x+3] = 255
			}
			continue
		}
		for x := range c.Width {
			sx := x0 + x
			if sx >= 0 && sx < w {
				p := img.Pix[img.PixOffset(b.Min.X+sx, b.Min.Y+sy):]
				o[4*x], o[4*x+1], o[4*x+2] = p[0], p[1], p[2]
			}
			o[4*x+3] = 255
		}
	}
	return out, nil
}

// String prints c as torchvision's repr.
func (c CenterCropSize) String() string {
	return fmt.Sprintf("CenterCrop(size=(%d, %d))", c.Height, c.Width)
}

// RandomResizedCrop mirrors torchvision.transforms.RandomResizedCrop with
// bilinear interpolation: a random region whose area is a fraction in
// Scale of the image's and whose aspect ratio (width/height) is
// log-uniform in Ratio — ten attempts, each drawing the area fraction,
// the log aspect ratio, and for a region that fits its top-left corner
// uniformly; when none fits, the largest centred region whose ratio is
// clamped into Ratio — resized to Width×Height as Resize does. The sizes
// are int(round(·)) with Python's round half to even, as torchvision. The
// draws come from Go's generator, not torch's: the same seed does not
// give torch's crops, only the same distribution.
//
// Width and Height are required (the zero value is refused with an error
// wrapping gometric.ErrSetting). If Scale is {0, 0}, torchvision's
// (0.08, 1) is used; if Ratio is {0, 0}, (3/4, 4/3). Otherwise Scale must
// satisfy 0 < Scale[0] <= Scale[1] and Ratio 0 < Ratio[0] <= Ratio[1]. A
// RandomResizedCrop is a plain value, safe for concurrent use (with
// distinct or nil rngs).
type RandomResizedCrop struct {
	Width, Height int
	Scale         [2]float64 // area fraction range; {0, 0} means (0.08, 1)
	Ratio         [2]float64 // aspect ratio range; {0, 0} means (3/4, 4/3)
}

// params checks c and returns its scale and ratio with the defaults.
func (c RandomResizedCrop) params(comp string) (scale, ratio [2]float64, err error) {
	if c.Width <= 0 || c.Height <= 0 {
		return scale, ratio, check.Settingf(comp, "output size %d×%d: want positive Width and Height", c.Width, c.Height)
	}
	if err := checkOut(comp, c.Width, c.Height); err != nil {
		return scale, ratio, err
	}
	scale, ratio = c.Scale, c.Ratio
	if scale == [2]float64{} {
		scale = [2]float64{0.08, 1}
	}
	if ratio == [2]float64{} {
		ratio = [2]float64{3.0 / 4, 4.0 / 3}
	}
	if !(scale[0] > 0 && scale[0] <= scale[1] && !math.IsInf(scale[1], 0)) {
		return scale, ratio, check.Settingf(comp, "Scale %v: want 0 < Scale[0] <= Scale[1] < ∞", scale)
	}
	if !(ratio[0] > 0 && ratio[0] <= ratio[1] && !math.IsInf(ratio[1], 0)) {
		return scale, ratio, check.Settingf(comp, "Ratio %v: want 0 < Ratio[0] <= Ratio[1] < ∞", ratio)
	}
	return scale, ratio, nil
}

// pyRound is Python 3's int(round(x)) for the sizes a crop draws, kept in
// [0, limit+1] so that a huge value cannot overflow.
func pyRound(x float64, limit int) int {
	r := math.RoundToEven(x)
	if !(r <= float64(limit)) { // NaN too
		return limit + 1
	}
	return int(r)
}

// Params draws the region of a w×h image that c crops, as torchvision's
// RandomResizedCrop.get_params: the rectangle in image coordinates from
// (0, 0). It returns an error for bad settings or sizes.
func (c RandomResizedCrop) Params(w, h int, rng *rand.Rand) (image.Rectangle, error) {
	const comp = "datasets.RandomResizedCrop.Params"
	scale, ratio, err := c.params(comp)
	if err != nil {
		return image.Rectangle{}, err
	}
	if w <= 0 || h <= 0 || int64(w)*int64(h) > 1<<40 {
		return image.Rectangle{}, check.Errorf(comp, gometric.ErrShape, "image size %d×%d: want positive sides and at most 2^40 pixels", w, h)
	}
	return cropParams(w, h, scale, ratio, randsrc.Or(rng)), nil
}

func cropParams(width, height int, scale, ratio [2]float64, rng *rand.Rand) image.Rectangle {
	area := float64(width) * float64(height)
	lr0, lr1 := math.Log(ratio[0]), math.Log(ratio[1])
	for range 10 {
		target := area * (scale[0] + (scale[1]-scale[0])*rng.Float64())
		aspect := math.Exp(lr0 + (lr1-lr0)*rng.Float64())
		cw := pyRound(math.Sqrt(target*aspect), width)
		ch := pyRound(math.Sqrt(target/aspect), height)
		if 0 < cw && cw <= width && 0 < ch && ch <= height {
			i := rng.IntN(height - ch + 1)
			j := rng.IntN(width - cw + 1)
			return image.Rect(j, i, j+cw, i+ch)
		}
	}
	inRatio := float64(width) / float64(height)
	cw, ch := width, height
	if inRatio < ratio[0] {
		ch = max(1, min(height, pyRound(float64(cw)/ratio[0], height)))
	} else if inRatio > ratio[1] {
		cw = max(1, min(width, pyRound(float64(ch)*ratio[1], width)))
	}
	i, j := (height-ch)/2, (width-cw)/2
	return image.Rect(j, i, j+cw, i+ch)
}

// Apply crops a random region of img and resizes it (see Transform).
func (c RandomResizedCrop) Apply(img *image.RGBA, rng *rand.Rand) (*image.RGBA, error) {
	const comp = "datasets.RandomResizedCrop.Apply"
	w, h, err := srcSize(comp, img)
	if err != nil {
		return nil, err
	}
	scale, ratio, err := c.params(comp)
	if err != nil {
		return nil, err
	}
	r := cropParams(w, h, scale, ratio, randsrc.Or(rng)).Add(img.Bounds().Min)
	return resizeBilinear(img, r, c.Width, c.Height), nil
}

// String prints c as torchvision's repr.
func (c RandomResizedCrop) String() string {
	scale, ratio := c.Scale, c.Ratio
	if scale == [2]float64{} {
		scale = [2]float64{0.08, 1}
	}
	if ratio == [2]float64{} {
		ratio = [2]float64{3.0 / 4, 4.0 / 3}
	}
	return fmt.Sprintf("RandomResizedCrop(size=(%d, %d), scale=(%.4g, %.4g), ratio=(%.4g, %.4g), interpolation=bilinear)",
		c.Height, c.Width, scale[0], scale[1], ratio[0], ratio[1])
}

// RandomHorizontalFlip mirrors torchvision.transforms.RandomHorizontalFlip:
// the image mirrored left to right with probability P (one uniform draw
// per image, flipped when it is below P). Make it with
// NewRandomHorizontalFlip (torchvision's default is p = 0.5): P = 0 is a
// legal setting (never flip), so the zero value, which no constructor
// made, is refused with an error wrapping gometric.ErrSetting naming
// NewRandomHorizontalFlip. A RandomHorizontalFlip is a plain value, safe
// for concurrent use (with distinct or nil rngs).
type RandomHorizontalFlip struct {
	P    float64 // flip probability in [0, 1]
	made bool
}

// NewRandomHorizontalFlip returns a RandomHorizontalFlip with probability
// p (0.5 is torchvision's default); p is checked when it is applied.
func NewRandomHorizontalFlip(p float64) RandomHorizontalFlip {
	return RandomHorizontalFlip{P: p, made: true}
}

// Apply flips img with probability P (see Transform).
func (f RandomHorizontalFlip) Apply(img *image.RGBA, rng *rand.Rand) (*image.RGBA, error) {
	const comp = "datasets.RandomHorizontalFlip.Apply"
	if !f.made {
		return nil, check.Settingf(comp, "not made by NewRandomHorizontalFlip: the zero value is not torchvision's default (p 0.5); use NewRandomHorizontalFlip(p)")
	}
	if !(f.P >= 0 && f.P <= 1) {
		return nil, check.Settingf(comp, "P %v outside [0, 1]", f.P)
	}
	w, h, err := srcSize(comp, img)
	if err != nil {
		return nil, err
	}
	if !(randsrc.Or(rng).Float64() < f.P) {
		return img, nil
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	b := img.Bounds()
	for y := range h {
		in := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):]
		o := out.Pix[out.Stride*y:]
		for x := range w {
			s := 4 * (w - 1 - x)
			o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = in[s], in[s+1], in[s+2], 255
		}
	}
	return out, nil
}

// String prints f as torchvision's repr.
func (f RandomHorizontalFlip) String() string {
	return fmt.Sprintf("RandomHorizontalFlip(p=%v)", f.P)
}

// SampleRand returns the generator of sample index in epoch for a seed: a
// PCG seeded by a hash of the three, so a sample's augmentation depends on
// (seed, epoch, index) only — not on the batch it is in, the worker that
// decodes it or GOMAXPROCS. ImageFiles draws each image's Transform from
// SampleRand(Seed, Epoch, i).
func SampleRand(seed uint64, epoch, index int) *rand.Rand {
	a := mix64(seed ^ 0x6a09e667f3bcc909)
	b := mix64(mix64(uint64(epoch)+0x9e3779b97f4a7c15) ^ uint64(index))
	return rand.New(rand.NewPCG(a, b))
}

// mix64 is SplitMix64's finaliser.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// toRGBA returns src as an opaque RGBA image at the origin (transparency
// composed over black, as ImageFiles' decoding; a *image.RGBA at the
// origin is returned as it is).
func toRGBA(src image.Image) *image.RGBA {
	if m, ok := src.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := src.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	xdraw.Draw(out, out.Bounds(), src, b.Min, xdraw.Src)
	return out
}

// ToTensor mirrors torchvision's ToTensor followed by Normalize (norm;
// the zero Normalize is ToTensor alone): img's RGB channels as float32
// CHW, (p/255 − mean)/std, written to dst (reallocated when too small)
// and returned. Alpha is ignored; a nil or empty image is an error
// wrapping gometric.ErrSetting or gometric.ErrShape.
func ToTensor(img image.Image, norm Normalize, dst []float32) ([]float32, error) {
	const comp = "datasets.ToTensor"
	if check.Nil(img) {
		return dst, check.Settingf(comp, "nil image")
	}
	t, err := norm.table(comp, 3)
	if err != nil {
		return dst, err
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 || int64(b.Dx())*int64(b.Dy()) > MaxTransformPixels {
		return dst, check.Errorf(comp, gometric.ErrShape, "image size %d×%d: want positive sides and at most %d pixels", b.Dx(), b.Dy(), MaxTransformPixels)
	}
	m := toRGBA(img)
	pix := chwBytes(m)
	hw := b.Dx() * b.Dy()
	dst = growF32(dst, 3*hw)
	for ch := range 3 {
		t.apply(ch, pix[ch*hw:(ch+1)*hw], dst[ch*hw:(ch+1)*hw])
	}
	return dst, nil
}

// chwBytes returns the RGB channels of m (bounds from the origin) as CHW
// bytes.
func chwBytes(m *image.RGBA) []uint8 {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	hw := w * h
	out := make([]uint8, 3*hw)
	for y := range h {
		in := m.Pix[m.PixOffset(m.Rect.Min.X, m.Rect.Min.Y+y):]
		for x := range w {
			k := y*w + x
			out[k], out[hw+k], out[2*hw+k] = in[4*x], in[4*x+1], in[4*x+2]
		}
	}
	return out
}
