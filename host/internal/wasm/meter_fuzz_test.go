package wasm

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tetratelabs/wazero"
)

// FuzzMeter feeds the instrumentation arbitrary bytes, seeded with the
// test modules (the seed corpus runs in every `go test`). It must never
// panic or hang, and a module wazero accepts must still be accepted after
// instrumentation.
func FuzzMeter(f *testing.F) {
	files, err := filepath.Glob(hostileDir + "*.wasm")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfigInterpreter())
	defer rt.Close(ctx)
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := meter(bin)
		if err != nil {
			return
		}
		orig, err := rt.CompileModule(ctx, bin)
		if err != nil {
			return // invalid module: whatever meter made of it does not matter
		}
		_ = orig.Close(ctx)
		m, err := rt.CompileModule(ctx, out)
		if err != nil {
			t.Fatalf("wazero accepts the module but not its instrumented form: %v", err)
		}
		_ = m.Close(ctx)
	})
}
