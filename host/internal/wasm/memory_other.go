//go:build !linux

package wasm

import "github.com/tetratelabs/wazero/experimental"

// reserve is Linux-only (memory_linux.go); elsewhere instances use
// sliceMemory.
func reserve(uint64) experimental.LinearMemory { return nil }
