//go:build !purego && !goexperiment.simd

#include "textflag.h"

// The AVX-512F kernels: a 12-row tile of two ZMM vectors per row (12×32
// float32, 12×16 float64). Z0, Z1 hold a step of the B panel, Z2–Z7
// broadcast A values, Z8–Z31 the tile (row r in Z(8+2r), Z(9+2r)).
// Arguments: CX = kc, SI / BX / R14 = rows 0 / 4 / 8 of the A panel,
// R10 = ra (R12 = 3·ra), AX = sa, DI = b, R11 = sb, DX = c, R8 = ldc,
// R9 = alpha; strides in bytes. R14 is scratch in ABI0 (the ABI wrapper
// restores g).

#define ARGS512(SH) \
	MOVQ kc+0(FP), CX; \
	MOVQ a+8(FP), SI; \
	MOVQ ra+16(FP), R10; \
	MOVQ sa+24(FP), AX; \
	MOVQ b+32(FP), DI; \
	MOVQ sb+40(FP), R11; \
	MOVQ c+48(FP), DX; \
	MOVQ ldc+56(FP), R8; \
	MOVQ alpha+64(FP), R9; \
	SHLQ $SH, R8; \
	SHLQ $SH, R10; \
	SHLQ $SH, AX; \
	SHLQ $SH, R11; \
	LEAQ (R10)(R10*2), R12; \
	LEAQ (SI)(R10*4), BX; \
	LEAQ (BX)(R10*4), R14

#define ZERO512 \
	VPXORD Z8, Z8, Z8; VPXORD Z9, Z9, Z9; VPXORD Z10, Z10, Z10; VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; VPXORD Z13, Z13, Z13; VPXORD Z14, Z14, Z14; VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17; VPXORD Z18, Z18, Z18; VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; VPXORD Z21, Z21, Z21; VPXORD Z22, Z22, Z22; VPXORD Z23, Z23, Z23; \
	VPXORD Z24, Z24, Z24; VPXORD Z25, Z25, Z25; VPXORD Z26, Z26, Z26; VPXORD Z27, Z27, Z27; \
	VPXORD Z28, Z28, Z28; VPXORD Z29, Z29, Z29; VPXORD Z30, Z30, Z30; VPXORD Z31, Z31, Z31

// ROWS2Z updates two rows (C0–C3) with the A values at M0, M1, broadcast
// into B0, B1.
#define ROWS2Z(BC, FMA, M0, M1, B0, B1, C0, C1, C2, C3) \
	BC M0, B0; \
	BC M1, B1; \
	FMA Z0, B0, C0; \
	FMA Z1, B0, C1; \
	FMA Z0, B1, C2; \
	FMA Z1, B1, C3

// STEP512 is one step l of the loop: B, then the 12 rows.
#define STEP512(MOV, BC, FMA) \
	MOV 0(DI), Z0; \
	MOV 64(DI), Z1; \
	ADDQ R11, DI; \
	ROWS2Z(BC, FMA, (SI), (SI)(R10*1), Z2, Z3, Z8, Z9, Z10, Z11); \
	ROWS2Z(BC, FMA, (SI)(R10*2), (SI)(R12*1), Z4, Z5, Z12, Z13, Z14, Z15); \
	ROWS2Z(BC, FMA, (BX), (BX)(R10*1), Z6, Z7, Z16, Z17, Z18, Z19); \
	ROWS2Z(BC, FMA, (BX)(R10*2), (BX)(R12*1), Z2, Z3, Z20, Z21, Z22, Z23); \
	ROWS2Z(BC, FMA, (R14), (R14)(R10*1), Z4, Z5, Z24, Z25, Z26, Z27); \
	ROWS2Z(BC, FMA, (R14)(R10*2), (R14)(R12*1), Z6, Z7, Z28, Z29, Z30, Z31); \
	ADDQ AX, SI; \
	ADDQ AX, BX; \
	ADDQ AX, R14

#define SCALE512(BC, MUL) \
	BC (R9), Z0; \
	MUL Z0, Z8, Z8; MUL Z0, Z9, Z9; MUL Z0, Z10, Z10; MUL Z0, Z11, Z11; \
	MUL Z0, Z12, Z12; MUL Z0, Z13, Z13; MUL Z0, Z14, Z14; MUL Z0, Z15, Z15; \
	MUL Z0, Z16, Z16; MUL Z0, Z17, Z17; MUL Z0, Z18, Z18; MUL Z0, Z19, Z19; \
	MUL Z0, Z20, Z20; MUL Z0, Z21, Z21; MUL Z0, Z22, Z22; MUL Z0, Z23, Z23; \
	MUL Z0, Z24, Z24; MUL Z0, Z25, Z25; MUL Z0, Z26, Z26; MUL Z0, Z27, Z27; \
	MUL Z0, Z28, Z28; MUL Z0, Z29, Z29; MUL Z0, Z30, Z30; MUL Z0, Z31, Z31

#define STORE512(MOV) \
	MOV Z8, 0(DX); MOV Z9, 64(DX); ADDQ R8, DX; \
	MOV Z10, 0(DX); MOV Z11, 64(DX); ADDQ R8, DX; \
	MOV Z12, 0(DX); MOV Z13, 64(DX); ADDQ R8, DX; \
	MOV Z14, 0(DX); MOV Z15, 64(DX); ADDQ R8, DX; \
	MOV Z16, 0(DX); MOV Z17, 64(DX); ADDQ R8, DX; \
	MOV Z18, 0(DX); MOV Z19, 64(DX); ADDQ R8, DX; \
	MOV Z20, 0(DX); MOV Z21, 64(DX); ADDQ R8, DX; \
	MOV Z22, 0(DX); MOV Z23, 64(DX); ADDQ R8, DX; \
	MOV Z24, 0(DX); MOV Z25, 64(DX); ADDQ R8, DX; \
	MOV Z26, 0(DX); MOV Z27, 64(DX); ADDQ R8, DX; \
	MOV Z28, 0(DX); MOV Z29, 64(DX); ADDQ R8, DX; \
	MOV Z30, 0(DX); MOV Z31, 64(DX); \
	VZEROUPPER

// ACC512 adds the 12 rows of C to the tile (C + tile, as update's
// modeAdd rounds it) and points DX back at row 0.
#define ACC512(ADD) \
	ADD 0(DX), Z8, Z8; ADD 64(DX), Z9, Z9; ADDQ R8, DX; \
	ADD 0(DX), Z10, Z10; ADD 64(DX), Z11, Z11; ADDQ R8, DX; \
	ADD 0(DX), Z12, Z12; ADD 64(DX), Z13, Z13; ADDQ R8, DX; \
	ADD 0(DX), Z14, Z14; ADD 64(DX), Z15, Z15; ADDQ R8, DX; \
	ADD 0(DX), Z16, Z16; ADD 64(DX), Z17, Z17; ADDQ R8, DX; \
	ADD 0(DX), Z18, Z18; ADD 64(DX), Z19, Z19; ADDQ R8, DX; \
	ADD 0(DX), Z20, Z20; ADD 64(DX), Z21, Z21; ADDQ R8, DX; \
	ADD 0(DX), Z22, Z22; ADD 64(DX), Z23, Z23; ADDQ R8, DX; \
	ADD 0(DX), Z24, Z24; ADD 64(DX), Z25, Z25; ADDQ R8, DX; \
	ADD 0(DX), Z26, Z26; ADD 64(DX), Z27, Z27; ADDQ R8, DX; \
	ADD 0(DX), Z28, Z28; ADD 64(DX), Z29, Z29; ADDQ R8, DX; \
	ADD 0(DX), Z30, Z30; ADD 64(DX), Z31, Z31; \
	MOVQ c+48(FP), DX

// func kernD12x16(kc int, a *float64, ra, sa int, b *float64, sb int, c *float64, ldc int, alpha *float64)
TEXT ·kernD12x16(SB), NOSPLIT, $0-72
	ARGS512(3)
	ZERO512
	TESTQ CX, CX
	JLE   kernd12x16store

kernd12x16loop:
	STEP512(VMOVUPD, VBROADCASTSD, VFMADD231PD)
	DECQ CX
	JNZ  kernd12x16loop

kernd12x16store:
	TESTQ R9, R9
	JZ    kernd12x16noscale
	SCALE512(VBROADCASTSD, VMULPD)

kernd12x16noscale:
	STORE512(VMOVUPD)
	RET

// func kernS12x32(kc int, a *float32, ra, sa int, b *float32, sb int, c *float32, ldc int, alpha *float32)
TEXT ·kernS12x32(SB), NOSPLIT, $0-72
	ARGS512(2)
	ZERO512
	TESTQ CX, CX
	JLE   kerns12x32store

kerns12x32loop:
	STEP512(VMOVUPS, VBROADCASTSS, VFMADD231PS)
	DECQ CX
	JNZ  kerns12x32loop

kerns12x32store:
	TESTQ R9, R9
	JZ    kerns12x32noscale
	SCALE512(VBROADCASTSS, VMULPS)

kerns12x32noscale:
	STORE512(VMOVUPS)
	RET

// func kernD12x16Add(kc int, a *float64, ra, sa int, b *float64, sb int, c *float64, ldc int, alpha *float64)
//
// kernD12x16 that adds its tile (times *alpha) to C instead of storing it.
TEXT ·kernD12x16Add(SB), NOSPLIT, $0-72
	ARGS512(3)
	ZERO512
	TESTQ CX, CX
	JLE   kernd12x16addstore

kernd12x16addloop:
	STEP512(VMOVUPD, VBROADCASTSD, VFMADD231PD)
	DECQ CX
	JNZ  kernd12x16addloop

kernd12x16addstore:
	TESTQ R9, R9
	JZ    kernd12x16addnoscale
	SCALE512(VBROADCASTSD, VMULPD)

kernd12x16addnoscale:
	ACC512(VADDPD)
	STORE512(VMOVUPD)
	RET

// func kernS12x32Add(kc int, a *float32, ra, sa int, b *float32, sb int, c *float32, ldc int, alpha *float32)
//
// kernS12x32 that adds its tile (times *alpha) to C instead of storing it.
TEXT ·kernS12x32Add(SB), NOSPLIT, $0-72
	ARGS512(2)
	ZERO512
	TESTQ CX, CX
	JLE   kerns12x32addstore

kerns12x32addloop:
	STEP512(VMOVUPS, VBROADCASTSS, VFMADD231PS)
	DECQ CX
	JNZ  kerns12x32addloop

kerns12x32addstore:
	TESTQ R9, R9
	JZ    kerns12x32addnoscale
	SCALE512(VBROADCASTSS, VMULPS)

kerns12x32addnoscale:
	ACC512(VADDPS)
	STORE512(VMOVUPS)
	RET

// FMALOOP is 24 independent fused multiply-adds on the registers R0–R23
// (the peak benchmark's body).
#define FMALOOP(FMA, S, R0, R1, R2, R3, R4, R5, R6, R7, R8_, R9_, R10_, R11_) \
	FMA S, S, R0; FMA S, S, R1; FMA S, S, R2; FMA S, S, R3; \
	FMA S, S, R4; FMA S, S, R5; FMA S, S, R6; FMA S, S, R7; \
	FMA S, S, R8_; FMA S, S, R9_; FMA S, S, R10_; FMA S, S, R11_

// func peakZ(n int)
//
// n rounds of 24 independent VFMADD231PS on ZMM registers (16 float32
// lanes each): the machine's AVX-512 FMA peak, from registers only.
TEXT ·peakZ(SB), NOSPLIT, $0-8
	MOVQ n+0(FP), CX
	VPXORD Z0, Z0, Z0
	TESTQ CX, CX
	JLE  peakzdone

peakzloop:
	FMALOOP(VFMADD231PS, Z0, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19)
	FMALOOP(VFMADD231PS, Z0, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, Z28, Z29, Z30, Z31)
	DECQ CX
	JNZ  peakzloop

peakzdone:
	VZEROUPPER
	RET

// func peakY(n int)
//
// n rounds of 12 independent VFMADD231PS on YMM registers (8 float32
// lanes each): the AVX2 FMA peak.
TEXT ·peakY(SB), NOSPLIT, $0-8
	MOVQ n+0(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ CX, CX
	JLE  peakydone

peakyloop:
	FMALOOP(VFMADD231PS, Y0, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14, Y15)
	DECQ CX
	JNZ  peakyloop

peakydone:
	VZEROUPPER
	RET
