package datasets

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"

	"github.com/gometric/gometric/internal/check"
	"github.com/gometric/gometric/internal/randsrc"
)

// ColorJitter mirrors torchvision.transforms.ColorJitter on a PIL image:
// brightness, contrast, saturation and hue adjusted by factors drawn
// uniformly from [max(0, 1−Brightness), 1+Brightness],
// [max(0, 1−Contrast), 1+Contrast], [max(0, 1−Saturation), 1+Saturation]
// and [−Hue, Hue], applied in a random order (torchvision's randperm(4));
// an adjustment whose range is the single value 1 (or 0 for hue) is
// skipped, as torchvision's None. Each adjustment is Pillow's, in its
// arithmetic: brightness blends with black, contrast with the grey of the
// image's mean luma (ITU-R 601-2, Pillow's fixed-point L), saturation with
// each pixel's luma (ImageEnhance.Brightness, Contrast, Color: blends
// truncated to bytes), hue shifts the H channel of Pillow's 8-bit HSV
// (torchvision's adjust_hue). The draws come from Go's generator, not
// torch's.
//
// The zero value is torchvision's ColorJitter(): every factor 1, the
// image unchanged. Brightness, Contrast and Saturation must be finite and
// >= 0, Hue in [0, 0.5]; otherwise Apply returns an error wrapping
// gometric.ErrSetting. A ColorJitter is a plain value, safe for
// concurrent use (with distinct or nil rngs).
type ColorJitter struct {
	Brightness, Contrast, Saturation, Hue float64
}

// check validates j.
func (j ColorJitter) check(comp string) error {
	for _, v := range []struct {
		name string
		v    float64
	}{{"Brightness", j.Brightness}, {"Contrast", j.Contrast}, {"Saturation", j.Saturation}} {
		if !(v.v >= 0) || math.IsInf(v.v, 0) {
			return check.Settingf(comp, "%s %v: want a finite value >= 0", v.name, v.v)
		}
	}
	if !(j.Hue >= 0 && j.Hue <= 0.5) {
		return check.Settingf(comp, "Hue %v outside [0, 0.5]", j.Hue)
	}
	return nil
}

// Apply jitters img's colours (see Transform).
func (j ColorJitter) Apply(img *image.RGBA, rng *rand.Rand) (*image.RGBA, error) {
	const comp = "datasets.ColorJitter.Apply"
	if err := j.check(comp); err != nil {
		return nil, err
	}
	w, h, err := srcSize(comp, img)
	if err != nil {
		return nil, err
	}
	rng = randsrc.Or(rng)
	order := rng.Perm(4)
	factor := func(v, center float64, clip bool) (float64, bool) {
		lo, hi := center-v, center+v
		if clip {
			lo = max(lo, 0)
		}
		if lo == center && hi == center {
			return 0, false
		}
		return lo + (hi-lo)*rng.Float64(), true
	}
	var f [4]float64
	var on [4]bool
	f[0], on[0] = factor(j.Brightness, 1, true)
	f[1], on[1] = factor(j.Contrast, 1, true)
	f[2], on[2] = factor(j.Saturation, 1, true)
	f[3], on[3] = factor(j.Hue, 0, false)
	if !on[0] && !on[1] && !on[2] && !on[3] {
		return img, nil
	}
	// Work on a copy at the origin.
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	copyRegion(out, img, img.Bounds())
	for _, k := range order {
		if !on[k] {
			continue
		}
		switch k {
		case 0:
			adjustBrightness(out.Pix, float32(f[k]))
		case 1:
			adjustContrast(out.Pix, float32(f[k]))
		case 2:
			adjustSaturation(out.Pix, float32(f[k]))
		case 3:
			adjustHue(out.Pix, f[k])
		}
	}
	return out, nil
}

// String prints j as torchvision's repr.
func (j ColorJitter) String() string {
	return fmt.Sprintf("ColorJitter(brightness=%v, contrast=%v, saturation=%v, hue=%v)", j.Brightness, j.Contrast, j.Saturation, j.Hue)
}

// blend is Pillow's ImagingBlend of one byte: in1 + alpha·(in2 − in1) in
// float32, truncated, clipped to [0, 255].
func blend(in1, in2 uint8, alpha float32) uint8 {
	d := float32(int(in2) - int(in1))
	t := float32(alpha*d) + float32(in1)
	if t <= 0 {
		return 0
	}
	if t >= 255 {
		return 255
	}
	return uint8(t)
}

// luma is Pillow's RGB to L conversion (L24).
func luma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}

// adjustBrightness is ImageEnhance.Brightness: a blend with black.
func adjustBrightness(pix []uint8, f float32) {
	for i := 0; i+3 < len(pix); i += 4 {
		pix[i], pix[i+1], pix[i+2] = blend(0, pix[i], f), blend(0, pix[i+1], f), blend(0, pix[i+2], f)
	}
}

// adjustContrast is ImageEnhance.Contrast: a blend with the grey of the
// mean luma, int(mean + 0.5).
func adjustContrast(pix []uint8, f float32) {
	var sum float64
	n := 0
	for i := 0; i+3 < len(pix); i += 4 {
		sum += float64(luma(pix[i], pix[i+1], pix[i+2]))
		n++
	}
	m := uint8(int(sum/float64(n) + 0.5))
	for i := 0; i+3 < len(pix); i += 4 {
		pix[i], pix[i+1], pix[i+2] = blend(m, pix[i], f), blend(m, pix[i+1], f), blend(m, pix[i+2], f)
	}
}

// adjustSaturation is ImageEnhance.Color: a blend with each pixel's luma.
func adjustSaturation(pix []uint8, f float32) {
	for i := 0; i+3 < len(pix); i += 4 {
		l := luma(pix[i], pix[i+1], pix[i+2])
		pix[i], pix[i+1], pix[i+2] = blend(l, pix[i], f), blend(l, pix[i+1], f), blend(l, pix[i+2], f)
	}
}

// adjustHue is torchvision's PIL adjust_hue: H of Pillow's HSV shifted by
// uint8(hue·255) modulo 256.
func adjustHue(pix []uint8, hue float64) {
	shift := uint8(int64(hue * 255)) // numpy's uint8 of the float: truncated, wrapped
	for i := 0; i+3 < len(pix); i += 4 {
		hh, s, v := rgbToHSV(pix[i], pix[i+1], pix[i+2])
		pix[i], pix[i+1], pix[i+2] = hsvToRGB(hh+shift, s, v)
	}
}

// rgbToHSV is Pillow's rgb2hsv (Convert.c), with its float and double
// arithmetic.
func rgbToHSV(r, g, b uint8) (uint8, uint8, uint8) {
	maxc := max(r, g, b)
	minc := min(r, g, b)
	if minc == maxc {
		return 0, 0, maxc
	}
	cr := float32(maxc - minc)
	s := cr / float32(maxc)
	rc := float32(maxc-r) / cr
	gc := float32(maxc-g) / cr
	bc := float32(maxc-b) / cr
	var hf float32
	switch {
	case r == maxc:
		hf = bc - gc
	case g == maxc:
		hf = float32(2.0 + float64(rc) - float64(bc))
	default:
		hf = float32(4.0 + float64(gc) - float64(rc))
	}
	hf = float32(math.Mod(float64(hf)/6.0+1.0, 1.0))
	return clipInt8(int(float64(hf) * 255.0)), clipInt8(int(float64(s) * 255.0)), maxc
}

// hsvToRGB is Pillow's hsv2rgb (Convert.c).
func hsvToRGB(h, s, v uint8) (uint8, uint8, uint8) {
	if s == 0 {
		return v, v, v
	}
	x := float64(float32(h)) * 6.0 / 255.0
	i := int(math.Floor(x))
	f := float32(x - float64(float32(i)))
	fs := float32(float64(s) / 255.0)
	p := clipInt8(int(math.Round(float64(float32(v)) * (1.0 - float64(fs)))))
	q := clipInt8(int(math.Round(float64(float32(v)) * (1.0 - float64(fs*f)))))
	t := clipInt8(int(math.Round(float64(float32(v)) * (1.0 - float64(fs)*(1.0-float64(f))))))
	switch i % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	}
	return v, p, q
}

func clipInt8(x int) uint8 {
	return uint8(min(max(x, 0), 255))
}
