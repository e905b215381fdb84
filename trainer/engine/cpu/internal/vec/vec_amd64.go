package vec

import "golang.org/x/sys/cpu"

var useAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// gemvTAVX2 is GemvT with AVX2 and FMA (vec_amd64.s); the caller has
// checked the lengths, and len(x), len(y) > 0.
//
//go:noescape
func gemvTAVX2(x, a []float32, lda int, y []float32)
