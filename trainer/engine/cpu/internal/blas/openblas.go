//go:build cgo && !noopenblas

package blas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void (*sgemm_fn)(int order, int ta, int tb, int m, int n, int k,
	float alpha, const float *a, int lda, const float *b, int ldb,
	float beta, float *c, int ldc);
typedef void (*setthreads_fn)(int);

static sgemm_fn rw_sgemm;

static const char *rw_load(void) {
	const char *names[] = {"libopenblas.so.0", "libopenblas.so", "libopenblasp.so.0", "libopenblaso.so.0", 0};
	void *h = 0;
	for (int i = 0; names[i] && !h; i++) h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
	if (!h) return "libopenblas.so.0 not found";
	rw_sgemm = (sgemm_fn)dlsym(h, "cblas_sgemm");
	if (!rw_sgemm) return "cblas_sgemm missing from libopenblas";
	setthreads_fn st = (setthreads_fn)dlsym(h, "openblas_set_num_threads");
	if (!st) st = (setthreads_fn)dlsym(h, "goto_set_num_threads");
	if (!st) return "openblas_set_num_threads missing from libopenblas";
	st(1);
	return 0;
}

// CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112.
static void rw_call(int ta, int tb, int m, int n, int k, float alpha,
	const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
	rw_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"errors"
	"sync"
	"unsafe"
)

var (
	obOnce sync.Once
	obErr  error
)

// OpenBLAS returns the OpenBLAS implementation, loading libopenblas with
// dlopen on first use (the binary has no link-time dependency on it) and
// setting its thread count to 1.
func OpenBLAS() (Gemm, error) {
	obOnce.Do(func() {
		if msg := C.rw_load(); msg != nil {
			obErr = errors.New("openblas: " + C.GoString(msg))
		}
	})
	if obErr != nil {
		return nil, obErr
	}
	return openBLAS{}, nil
}

type openBLAS struct{}

func (openBLAS) Name() string { return "openblas" }

func b2i(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Sgemm implements Gemm. Slices are checked for the extent the call reads
// or writes, as gonum does, so a bad stride panics instead of corrupting
// memory.
func (openBLAS) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkExtent("a", a, ar, ac, lda)
	checkExtent("b", b, br, bc, ldb)
	checkExtent("c", c, m, n, ldc)
	if k == 0 {
		// Some BLAS builds read A/B even for k == 0; keep it safe.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				if beta == 0 {
					row[j] = 0
				} else {
					row[j] *= beta
				}
			}
		}
		return
	}
	C.rw_call(b2i(transA), b2i(transB), C.int(m), C.int(n), C.int(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(&a[0])), C.int(lda),
		(*C.float)(unsafe.Pointer(&b[0])), C.int(ldb), C.float(beta),
		(*C.float)(unsafe.Pointer(&c[0])), C.int(ldc))
}

func checkExtent(name string, x []float32, rows, cols, ld int) {
	if ld < cols || ld < 1 {
		panic("blas: bad leading dimension for " + name)
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic("blas: slice " + name + " too short")
	}
}

var _ Gemm = openBLAS{}
