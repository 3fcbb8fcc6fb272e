//go:build amd64 && !purego

#include "textflag.h"

DATA vecc<>+0(SB)/8, $0x3eb0c6f7a0b5ed8d  // guardRatio (1e-6)
DATA vecc<>+8(SB)/8, $0x7fefffffffffffff  // MaxFloat64
DATA vecc<>+16(SB)/8, $0xbff0000000000000 // -1
GLOBL vecc<>(SB), RODATA|NOPTR, $24

// func guardRowAVX2(row, nb []float64, na float64, root bool) (near int, bad bool)
//
// guardRow on the first len(row) &^ 3 entries, four at a time, with the
// same operations in the same order (no fused multiply-adds): near
// entries become −1 and are counted, the others their (rooted) squared
// distance; bad reports a non-finite one. nb must be as long as row.
// Requires AVX2 and POPCNT.
TEXT ·guardRowAVX2(SB), NOSPLIT, $0-73
	MOVQ         row_base+0(FP), SI
	MOVQ         row_len+8(FP), CX
	MOVQ         nb_base+24(FP), DI
	VBROADCASTSD na+48(FP), Y0
	MOVBLZX      root+56(FP), R8
	VBROADCASTSD vecc<>+0(SB), Y1
	VBROADCASTSD vecc<>+8(SB), Y7
	VBROADCASTSD vecc<>+16(SB), Y9
	VXORPD       Y6, Y6, Y6
	XORQ         R9, R9
	ANDQ         $-4, CX
	XORQ         AX, AX

gloop:
	CMPQ      AX, CX
	JGE       gdone
	VADDPD    (DI)(AX*8), Y0, Y2 // scale = na + nb[j]
	VADDPD    (SI)(AX*8), Y2, Y3 // s = scale + v
	VMULPD    Y1, Y2, Y4         // guardRatio·scale
	VCMPPD    $0x11, Y4, Y3, Y5  // near: s < guardRatio·scale (ordered)
	TESTQ     R8, R8
	JZ        gnoroot
	VSQRTPD   Y3, Y3

gnoroot:
	VCMPPD    $0x16, Y7, Y3, Y8  // !(s <= MaxFloat64)
	VANDNPD   Y8, Y5, Y8         // … on entries that are not near
	VORPD     Y8, Y6, Y6
	VBLENDVPD Y5, Y9, Y3, Y3     // near ? −1 : s
	VMOVUPD   Y3, (SI)(AX*8)
	VMOVMSKPD Y5, BX
	POPCNTL   BX, BX
	ADDQ      BX, R9
	ADDQ      $4, AX
	JMP       gloop

gdone:
	VMOVMSKPD Y6, BX
	TESTL     BX, BX
	SETNE     bad+72(FP)
	MOVQ      R9, near+64(FP)
	VZEROUPPER
	RET

// func diffAdd2AVX2(gi, gj, qi, rj []float64, w float64)
//
// For the first len(qi) &^ 3 entries: t = w·(qi − rj), gi += t, then
// gj −= t, four at a time, each group of gi stored before gj is read (gi
// and gj may be the same row, as the scalar loop allows). All slices must
// be as long as qi.
TEXT ·diffAdd2AVX2(SB), NOSPLIT, $0-104
	MOVQ         gi_base+0(FP), R8
	MOVQ         gj_base+24(FP), R9
	MOVQ         qi_base+48(FP), R10
	MOVQ         qi_len+56(FP), CX
	MOVQ         rj_base+72(FP), R11
	VBROADCASTSD w+96(FP), Y0
	ANDQ         $-4, CX
	XORQ         AX, AX

dloop:
	CMPQ    AX, CX
	JGE     ddone
	VMOVUPD (R10)(AX*8), Y1
	VSUBPD  (R11)(AX*8), Y1, Y1
	VMULPD  Y0, Y1, Y1
	VADDPD  (R8)(AX*8), Y1, Y2
	VMOVUPD Y2, (R8)(AX*8)
	VMOVUPD (R9)(AX*8), Y3
	VSUBPD  Y1, Y3, Y3
	VMOVUPD Y3, (R9)(AX*8)
	ADDQ    $4, AX
	JMP     dloop

ddone:
	VZEROUPPER
	RET

// func diffAddAVX2(g, qi, rj []float64, w float64)
//
// g += w·(qi − rj) on the first len(qi) &^ 3 entries.
TEXT ·diffAddAVX2(SB), NOSPLIT, $0-80
	MOVQ         g_base+0(FP), R8
	MOVQ         qi_base+24(FP), R10
	MOVQ         qi_len+32(FP), CX
	MOVQ         rj_base+48(FP), R11
	VBROADCASTSD w+72(FP), Y0
	ANDQ         $-4, CX
	XORQ         AX, AX

aloop:
	CMPQ    AX, CX
	JGE     adone
	VMOVUPD (R10)(AX*8), Y1
	VSUBPD  (R11)(AX*8), Y1, Y1
	VMULPD  Y0, Y1, Y1
	VADDPD  (R8)(AX*8), Y1, Y2
	VMOVUPD Y2, (R8)(AX*8)
	ADDQ    $4, AX
	JMP     aloop

adone:
	VZEROUPPER
	RET

// func diffSubAVX2(g, qi, rj []float64, w float64)
//
// g −= w·(qi − rj) on the first len(qi) &^ 3 entries.
TEXT ·diffSubAVX2(SB), NOSPLIT, $0-80
	MOVQ         g_base+0(FP), R8
	MOVQ         qi_base+24(FP), R10
	MOVQ         qi_len+32(FP), CX
	MOVQ         rj_base+48(FP), R11
	VBROADCASTSD w+72(FP), Y0
	ANDQ         $-4, CX
	XORQ         AX, AX

sloop:
	CMPQ    AX, CX
	JGE     sdone
	VMOVUPD (R10)(AX*8), Y1
	VSUBPD  (R11)(AX*8), Y1, Y1
	VMULPD  Y0, Y1, Y1
	VMOVUPD (R8)(AX*8), Y2
	VSUBPD  Y1, Y2, Y2
	VMOVUPD Y2, (R8)(AX*8)
	ADDQ    $4, AX
	JMP     sloop

sdone:
	VZEROUPPER
	RET
