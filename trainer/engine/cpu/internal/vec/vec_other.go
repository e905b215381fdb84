//go:build !amd64

package vec

var useAsm = false

func axpyAVX2(alpha float32, x, y []float32) { axpyGo(alpha, x, y) }
