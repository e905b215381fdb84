#include "textflag.h"

// func gemvTAVX2(x, a []float32, lda int, y []float32)
// y[c] = sum_r x[r] * a[r*lda + c]: columns in blocks of 32, 8, then 1,
// accumulated in registers over the rows in order.
TEXT ·gemvTAVX2(SB), NOSPLIT, $0-80
	MOVQ x_base+0(FP), SI
	MOVQ x_len+8(FP), R8
	MOVQ a_base+24(FP), DX
	MOVQ lda+48(FP), R9
	SHLQ $2, R9
	MOVQ y_base+56(FP), DI
	MOVQ y_len+64(FP), CX

block32:
	CMPQ   CX, $32
	JL     block8
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   DX, BX
	MOVQ   SI, R10
	MOVQ   R8, R11

rows32:
	VBROADCASTSS (R10), Y4
	VFMADD231PS  (BX), Y4, Y0
	VFMADD231PS  32(BX), Y4, Y1
	VFMADD231PS  64(BX), Y4, Y2
	VFMADD231PS  96(BX), Y4, Y3
	ADDQ         R9, BX
	ADDQ         $4, R10
	DECQ         R11
	JNZ          rows32
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	ADDQ         $128, DI
	ADDQ         $128, DX
	SUBQ         $32, CX
	JMP          block32

block8:
	CMPQ   CX, $8
	JL     block1
	VXORPS Y0, Y0, Y0
	MOVQ   DX, BX
	MOVQ   SI, R10
	MOVQ   R8, R11

rows8:
	VBROADCASTSS (R10), Y4
	VFMADD231PS  (BX), Y4, Y0
	ADDQ         R9, BX
	ADDQ         $4, R10
	DECQ         R11
	JNZ          rows8
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, DX
	SUBQ         $8, CX
	JMP          block8

block1:
	CMPQ   CX, $0
	JE     done
	VXORPS X0, X0, X0
	MOVQ   DX, BX
	MOVQ   SI, R10
	MOVQ   R8, R11

rows1:
	VMOVSS      (R10), X4
	VFMADD231SS (BX), X4, X0
	ADDQ        R9, BX
	ADDQ        $4, R10
	DECQ        R11
	JNZ         rows1
	VMOVSS      X0, (DI)
	ADDQ        $4, DI
	ADDQ        $4, DX
	DECQ        CX
	JMP         block1

done:
	VZEROUPPER
	RET
