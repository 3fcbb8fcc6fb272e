//go:build !purego && !goexperiment.simd

#include "textflag.h"

// Both kernels share one register plan: Y0, Y1 hold a step of the B panel
// (two vectors), Y2, Y3 broadcast A values, Y4–Y15 the 6-row tile (two
// registers per row). Arguments: CX = kc, SI = a, R10 = ra (A's row
// stride; R12 = 3·ra, R13 = 5·ra), AX = sa (A's step), DI = b, R11 = sb,
// DX = c, R8 = ldc, R9 = alpha; strides in bytes. They require AVX2 and
// FMA.

// ARGS loads the arguments and turns the strides into bytes (SH is log2 of
// the element size).
#define ARGS(SH) \
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
	LEAQ (R10)(R10*4), R13

// ZERO clears the tile.
#define ZERO(XOR) \
	XOR Y4, Y4, Y4; XOR Y5, Y5, Y5; XOR Y6, Y6, Y6; XOR Y7, Y7, Y7; \
	XOR Y8, Y8, Y8; XOR Y9, Y9, Y9; XOR Y10, Y10, Y10; XOR Y11, Y11, Y11; \
	XOR Y12, Y12, Y12; XOR Y13, Y13, Y13; XOR Y14, Y14, Y14; XOR Y15, Y15, Y15

// LOADB loads a step of the B panel and advances DI by sb.
#define LOADB(MOV) \
	MOV 0(DI), Y0; \
	MOV 32(DI), Y1; \
	ADDQ R11, DI

// ROWS2 updates two rows of the tile (C0–C3) with the A values at M0, M1.
#define ROWS2(BC, FMA, M0, M1, C0, C1, C2, C3) \
	BC M0, Y2; \
	BC M1, Y3; \
	FMA Y0, Y2, C0; \
	FMA Y1, Y2, C1; \
	FMA Y0, Y3, C2; \
	FMA Y1, Y3, C3

// SCALE multiplies the tile by *alpha (R9).
#define SCALE(BC, MUL) \
	BC (R9), Y0; \
	MUL Y0, Y4, Y4; MUL Y0, Y5, Y5; MUL Y0, Y6, Y6; MUL Y0, Y7, Y7; \
	MUL Y0, Y8, Y8; MUL Y0, Y9, Y9; MUL Y0, Y10, Y10; MUL Y0, Y11, Y11; \
	MUL Y0, Y12, Y12; MUL Y0, Y13, Y13; MUL Y0, Y14, Y14; MUL Y0, Y15, Y15

// STORE writes the tile to the 6 rows of C and clears the upper halves of
// the vector registers for the SSE code that follows.
#define STORE(MOV) \
	MOV Y4, 0(DX); MOV Y5, 32(DX); ADDQ R8, DX; \
	MOV Y6, 0(DX); MOV Y7, 32(DX); ADDQ R8, DX; \
	MOV Y8, 0(DX); MOV Y9, 32(DX); ADDQ R8, DX; \
	MOV Y10, 0(DX); MOV Y11, 32(DX); ADDQ R8, DX; \
	MOV Y12, 0(DX); MOV Y13, 32(DX); ADDQ R8, DX; \
	MOV Y14, 0(DX); MOV Y15, 32(DX); \
	VZEROUPPER

// ACC adds the 6 rows of C to the tile (C + tile, as update's modeAdd
// rounds it) and points DX back at row 0.
#define ACC(ADD) \
	ADD 0(DX), Y4, Y4; ADD 32(DX), Y5, Y5; ADDQ R8, DX; \
	ADD 0(DX), Y6, Y6; ADD 32(DX), Y7, Y7; ADDQ R8, DX; \
	ADD 0(DX), Y8, Y8; ADD 32(DX), Y9, Y9; ADDQ R8, DX; \
	ADD 0(DX), Y10, Y10; ADD 32(DX), Y11, Y11; ADDQ R8, DX; \
	ADD 0(DX), Y12, Y12; ADD 32(DX), Y13, Y13; ADDQ R8, DX; \
	ADD 0(DX), Y14, Y14; ADD 32(DX), Y15, Y15; \
	MOVQ c+48(FP), DX

// func kernD6x8(kc int, a *float64, ra, sa int, b *float64, sb int, c *float64, ldc int, alpha *float64)
//
// The 6×8 float64 tile.
TEXT ·kernD6x8(SB), NOSPLIT, $0-72
	ARGS(3)
	ZERO(VXORPD)
	TESTQ CX, CX
	JLE   kernd6x8store

kernd6x8loop:
	LOADB(VMOVUPD)
	ROWS2(VBROADCASTSD, VFMADD231PD, (SI), (SI)(R10*1), Y4, Y5, Y6, Y7)
	ROWS2(VBROADCASTSD, VFMADD231PD, (SI)(R10*2), (SI)(R12*1), Y8, Y9, Y10, Y11)
	ROWS2(VBROADCASTSD, VFMADD231PD, (SI)(R10*4), (SI)(R13*1), Y12, Y13, Y14, Y15)
	ADDQ AX, SI
	DECQ CX
	JNZ  kernd6x8loop

kernd6x8store:
	TESTQ R9, R9
	JZ    kernd6x8noscale
	SCALE(VBROADCASTSD, VMULPD)

kernd6x8noscale:
	STORE(VMOVUPD)
	RET

// func kernS6x16(kc int, a *float32, ra, sa int, b *float32, sb int, c *float32, ldc int, alpha *float32)
//
// The 6×16 float32 tile.
TEXT ·kernS6x16(SB), NOSPLIT, $0-72
	ARGS(2)
	ZERO(VXORPS)
	TESTQ CX, CX
	JLE   kerns6x16store

kerns6x16loop:
	LOADB(VMOVUPS)
	ROWS2(VBROADCASTSS, VFMADD231PS, (SI), (SI)(R10*1), Y4, Y5, Y6, Y7)
	ROWS2(VBROADCASTSS, VFMADD231PS, (SI)(R10*2), (SI)(R12*1), Y8, Y9, Y10, Y11)
	ROWS2(VBROADCASTSS, VFMADD231PS, (SI)(R10*4), (SI)(R13*1), Y12, Y13, Y14, Y15)
	ADDQ AX, SI
	DECQ CX
	JNZ  kerns6x16loop

kerns6x16store:
	TESTQ R9, R9
	JZ    kerns6x16noscale
	SCALE(VBROADCASTSS, VMULPS)

kerns6x16noscale:
	STORE(VMOVUPS)
	RET

// func kernD6x8Add(kc int, a *float64, ra, sa int, b *float64, sb int, c *float64, ldc int, alpha *float64)
//
// kernD6x8 that adds its tile (times *alpha) to C instead of storing it.
TEXT ·kernD6x8Add(SB), NOSPLIT, $0-72
	ARGS(3)
	ZERO(VXORPD)
	TESTQ CX, CX
	JLE   kernd6x8addstore

kernd6x8addloop:
	LOADB(VMOVUPD)
	ROWS2(VBROADCASTSD, VFMADD231PD, (SI), (SI)(R10*1), Y4, Y5, Y6, Y7)
	ROWS2(VBROADCASTSD, VFMADD231PD, (SI)(R10*2), (SI)(R12*1), Y8, Y9, Y10, Y11)
	ROWS2(VBROADCASTSD, VFMADD231PD, (SI)(R10*4), (SI)(R13*1), Y12, Y13, Y14, Y15)
	ADDQ AX, SI
	DECQ CX
	JNZ  kernd6x8addloop

kernd6x8addstore:
	TESTQ R9, R9
	JZ    kernd6x8addnoscale
	SCALE(VBROADCASTSD, VMULPD)

kernd6x8addnoscale:
	ACC(VADDPD)
	STORE(VMOVUPD)
	RET

// func kernS6x16Add(kc int, a *float32, ra, sa int, b *float32, sb int, c *float32, ldc int, alpha *float32)
//
// kernS6x16 that adds its tile (times *alpha) to C instead of storing it.
TEXT ·kernS6x16Add(SB), NOSPLIT, $0-72
	ARGS(2)
	ZERO(VXORPS)
	TESTQ CX, CX
	JLE   kerns6x16addstore

kerns6x16addloop:
	LOADB(VMOVUPS)
	ROWS2(VBROADCASTSS, VFMADD231PS, (SI), (SI)(R10*1), Y4, Y5, Y6, Y7)
	ROWS2(VBROADCASTSS, VFMADD231PS, (SI)(R10*2), (SI)(R12*1), Y8, Y9, Y10, Y11)
	ROWS2(VBROADCASTSS, VFMADD231PS, (SI)(R10*4), (SI)(R13*1), Y12, Y13, Y14, Y15)
	ADDQ AX, SI
	DECQ CX
	JNZ  kerns6x16addloop

kerns6x16addstore:
	TESTQ R9, R9
	JZ    kerns6x16addnoscale
	SCALE(VBROADCASTSS, VMULPS)

kerns6x16addnoscale:
	ACC(VADDPS)
	STORE(VMOVUPS)
	RET
