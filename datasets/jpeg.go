package datasets

import (
	"fmt"
	"image"
	"image/jpeg"
	"io"
)

// decodeJPEG decodes a JPEG file to RGB as torchvision's image loader
// does (Pillow's Image.open(p).convert("RGB") on libjpeg-turbo): see
// jpegToRGBA.
func decodeJPEG(r io.Reader) (*image.RGBA, error) {
	m, err := jpeg.Decode(r)
	if err != nil {
		return nil, err
	}
	return jpegToRGBA(m)
}

// jpegToRGBA converts a decoded JPEG image to RGBA at the origin as
// Pillow's convert("RGB") of the image libjpeg-turbo decodes: YCbCr with
// libjpeg's fancy upsampling and integer conversion, grayscale
// replicated, CMYK with Pillow's cmyk2rgb; an RGB image is kept.
func jpegToRGBA(m image.Image) (*image.RGBA, error) {
	switch m := m.(type) {
	case *image.YCbCr:
		return ycbcrToRGBA(m), nil
	case *image.Gray:
		return grayToRGBA(m), nil
	case *image.CMYK:
		return cmykToRGBA(m), nil
	case *image.RGBA:
		return toRGBA(m), nil
	}
	return nil, fmt.Errorf("unexpected decoded JPEG image %T", m)
}

// The colour end of libjpeg-turbo's decompressor (2.1, the library under
// Pillow and so under torchvision's image loader, which opens files with
// Image.open(p).convert("RGB")): libjpeg's default "fancy" chroma
// upsampling (jdsample.c: a triangle filter, 3/4 of the nearer sample and
// 1/4 of the farther in each subsampled direction, with its rounding
// biases and edge replication) and its integer YCbCr→RGB conversion
// (jdcolor.c: tables at 16 fractional bits, ONE_HALF rounding), applied
// to the component planes of a decoded *image.YCbCr. Go's image/jpeg
// instead replicates chroma samples and converts with its own rounding,
// up to tens of levels away from Pillow at sharp colour edges.

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
	pix        []uint8 // the plane
	stride     int
	cw, ch     int // downsampled_width and downsampled_height
	hf, vf     int // horizontal and vertical expansion factors
	fancyH     bool
	fancyV     bool
	colsum     []int32 // h2v2: 3·near + far, one per chroma column
	out        []uint8 // one full-size row (hf·cw samples)
	lastRow    int     // the output row in out, -1 before the first
	replicateH bool
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

// ycbcrToRGBA converts a decoded *image.YCbCr to RGBA at the origin as
// libjpeg-turbo's decompressor does after its IDCT (fancy upsampling,
// then ycc_rgb_convert).
func ycbcrToRGBA(m *image.YCbCr) *image.RGBA {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	if w <= 0 || h <= 0 {
		return out
	}
	hf, vf := 1, 1
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio422:
		hf = 2
	case image.YCbCrSubsampleRatio420:
		hf, vf = 2, 2
	case image.YCbCrSubsampleRatio440:
		vf = 2
	case image.YCbCrSubsampleRatio411:
		hf = 4
	case image.YCbCrSubsampleRatio410:
		hf, vf = 4, 2
	}
	cw, ch := (w+hf-1)/hf, (h+vf-1)/vf
	co := m.COffset(b.Min.X, b.Min.Y)
	ucb := newUpsampler(m.Cb[co:], m.CStride, cw, ch, hf, vf, w)
	ucr := newUpsampler(m.Cr[co:], m.CStride, cw, ch, hf, vf, w)
	yo := m.YOffset(b.Min.X, b.Min.Y)
	for y := range h {
		yrow := m.Y[yo+y*m.YStride : yo+y*m.YStride+w]
		yccRow(out.Pix[y*out.Stride:], yrow, ucb.row(y), ucr.row(y))
	}
	return out
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

// cmykToRGBA converts CMYK to RGB as Pillow's convert("RGB") of a "CMYK"
// image (Convert.c's cmyk2rgb: nk − c·nk/255 with Pillow's MULDIV255
// rounding, nk = 255 − k).
func cmykToRGBA(m *image.CMYK) *image.RGBA {
	b := m.Rect
	w, h := b.Dx(), b.Dy()
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	muldiv255 := func(a, b int32) int32 {
		t := a*b + 128
		return ((t >> 8) + t) >> 8
	}
	for y := range h {
		in := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w]
		o := out.Pix[y*out.Stride:][:4*w]
		for x := range w {
			nk := 255 - int32(in[4*x+3])
			o[4*x] = clampByte(nk - muldiv255(int32(in[4*x]), nk))
			o[4*x+1] = clampByte(nk - muldiv255(int32(in[4*x+1]), nk))
			o[4*x+2] = clampByte(nk - muldiv255(int32(in[4*x+2]), nk))
			o[4*x+3] = 255
		}
	}
	return out
}
