//go:build !amd64

package vec

var useAsm = false

func gemvTAVX2(x, a []float32, lda int, y []float32) { gemvTGo(x, a, lda, y) }
