package wasm

import "github.com/tetratelabs/wazero/experimental"

// Linear memory that never moves.
//
// wazero's default linear memory is a Go slice grown by append: every
// memory.grow past the slice's capacity allocates a larger slice and
// copies the whole memory into it. A guest growing 1 MiB at a time to a
// 128 MiB cap made the host allocate about 4x the cap in garbage and spend
// the call's deadline in copies between two deadline checkpoints; at the
// 4 GiB grant one call ran for minutes and the host reached 16 GB.
//
// Instead each instance reserves address space for its memory cap once
// (mmapMemory, on Linux) and memory.grow only lengthens the slice: no copy,
// no garbage, and pages are backed by physical memory only when the guest
// writes them, so the host's memory for one instance is at most its cap.
// The reservation is returned to the kernel when the instance closes.
// Where no reservation can be made (another OS, or a kernel that refuses
// the mapping) an instance falls back to sliceMemory, wazero's behaviour.

// sliceMemory is a linear memory in a Go slice, grown by copying.
type sliceMemory struct {
	buf []byte
	max uint64
}

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > m.max {
		return nil
	}
	if size <= uint64(cap(m.buf)) {
		m.buf = m.buf[:size]
	} else {
		m.buf = append(m.buf, make([]byte, size-uint64(len(m.buf)))...)
	}
	return m.buf
}

func (m *sliceMemory) Free() { m.buf = nil }

// allocator is the experimental.MemoryAllocator instances are made with.
var allocator experimental.MemoryAllocator = experimental.MemoryAllocatorFunc(func(capacity, max uint64) experimental.LinearMemory {
	if m := reserve(max); m != nil {
		return m
	}
	return &sliceMemory{buf: make([]byte, 0, capacity), max: max}
})

var _ experimental.LinearMemory = (*sliceMemory)(nil)
