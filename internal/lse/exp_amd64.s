//go:build !purego

#include "textflag.h"

// The constants of expCore (exp.go), each repeated in the four lanes of a
// YMM register: bit patterns of the same float64 values, so that the
// vector loop gives the bits of the scalar one.
DATA expc<>+0(SB)/8, $0x40571547652b82fe // invln2n
DATA expc<>+8(SB)/8, $0x40571547652b82fe // invln2n
DATA expc<>+16(SB)/8, $0x40571547652b82fe // invln2n
DATA expc<>+24(SB)/8, $0x40571547652b82fe // invln2n
DATA expc<>+32(SB)/8, $0x4338000000000000 // shift
DATA expc<>+40(SB)/8, $0x4338000000000000 // shift
DATA expc<>+48(SB)/8, $0x4338000000000000 // shift
DATA expc<>+56(SB)/8, $0x4338000000000000 // shift
DATA expc<>+64(SB)/8, $0x3f862e42f0000000 // ln2hi
DATA expc<>+72(SB)/8, $0x3f862e42f0000000 // ln2hi
DATA expc<>+80(SB)/8, $0x3f862e42f0000000 // ln2hi
DATA expc<>+88(SB)/8, $0x3f862e42f0000000 // ln2hi
DATA expc<>+96(SB)/8, $0x3dfdf473de6af279 // ln2lo
DATA expc<>+104(SB)/8, $0x3dfdf473de6af279 // ln2lo
DATA expc<>+112(SB)/8, $0x3dfdf473de6af279 // ln2lo
DATA expc<>+120(SB)/8, $0x3dfdf473de6af279 // ln2lo
DATA expc<>+128(SB)/8, $0x3f81111111111111 // c5
DATA expc<>+136(SB)/8, $0x3f81111111111111 // c5
DATA expc<>+144(SB)/8, $0x3f81111111111111 // c5
DATA expc<>+152(SB)/8, $0x3f81111111111111 // c5
DATA expc<>+160(SB)/8, $0x3fa5555555555555 // c4
DATA expc<>+168(SB)/8, $0x3fa5555555555555 // c4
DATA expc<>+176(SB)/8, $0x3fa5555555555555 // c4
DATA expc<>+184(SB)/8, $0x3fa5555555555555 // c4
DATA expc<>+192(SB)/8, $0x3fc5555555555555 // c3
DATA expc<>+200(SB)/8, $0x3fc5555555555555 // c3
DATA expc<>+208(SB)/8, $0x3fc5555555555555 // c3
DATA expc<>+216(SB)/8, $0x3fc5555555555555 // c3
DATA expc<>+224(SB)/8, $0x3fe0000000000000 // half
DATA expc<>+232(SB)/8, $0x3fe0000000000000 // half
DATA expc<>+240(SB)/8, $0x3fe0000000000000 // half
DATA expc<>+248(SB)/8, $0x3fe0000000000000 // half
DATA expc<>+256(SB)/8, $0xc086180000000000 // lo
DATA expc<>+264(SB)/8, $0xc086180000000000 // lo
DATA expc<>+272(SB)/8, $0xc086180000000000 // lo
DATA expc<>+280(SB)/8, $0xc086180000000000 // lo
DATA expc<>+288(SB)/8, $0x4086280000000000 // hi
DATA expc<>+296(SB)/8, $0x4086280000000000 // hi
DATA expc<>+304(SB)/8, $0x4086280000000000 // hi
DATA expc<>+312(SB)/8, $0x4086280000000000 // hi
DATA expc<>+320(SB)/8, $0x000000000000003f // mask63
DATA expc<>+328(SB)/8, $0x000000000000003f // mask63
DATA expc<>+336(SB)/8, $0x000000000000003f // mask63
DATA expc<>+344(SB)/8, $0x000000000000003f // mask63
DATA expc<>+352(SB)/8, $0x000000000000ffc0 // bias
DATA expc<>+360(SB)/8, $0x000000000000ffc0 // bias
DATA expc<>+368(SB)/8, $0x000000000000ffc0 // bias
DATA expc<>+376(SB)/8, $0x000000000000ffc0 // bias
GLOBL expc<>(SB), RODATA|NOPTR, $384

// func expsAVX2(x []float64) int
//
// Replaces x[i] by expCore(x[i]), four at a time, with the same
// operations in the same order (no fused multiply-adds). It stops before
// the first group of four that holds a value outside [−707, 709] (or a
// NaN), or when fewer than four values remain, and returns how many it
// replaced. Requires AVX2.
TEXT ·expsAVX2(SB), NOSPLIT, $0-32
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), CX
	LEAQ ·expTable(SB), DX
	XORQ BX, BX

loop:
	LEAQ 4(BX), AX
	CMPQ AX, CX
	JGT  done
	VMOVUPD (SI)(BX*8), Y0
	VCMPPD  $0x1d, expc<>+256(SB), Y0, Y1 // x >= -707 (ordered)
	VCMPPD  $0x12, expc<>+288(SB), Y0, Y2 // x <= 709 (ordered)
	VANDPD  Y1, Y2, Y1
	VMOVMSKPD Y1, AX
	CMPL    AX, $15
	JNE     done

	// t = x·invLn2N + shift; n = bits(t) − bits(shift); nf = t − shift
	VMULPD expc<>+0(SB), Y0, Y1
	VADDPD expc<>+32(SB), Y1, Y1
	VSUBPD expc<>+32(SB), Y1, Y2
	VPSUBQ expc<>+32(SB), Y1, Y3

	// r = (x − nf·ln2NHi) − nf·ln2NLo
	VMULPD expc<>+64(SB), Y2, Y4
	VSUBPD Y4, Y0, Y4
	VMULPD expc<>+96(SB), Y2, Y5
	VSUBPD Y5, Y4, Y4

	// p = r + r·r·(0.5 + r·(1/6 + r·(1/24 + r·(1/120))))
	VMULPD expc<>+128(SB), Y4, Y5
	VADDPD expc<>+160(SB), Y5, Y5
	VMULPD Y4, Y5, Y5
	VADDPD expc<>+192(SB), Y5, Y5
	VMULPD Y4, Y5, Y5
	VADDPD expc<>+224(SB), Y5, Y5
	VMULPD Y4, Y4, Y6
	VMULPD Y5, Y6, Y6
	VADDPD Y6, Y4, Y6

	// tj = expTable[n & 63]
	VPAND      expc<>+320(SB), Y3, Y7
	VPCMPEQQ   Y8, Y8, Y8
	VGATHERQPD Y8, (DX)(Y7*8), Y9

	// 2^(n>>6) = ((n + 1023·64) >> 6) << 52, n + 1023·64 being positive
	VPADDQ expc<>+352(SB), Y3, Y3
	VPSRLQ $6, Y3, Y3
	VPSLLQ $52, Y3, Y3

	// (tj + tj·p) · 2^k
	VMULPD  Y6, Y9, Y10
	VADDPD  Y10, Y9, Y10
	VMULPD  Y3, Y10, Y10
	VMOVUPD Y10, (SI)(BX*8)
	ADDQ    $4, BX
	JMP     loop

done:
	VZEROUPPER
	MOVQ BX, ret+24(FP)
	RET

// func expsAVX512(x []float64) int
//
// expsAVX2 with eight values at a time (the same operations, the same
// bits): it stops before the first group of eight that holds a value
// outside [−707, 709] (or a NaN), or when fewer than eight remain, and
// returns how many it replaced. Requires AVX-512F.
TEXT ·expsAVX512(SB), NOSPLIT, $0-32
	MOVQ         x_base+0(FP), SI
	MOVQ         x_len+8(FP), CX
	LEAQ         ·expTable(SB), DX
	XORQ         BX, BX
	VBROADCASTSD expc<>+0(SB), Z20   // invln2n
	VBROADCASTSD expc<>+32(SB), Z21  // shift
	VBROADCASTSD expc<>+64(SB), Z22  // ln2hi
	VBROADCASTSD expc<>+96(SB), Z23  // ln2lo
	VBROADCASTSD expc<>+128(SB), Z24 // c5
	VBROADCASTSD expc<>+160(SB), Z25 // c4
	VBROADCASTSD expc<>+192(SB), Z26 // c3
	VBROADCASTSD expc<>+224(SB), Z27 // half
	VBROADCASTSD expc<>+256(SB), Z28 // lo
	VBROADCASTSD expc<>+288(SB), Z29 // hi
	VPBROADCASTQ expc<>+320(SB), Z30 // mask63
	VPBROADCASTQ expc<>+352(SB), Z31 // bias

loop512:
	LEAQ   8(BX), AX
	CMPQ   AX, CX
	JGT    done512
	VMOVUPD (SI)(BX*8), Z0
	VCMPPD $0x1d, Z28, Z0, K1 // x >= -707 (ordered)
	VCMPPD $0x12, Z29, Z0, K2 // x <= 709 (ordered)
	KANDW  K2, K1, K1
	KMOVW  K1, AX
	CMPL   AX, $0xff
	JNE    done512

	VMULPD Z20, Z0, Z1
	VADDPD Z21, Z1, Z1
	VSUBPD Z21, Z1, Z2
	VPSUBQ Z21, Z1, Z3

	VMULPD Z22, Z2, Z4
	VSUBPD Z4, Z0, Z4
	VMULPD Z23, Z2, Z5
	VSUBPD Z5, Z4, Z4

	VMULPD Z24, Z4, Z5
	VADDPD Z25, Z5, Z5
	VMULPD Z4, Z5, Z5
	VADDPD Z26, Z5, Z5
	VMULPD Z4, Z5, Z5
	VADDPD Z27, Z5, Z5
	VMULPD Z4, Z4, Z6
	VMULPD Z5, Z6, Z6
	VADDPD Z6, Z4, Z6

	VPANDQ     Z30, Z3, Z7
	KXNORW     K2, K2, K2
	VGATHERQPD (DX)(Z7*8), K2, Z9

	VPADDQ Z31, Z3, Z3
	VPSRLQ $6, Z3, Z3
	VPSLLQ $52, Z3, Z3

	VMULPD  Z6, Z9, Z10
	VADDPD  Z10, Z9, Z10
	VMULPD  Z3, Z10, Z10
	VMOVUPD Z10, (SI)(BX*8)
	ADDQ    $8, BX
	JMP     loop512

done512:
	VZEROUPPER
	MOVQ BX, ret+24(FP)
	RET
