//go:build wasip1

package guest

import (
	"unsafe"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// buffers keeps the buffers handed out by rewind_alloc alive (the GC does
// not see the host's references) and lets entries find them by pointer
// without unsafe pointer arithmetic.
var buffers = map[uint32][]byte{}

//go:wasmexport rewind_abi_version
func rewindABIVersion() int32 { return abi.Version }

//go:wasmexport rewind_alloc
func rewindAlloc(size int32) uint32 {
	if size <= 0 {
		size = 1
	}
	b := make([]byte, size)
	p := uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
	buffers[p] = b
	return p
}

//go:wasmexport rewind_free
func rewindFree(ptr uint32, size int32) { delete(buffers, ptr) }

// call runs one entry on the request the host wrote into an allocated
// buffer and packs the response's address and length.
func call(entry string, ptr uint32, n int32) uint64 {
	b, ok := buffers[ptr]
	var resp []byte
	if !ok || n < 0 || int(n) > len(b) {
		out = out[:0]
		resp = append(out, `{"error":"request buffer was not allocated with rewind_alloc"}`...)
		out = resp
	} else {
		resp = Handle(entry, b[:n])
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(resp))))<<32 | uint64(len(resp))
}

//go:wasmexport rewind_verify
func rewindVerify(ptr uint32, n int32) uint64 { return call("verify", ptr, n) }

//go:wasmexport rewind_score
func rewindScore(ptr uint32, n int32) uint64 { return call("score", ptr, n) }

//go:wasmexport rewind_segment
func rewindSegment(ptr uint32, n int32) uint64 { return call("segment", ptr, n) }

//go:wasmexport rewind_localize
func rewindLocalize(ptr uint32, n int32) uint64 { return call("localize", ptr, n) }

//go:wasmexport rewind_init
func rewindInit(ptr uint32, n int32) uint64 { return call("init", ptr, n) }

//go:wasmexport rewind_manifest
func rewindManifest() uint64 {
	resp := Handle("manifest", nil)
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(resp))))<<32 | uint64(len(resp))
}
