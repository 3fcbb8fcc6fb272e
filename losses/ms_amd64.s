//go:build amd64 && !purego

#include "textflag.h"

DATA msc<>+0(SB)/8, $0xfff0000000000000 // -Inf
GLOBL msc<>(SB), RODATA|NOPTR, $8

// func msNegAVX2(s []float64, ref []int, li int, shift, bn float64, out []float64, pos []int) (mx float64, nNeg, nPos int)
//
// The negatives' pass of MultiSimilarity.row on the first len(s) &^ 3
// entries, four at a time: out[j] = bn·(s[j] − shift) where ref[j] != li,
// −Inf elsewhere, with the same rounding as the scalar loop; it returns
// the largest value written for a negative (−Inf if none) and how many
// negatives there were; the indices of the other entries (the positives
// and the query itself), ascending, go to pos, nPos of them. ref, out and
// pos must be as long as s. Requires AVX2.
TEXT ·msNegAVX2(SB), NOSPLIT, $0-144
	MOVQ         s_base+0(FP), SI
	MOVQ         s_len+8(FP), CX
	MOVQ         ref_base+24(FP), DI
	MOVQ         out_base+72(FP), DX
	MOVQ         pos_base+96(FP), R12
	VBROADCASTSD shift+56(FP), Y0
	VBROADCASTSD bn+64(FP), Y1
	VPBROADCASTQ li+48(FP), Y2
	VBROADCASTSD msc<>+0(SB), Y3
	VMOVAPD      Y3, Y4
	ANDQ         $-4, CX
	XORQ         R9, R9
	XORQ         AX, AX

loop:
	CMPQ      AX, CX
	JGE       done
	VMOVUPD   (SI)(AX*8), Y5
	VSUBPD    Y0, Y5, Y5         // t = s − shift
	VMULPD    Y1, Y5, Y5         // bn·t
	VPCMPEQQ  (DI)(AX*8), Y2, Y6 // same label: not a negative
	VBLENDVPD Y6, Y3, Y5, Y5
	VMOVUPD   Y5, (DX)(AX*8)
	VMAXPD    Y5, Y4, Y4
	VMOVMSKPD Y6, BX
	TESTL     BX, BX
	JZ        next

bits:
	BSFL BX, R10
	ADDQ AX, R10
	MOVQ R10, (R12)(R9*8)
	INCQ R9
	LEAL -1(BX), R10
	ANDL R10, BX
	JNZ  bits

next:
	ADDQ $4, AX
	JMP  loop

done:
	VEXTRACTF128 $1, Y4, X5
	VMAXPD       X5, X4, X4
	VPERMILPD    $1, X4, X5
	VMAXPD       X5, X4, X4
	MOVSD        X4, mx+120(FP)
	MOVQ         R9, nPos+136(FP)
	SUBQ         R9, CX
	MOVQ         CX, nNeg+128(FP)
	VZEROUPPER
	RET
