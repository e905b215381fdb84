package vec

import "golang.org/x/sys/cpu"

var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// axpyAVX2 is Axpy with AVX2 and FMA (vec_amd64.s); len(y) >= len(x) > 0.
//
//go:noescape
func axpyAVX2(alpha float32, x, y []float32)
