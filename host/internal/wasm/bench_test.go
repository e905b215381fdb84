package wasm

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// BenchmarkBoxedVerify measures one verdict of the Go guest boxed verifier
// on a 300-byte response, deadline enforcement on, across GOMAXPROCS
// goroutines (run with -cpu 1,2). Sub-benchmarks compare the per-instance
// timer with a context.WithTimeout per call.
func BenchmarkBoxedVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		ctxd bool
	}{{"timer", false}, {"context", true}} {
		b.Run(bc.name, func(b *testing.B) {
			p := loadBoxed(b, Config{PoolSize: 4, ContextDeadline: bc.ctxd})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := &abi.VerifyRequest{Task: abi.Task{ID: "t", Prompt: "Add the numbers.", Answer: json.RawMessage(`"1234"`)}, Response: response300}
				for pb.Next() {
					v, err := p.Verify(ctx, req)
					if err != nil || v.Score != 1 {
						b.Fatal(v, err)
					}
				}
			})
		})
	}
}
