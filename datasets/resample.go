package datasets

import (
	"image"
	"math"
)

// Pillow's fixed-point resampling (libImaging/Resample.c), which
// torchvision's Resize and RandomResizedCrop call on PIL images with
// Image.BILINEAR: a separable triangle filter widened by the scale factor
// when shrinking (antialiasing), weights rounded to 22-bit fixed point,
// a horizontal pass into an 8-bit intermediate image, then a vertical
// pass.

// precisionBits is Pillow's PRECISION_BITS (32 - 8 - 2).
const precisionBits = 32 - 8 - 2

// coeffs are the fixed-point weights of one resampling direction: output
// position i reads in[bounds[2i] : bounds[2i]+bounds[2i+1]] with weights
// kk[i*ksize : i*ksize+bounds[2i+1]].
type coeffs struct {
	ksize  int
	bounds []int
	kk     []int32
}

// bilinearCoeffs is Pillow's precompute_coeffs and normalize_coeffs_8bpc
// for the bilinear filter (support 1) over input positions [0, inSize)
// mapped to outSize outputs.
func bilinearCoeffs(inSize, outSize int) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := filterscale // bilinear support 1.0 × filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), kk: make([]int32, outSize*ksize)}
	pre := make([]float64, ksize)
	ss := 1 / filterscale
	for xx := range outSize {
		center := (float64(xx) + 0.5) * scale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		xmax = min(xmax, ksize)
		ww := 0.0
		for x := range xmax {
			w := math.Abs((float64(x+xmin) - center + 0.5) * ss)
			if w < 1 {
				w = 1 - w
			} else {
				w = 0
			}
			pre[x] = w
			ww += w
		}
		k := c.kk[xx*ksize : xx*ksize+ksize]
		for x := range xmax {
			v := pre[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				k[x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				k[x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

// clip8 is Pillow's clip8: a fixed-point sum to a byte.
func clip8(in int32) uint8 {
	if in >= 1<<precisionBits<<8 {
		return 255
	}
	if in <= 0 {
		return 0
	}
	return uint8(in >> precisionBits)
}

// resizeBilinear returns the region r of src (inside its bounds) resized
// to w×h as Pillow's im.crop(r).resize((w, h), Image.BILINEAR) does, as
// an opaque RGBA image at the origin. src's alpha is ignored.
func resizeBilinear(src *image.RGBA, r image.Rectangle, w, h int) *image.RGBA {
	sw, sh := r.Dx(), r.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	if sw == w && sh == h {
		copyRegion(out, src, r)
		return out
	}
	// Horizontal pass into tmp (RGB, w × rows used by the vertical pass).
	vert := bilinearCoeffs(sh, h)
	yFirst, yLast := 0, sh
	if sh != h {
		yFirst = vert.bounds[0]
		yLast = vert.bounds[2*h-2] + vert.bounds[2*h-1]
	}
	rows := yLast - yFirst
	var tmp []uint8 // RGB, stride 3w
	if sw != w {
		hor := bilinearCoeffs(sw, w)
		tmp = make([]uint8, 3*w*rows)
		for y := range rows {
			in := src.Pix[src.PixOffset(r.Min.X, r.Min.Y+yFirst+y):]
			o := tmp[3*w*y : 3*w*(y+1)]
			for xx := range w {
				xmin, n := hor.bounds[2*xx], hor.bounds[2*xx+1]
				k := hor.kk[xx*hor.ksize : xx*hor.ksize+n]
				var s0, s1, s2 int32 = 1 << (precisionBits - 1), 1 << (precisionBits - 1), 1 << (precisionBits - 1)
				p := in[4*xmin : 4*(xmin+n)]
				for x, kx := range k {
					s0 += int32(p[4*x]) * kx
					s1 += int32(p[4*x+1]) * kx
					s2 += int32(p[4*x+2]) * kx
				}
				o[3*xx], o[3*xx+1], o[3*xx+2] = clip8(s0), clip8(s1), clip8(s2)
			}
		}
	} else {
		tmp = make([]uint8, 3*w*rows)
		for y := range rows {
			in := src.Pix[src.PixOffset(r.Min.X, r.Min.Y+yFirst+y):]
			o := tmp[3*w*y : 3*w*(y+1)]
			for x := range w {
				o[3*x], o[3*x+1], o[3*x+2] = in[4*x], in[4*x+1], in[4*x+2]
			}
		}
	}
	if sh == h {
		for y := range h {
			in := tmp[3*w*y:]
			o := out.Pix[out.Stride*y:]
			for x := range w {
				o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = in[3*x], in[3*x+1], in[3*x+2], 255
			}
		}
		return out
	}
	// Vertical pass from tmp (bounds shifted by yFirst).
	stride := 3 * w
	for yy := range h {
		ymin, n := vert.bounds[2*yy]-yFirst, vert.bounds[2*yy+1]
		k := vert.kk[yy*vert.ksize : yy*vert.ksize+n]
		o := out.Pix[out.Stride*yy:]
		for xx := range w {
			var s0, s1, s2 int32 = 1 << (precisionBits - 1), 1 << (precisionBits - 1), 1 << (precisionBits - 1)
			off := ymin*stride + 3*xx
			for _, ky := range k {
				s0 += int32(tmp[off]) * ky
				s1 += int32(tmp[off+1]) * ky
				s2 += int32(tmp[off+2]) * ky
				off += stride
			}
			o[4*xx], o[4*xx+1], o[4*xx+2], o[4*xx+3] = clip8(s0), clip8(s1), clip8(s2), 255
		}
	}
	return out
}

// copyRegion copies the region r of src to dst (at the origin, same size)
// with alpha 255.
func copyRegion(dst, src *image.RGBA, r image.Rectangle) {
	w := r.Dx()
	for y := range r.Dy() {
		in := src.Pix[src.PixOffset(r.Min.X, r.Min.Y+y):]
		o := dst.Pix[dst.Stride*y:]
		for x := range w {
			o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = in[4*x], in[4*x+1], in[4*x+2], 255
		}
	}
}
