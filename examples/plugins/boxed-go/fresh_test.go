package main

import (
	"testing"

	"github.com/rewind-rl/rewind/internal/testtool"
)

// builtWith is the toolchain that built the committed boxed.wasm. Go builds
// are reproducible for one toolchain version (with -trimpath and an empty
// build id), not across versions.
const builtWith = "go1.26.8"

// TestCommittedModuleIsUpToDate rebuilds boxed.wasm with the command in
// main.go and checks that the committed module is byte-identical, so the
// .wasm cannot drift from its source (this directory, sdk/guest,
// sdk/abi/wire, plugins/boxed/boxedmath).
func TestCommittedModuleIsUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Wasm module")
	}
	testtool.GoWasmUpToDate(t, "boxed.wasm", builtWith, "go generate ./examples/plugins/boxed-go", "-ldflags=-buildid=")
}
