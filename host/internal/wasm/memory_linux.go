package wasm

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// mmapMemory is a linear memory in an anonymous private mapping of its
// maximum size, made once: growing only lengthens the slice. The mapping
// is MAP_NORESERVE, so it costs address space, not memory, until the
// guest touches its pages.
type mmapMemory struct {
	mapped []byte // the whole reservation
}

// reserve maps max bytes, or returns nil when the kernel refuses.
func reserve(max uint64) experimental.LinearMemory {
	if max == 0 || max > 1<<32 {
		return nil
	}
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	return &mmapMemory{mapped: b}
}

func (m *mmapMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.mapped)) {
		return nil
	}
	return m.mapped[:size:size]
}

// Free unmaps the memory. wazero calls it once, when the instance is
// closed, after its last call has returned (an instance stopped
// asynchronously has its resources released by the next call, never
// during one).
func (m *mmapMemory) Free() {
	if m.mapped != nil {
		_ = syscall.Munmap(m.mapped)
		m.mapped = nil
	}
}

var _ experimental.LinearMemory = (*mmapMemory)(nil)
