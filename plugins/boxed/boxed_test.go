package boxed

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// BenchmarkNativeVerify is the native baseline of
// host/internal/wasm.BenchmarkBoxedVerify: the same 300-byte response.
func BenchmarkNativeVerify(b *testing.B) {
	req := &abi.VerifyRequest{Task: abi.Task{ID: "t", Prompt: "Add the numbers.", Answer: json.RawMessage(`"1234"`)},
		Response: strings.Repeat("We add the numbers step by step. ", 8) + `So the total is $\boxed{1,234}$.`}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v, _ := (Verifier{}).Verify(context.Background(), req); v.Score != 1 {
				b.Fatal(v)
			}
		}
	})
}
