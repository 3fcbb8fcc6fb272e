// The inverse DCT below transcribes the arithmetic of libjpeg-turbo's
// jidctint.c (Copyright (C) 1991-1998, Thomas G. Lane; libjpeg-turbo
// modifications Copyright (C) 2015, 2020, D. R. Commander), under the
// Independent JPEG Group's license: this software is based in part on
// the work of the Independent JPEG Group.

package datasets

import "fmt"

// jpegBlock is an 8×8 block of DCT coefficients or samples (natural
// order), image/jpeg's block.
type jpegBlock [jpegBlockSize]int32

const jpegBlockSize = 8 * 8

// errJPEGTooLarge is a frame header declaring more pixels than allowed.
type errJPEGTooLarge struct {
	w, h  int
	limit int64
}

func (e errJPEGTooLarge) Error() string {
	return fmt.Sprintf("%d×%d is %d pixels, above the limit %d", e.w, e.h, int64(e.w)*int64(e.h), e.limit)
}

// libjpeg's jidctint.c constants: CONST_BITS 13, PASS1_BITS 2 and the
// FIX_ values at 13 fractional bits.
const (
	islowConstBits = 13
	islowPass1Bits = 2

	fix0_298631336 = 2446
	fix0_390180644 = 3196
	fix0_541196100 = 4433
	fix0_765366865 = 6270
	fix0_899976223 = 7373
	fix1_175875602 = 9633
	fix1_501321110 = 12299
	fix1_847759065 = 15137
	fix1_961570560 = 16069
	fix2_053119869 = 16819
	fix2_562915447 = 20995
	fix3_072711026 = 25172
)

// islowRange is libjpeg's IDCT_range_limit table indexed by a value
// masked with RANGE_MASK (1023): the level shift by +128 and the clamp to
// [0, 255] of the 10-bit two's-complement value (jdmaster.c's
// prepare_range_limit_table), so that out-of-range values wrap as in
// libjpeg.
var islowRange = func() (t [1024]uint8) {
	for i := range t {
		v := i
		if v >= 512 {
			v -= 1024
		}
		t[i] = uint8(min(max(v+128, 0), 255))
	}
	return t
}()

// descale is libjpeg's DESCALE: x/2^n rounded (arithmetic shift).
func descale(x int64, n uint) int64 { return (x + 1<<(n-1)) >> n }

// jpegIDCTIslow is libjpeg-turbo 2.1's jpeg_idct_islow (jidctint.c, the
// default JDCT_ISLOW method Pillow decodes with; libjpeg-turbo's SIMD
// versions give the same samples): the accurate integer inverse DCT of
// the dequantized coefficients in b (natural order), a column pass into a
// workspace keeping PASS1_BITS of extra precision, then a row pass whose
// results are level-shifted and range-limited into the 8×8 samples at
// dst with stride. b is used as the workspace.
func jpegIDCTIslow(b *jpegBlock, dst []byte, stride int) {
	// Pass 1: columns from b into the workspace (b itself: each column
	// reads only its own entries before writing them).
	for c := range 8 {
		if b[8+c] == 0 && b[16+c] == 0 && b[24+c] == 0 && b[32+c] == 0 &&
			b[40+c] == 0 && b[48+c] == 0 && b[56+c] == 0 {
			dc := b[c] << islowPass1Bits
			for r := range 8 {
				b[8*r+c] = dc
			}
			continue
		}
		z2, z3 := int64(b[16+c]), int64(b[48+c])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		z2, z3 = int64(b[c]), int64(b[32+c])
		tmp0 := (z2 + z3) << islowConstBits
		tmp1 := (z2 - z3) << islowConstBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = int64(b[56+c]), int64(b[40+c]), int64(b[24+c]), int64(b[8+c])
		z1, z2, z3 = tmp0+tmp3, tmp1+tmp2, tmp0+tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602
		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const s = islowConstBits - islowPass1Bits
		b[c] = int32(descale(tmp10+tmp3, s))
		b[56+c] = int32(descale(tmp10-tmp3, s))
		b[8+c] = int32(descale(tmp11+tmp2, s))
		b[48+c] = int32(descale(tmp11-tmp2, s))
		b[16+c] = int32(descale(tmp12+tmp1, s))
		b[40+c] = int32(descale(tmp12-tmp1, s))
		b[24+c] = int32(descale(tmp13+tmp0, s))
		b[32+c] = int32(descale(tmp13-tmp0, s))
	}
	// Pass 2: rows of the workspace into dst.
	rl := &islowRange
	for r := range 8 {
		w := b[8*r : 8*r+8 : 8*r+8]
		out := dst[r*stride : r*stride+8 : r*stride+8]
		if w[1] == 0 && w[2] == 0 && w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0 {
			v := rl[descale(int64(w[0]), islowPass1Bits+3)&1023]
			for x := range out {
				out[x] = v
			}
			continue
		}
		z2, z3 := int64(w[2]), int64(w[6])
		z1 := (z2 + z3) * fix0_541196100
		tmp2 := z1 + z3*-fix1_847759065
		tmp3 := z1 + z2*fix0_765366865
		tmp0 := (int64(w[0]) + int64(w[4])) << islowConstBits
		tmp1 := (int64(w[0]) - int64(w[4])) << islowConstBits
		tmp10, tmp13 := tmp0+tmp3, tmp0-tmp3
		tmp11, tmp12 := tmp1+tmp2, tmp1-tmp2

		tmp0, tmp1, tmp2, tmp3 = int64(w[7]), int64(w[5]), int64(w[3]), int64(w[1])
		z1, z2, z3 = tmp0+tmp3, tmp1+tmp2, tmp0+tmp2
		z4 := tmp1 + tmp3
		z5 := (z3 + z4) * fix1_175875602
		tmp0 *= fix0_298631336
		tmp1 *= fix2_053119869
		tmp2 *= fix3_072711026
		tmp3 *= fix1_501321110
		z1 *= -fix0_899976223
		z2 *= -fix2_562915447
		z3 *= -fix1_961570560
		z4 *= -fix0_390180644
		z3 += z5
		z4 += z5
		tmp0 += z1 + z3
		tmp1 += z2 + z4
		tmp2 += z2 + z3
		tmp3 += z1 + z4

		const s = islowConstBits + islowPass1Bits + 3
		out[0] = rl[descale(tmp10+tmp3, s)&1023]
		out[7] = rl[descale(tmp10-tmp3, s)&1023]
		out[1] = rl[descale(tmp11+tmp2, s)&1023]
		out[6] = rl[descale(tmp11-tmp2, s)&1023]
		out[2] = rl[descale(tmp12+tmp1, s)&1023]
		out[5] = rl[descale(tmp12-tmp1, s)&1023]
		out[3] = rl[descale(tmp13+tmp0, s)&1023]
		out[4] = rl[descale(tmp13-tmp0, s)&1023]
	}
}
