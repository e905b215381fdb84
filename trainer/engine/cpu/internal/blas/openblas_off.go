//go:build !cgo || noopenblas

package blas

import "errors"

// OpenBLAS is unavailable in this build (cgo off or the noopenblas tag).
func OpenBLAS() (Gemm, error) {
	return nil, errors.New("openblas: not compiled in (built with CGO_ENABLED=0 or -tags noopenblas)")
}
