// The upsampling and colour conversion below transcribe the arithmetic
// of libjpeg-turbo's jdsample.c and jdcolor.c (Copyright (C) 1991-1997,
// Thomas G. Lane; libjpeg-turbo modifications by D. R. Commander and
// others), under the Independent JPEG Group's license: this software is
// based in part on the work of the Independent JPEG Group.

package datasets

import (
	"fmt"
	"image"
	"io"
)

// decodeJPEG decodes a JPEG file to RGB as torchvision's image loader
// does — Pillow's Image.open(p).convert("RGB") on libjpeg-turbo 2.1 with
// its defaults (islow IDCT, fancy upsampling) — as an opaque RGBA image
// at the origin. A frame of more than maxPixels pixels is refused before
// anything is allocated. Like Pillow, it ignores the EXIF orientation.
//
// The colour space is libjpeg's guess (jdapimin.c): one component is
// grayscale (replicated to RGB by convert); three are YCbCr (fancy
// upsampling, then jdcolor.c's integer conversion) unless an Adobe
// marker says RGB (transform 0) or, with neither a JFIF nor an Adobe
// marker, the component identifiers are 'R', 'G', 'B'; four are CMYK
// unless an Adobe marker's transform is not 0 (YCCK, converted to CMYK as
// jdcolor.c's ycck_cmyk_convert). Pillow reads four-component JPEGs as
// Adobe-inverted CMYK ("CMYK;I") and converts them with cmyk2rgb, which
// is mirrored too. Sampling factors are image/jpeg's: 4:4:4, 4:4:0,
// 4:2:2, 4:2:0, 4:1:1 and 4:1:0 (others are an error, where libjpeg
// decodes some), and 8-bit baseline, extended and progressive files;
// arithmetic coding, 12-bit, lossless and hierarchical JPEGs are errors
// as in image/jpeg. An incomplete progressive file (some coefficients
// never sent) is not block-smoothed as libjpeg does.
func decodeJPEG(r io.Reader, maxPixels int64) (*image.RGBA, error) {
	d := &jpegDecoder{maxPixels: maxPixels}
	m, err := d.decode(r, false)
	if err != nil {
		return nil, err
	}
	switch m := m.(type) {
	case *image.Gray:
		return grayToRGBA(m), nil
	case *image.YCbCr:
		return d.toRGBA(m), nil
	}
	return nil, fmt.Errorf("unexpected decoded JPEG image %T", m)
}

// jpegSpace is a colour space of libjpeg's.
type jpegSpace int

const (
	jpegYCbCr jpegSpace = iota
	jpegRGB
	jpegCMYK
	jpegYCCK
)

// space returns the colour space libjpeg-turbo's
// default_decompression_parms assumes for d's components.
func (d *jpegDecoder) space() jpegSpace {
	if d.nComp == 4 {
		if d.adobeTransformValid && d.adobeTransform != jpegAdobeUnknown {
			return jpegYCCK
		}
		return jpegCMYK
	}
	switch {
	case d.jfif:
		return jpegYCbCr
	case d.adobeTransformValid:
		if d.adobeTransform == jpegAdobeUnknown {
			return jpegRGB
		}
		return jpegYCbCr
	case d.comp[0].c == 'R' && d.comp[1].c == 'G' && d.comp[2].c == 'B':
		return jpegRGB
	}
	return jpegYCbCr
}

// toRGBA converts the component planes in m (and d's fourth component)
// to RGB in d's colour space, as libjpeg's upsampling and colour
// conversion followed by Pillow's convert("RGB").
func (d *jpegDecoder) toRGBA(m *image.YCbCr) *image.RGBA {
	space := d.space()
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	hf, vf := subsampleFactors(m.SubsampleRatio)
	cw, ch := (w+hf-1)/hf, (h+vf-1)/vf
	u1 := newUpsampler(m.Cb, m.CStride, cw, ch, hf, vf, w)
	u2 := newUpsampler(m.Cr, m.CStride, cw, ch, hf, vf, w)
	for y := range h {
		y0 := m.Y[y*m.YStride : y*m.YStride+w]
		o := out.Pix[y*out.Stride : y*out.Stride+4*w]
		c1, c2 := u1.row(y), u2.row(y)
		switch space {
		case jpegYCbCr:
			yccRow(o, y0, c1, c2)
		case jpegRGB:
			for x, v := range y0 {
				o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = v, c1[x], c2[x], 255
			}
		default:
			k := d.blackPix[y*d.blackStride : y*d.blackStride+w]
			cmykRow(o, y0, c1, c2, k, space == jpegYCCK)
		}
	}
	return out
}

// subsampleFactors returns the chroma expansion factors of r.
func subsampleFactors(r image.YCbCrSubsampleRatio) (hf, vf int) {
	switch r {
	case image.YCbCrSubsampleRatio422:
		return 2, 1
	case image.YCbCrSubsampleRatio420:
		return 2, 2
	case image.YCbCrSubsampleRatio440:
		return 1, 2
	case image.YCbCrSubsampleRatio411:
		return 4, 1
	case image.YCbCrSubsampleRatio410:
		return 4, 2
	}
	return 1, 1
}

// cmykRow converts one row of four full-size components to RGB as
// libjpeg's CMYK output (YCCK converted by ycck_cmyk_convert, CMYK passed
// through) read by Pillow as inverted CMYK ("CMYK;I") and converted by
// its cmyk2rgb.
func cmykRow(dst, c0, c1, c2, k []uint8, ycck bool) {
	t := ycc
	dst = dst[:4*len(c0)]
	c1, c2, k = c1[:len(c0)], c2[:len(c0)], k[:len(c0)]
	for x, v0 := range c0 {
		c, m, yy := v0, c1[x], c2[x]
		if ycck {
			Y := int32(v0)
			c = clampByte(255 - (Y + t.crR[c2[x]]))
			m = clampByte(255 - (Y + (t.cbG[c1[x]]+t.crG[c2[x]])>>jpegScaleBits))
			yy = clampByte(255 - (Y + t.cbB[c1[x]]))
		}
		// Pillow's "CMYK;I" inverts all four; cmyk2rgb's nk = 255 − k is
		// then the sample itself.
		nk := int32(k[x])
		d := dst[4*x : 4*x+4 : 4*x+4]
		d[0] = cmykChannel(255-int32(c), nk)
		d[1] = cmykChannel(255-int32(m), nk)
		d[2] = cmykChannel(255-int32(yy), nk)
		d[3] = 255
	}
}

// cmykChannel is Pillow's cmyk2rgb for one channel: CLIP8(nk −
// MULDIV255(c, nk)).
func cmykChannel(c, nk int32) uint8 {
	t := c*nk + 128
	return clampByte(nk - ((t>>8)+t)>>8)
}

// jpegScaleBits is jdcolor.c's SCALEBITS.
const jpegScaleBits = 16

// yccTables are jdcolor.c's Cr_r_tab, Cb_b_tab, Cr_g_tab and Cb_g_tab
// (build_ycc_rgb_table), indexed by the chroma sample.
type yccTables struct {
	crR, cbB [256]int32
	crG, cbG [256]int32
}

var ycc = func() *yccTables {
	const oneHalf = 1 << (jpegScaleBits - 1)
	fix := func(x float64) int64 { return int64(x*(1<<jpegScaleBits) + 0.5) }
	t := new(yccTables)
	for i := range 256 {
		x := int64(i - 128)
		t.crR[i] = int32((fix(1.40200)*x + oneHalf) >> jpegScaleBits)
		t.cbB[i] = int32((fix(1.77200)*x + oneHalf) >> jpegScaleBits)
		t.crG[i] = int32(-fix(0.71414) * x)
		t.cbG[i] = int32(-fix(0.34414)*x + oneHalf)
	}
	return t
}()

// clampByte is libjpeg's sample_range_limit for colour conversion.
func clampByte(v int32) uint8 {
	if uint32(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}

// yccRow converts one row of full-size Y, Cb and Cr samples to RGBA as
// jdcolor.c's ycc_rgb_convert.
func yccRow(dst, y, cb, cr []uint8) {
	t := ycc
	dst = dst[:4*len(y)]
	cb, cr = cb[:len(y)], cr[:len(y)]
	for x, yy := range y {
		Y := int32(yy)
		b, r := cb[x], cr[x]
		d := dst[4*x : 4*x+4 : 4*x+4]
		d[0] = clampByte(Y + t.crR[r])
		d[1] = clampByte(Y + (t.cbG[b]+t.crG[r])>>jpegScaleBits)
		d[2] = clampByte(Y + t.cbB[b])
		d[3] = 255
	}
}

// upsampler brings one chroma plane of a w×h image to full size, a row
// at a time, as libjpeg's jdsample.c does for its sampling factors.
type upsampler struct {
	pix     []uint8 // the plane
	stride  int
	cw, ch  int // downsampled_width and downsampled_height
	hf, vf  int // horizontal and vertical expansion factors
	fancyH  bool
	fancyV  bool
	colsum  []int32 // h2v2: 3·near + far, one per chroma column
	out     []uint8 // one full-size row (hf·cw samples)
	lastRow int     // the output row in out, -1 before the first
}

// newUpsampler returns the upsampler of a plane of cw×ch samples (the
// row-major samples of pix with stride) expanded by hf×vf for an image w
// pixels wide. Fancy (triangle) upsampling is used where libjpeg-turbo's
// jinit_upsampler chooses it: h2v1 and h2v2 when the plane is more than
// two samples wide, h1v2 always; other integral factors replicate
// (int_upsample).
func newUpsampler(pix []uint8, stride, cw, ch, hf, vf, w int) *upsampler {
	u := &upsampler{pix: pix, stride: stride, cw: cw, ch: ch, hf: hf, vf: vf, lastRow: -1}
	switch {
	case hf == 2 && vf == 1:
		u.fancyH = cw > 2
	case hf == 1 && vf == 2:
		u.fancyV = true
	case hf == 2 && vf == 2:
		u.fancyH = cw > 2
		u.fancyV = u.fancyH
	}
	u.out = make([]uint8, max(hf*cw, w))
	if u.fancyH && u.fancyV {
		u.colsum = make([]int32, cw)
	}
	return u
}

// row returns the upsampled samples of output row y (at least w of them).
func (u *upsampler) row(y int) []uint8 {
	if u.hf == 1 && u.vf == 1 {
		return u.pix[y*u.stride : y*u.stride+u.cw]
	}
	if u.lastRow == y {
		return u.out
	}
	cy := y / u.vf
	near := u.pix[cy*u.stride : cy*u.stride+u.cw]
	u.lastRow = y
	switch {
	case u.fancyH && u.fancyV: // h2v2_fancy_upsample
		fy := cy - 1
		if y%2 == 1 {
			fy = cy + 1
		}
		fy = min(max(fy, 0), u.ch-1)
		far := u.pix[fy*u.stride : fy*u.stride+u.cw]
		cs := u.colsum[:len(near)]
		for i, n := range near {
			cs[i] = 3*int32(n) + int32(far[i])
		}
		o := u.out[:2*len(cs)]
		last := len(cs) - 1
		o[0] = uint8((cs[0]*4 + 8) >> 4)
		o[1] = uint8((cs[0]*3 + cs[1] + 7) >> 4)
		for i := 1; i < last; i++ {
			c3 := cs[i] * 3
			o[2*i] = uint8((c3 + cs[i-1] + 8) >> 4)
			o[2*i+1] = uint8((c3 + cs[i+1] + 7) >> 4)
		}
		o[2*last] = uint8((cs[last]*3 + cs[last-1] + 8) >> 4)
		o[2*last+1] = uint8((cs[last]*4 + 7) >> 4)
	case u.fancyH: // h2v1_fancy_upsample
		o := u.out[:2*len(near)]
		last := len(near) - 1
		v := int32(near[0])
		o[0] = near[0]
		o[1] = uint8((v*3 + int32(near[1]) + 2) >> 2)
		for i := 1; i < last; i++ {
			v3 := int32(near[i]) * 3
			o[2*i] = uint8((v3 + int32(near[i-1]) + 1) >> 2)
			o[2*i+1] = uint8((v3 + int32(near[i+1]) + 2) >> 2)
		}
		o[2*last] = uint8((int32(near[last])*3 + int32(near[last-1]) + 1) >> 2)
		o[2*last+1] = near[last]
	case u.fancyV: // h1v2_fancy_upsample
		fy, bias := cy-1, int32(1)
		if y%2 == 1 {
			fy, bias = cy+1, 2
		}
		fy = min(max(fy, 0), u.ch-1)
		far := u.pix[fy*u.stride : fy*u.stride+u.cw]
		o := u.out[:len(near)]
		for i, n := range near {
			o[i] = uint8((3*int32(n) + int32(far[i]) + bias) >> 2)
		}
	default: // h2v1_upsample, h2v2_upsample, int_upsample: replication
		o := u.out
		for i, n := range near {
			for k := range u.hf {
				o[i*u.hf+k] = n
			}
		}
	}
	return u.out
}

// grayToRGBA replicates a grayscale image into RGB, as Pillow's
// convert("RGB") of an "L" image.
func grayToRGBA(m *image.Gray) *image.RGBA {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		in := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
		o := out.Pix[y*out.Stride:][:4*w]
		for x, v := range in {
			o[4*x], o[4*x+1], o[4*x+2], o[4*x+3] = v, v, v, 255
		}
	}
	return out
}
