package boxed

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// BenchmarkNativeVerify is the native baseline of
// host/internal/wasm.BenchmarkBoxedVerify: the same 300-byte response.
func BenchmarkNativeVerify(b *testing.B) {
	req := &abi.VerifyRequest{Task: abi.Task{ID: "t", Prompt: "Add the numbers.", Answer: json.RawMessage(`"1234"`)},
		Response: strings.Repeat("We add the numbers step by step. ", 8) + `So the total is $\boxed{1,234}$.`}
	b.ReportAllocs()
	c0 := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if v, _ := (Verifier{}).Verify(context.Background(), req); v.Score != 1 {
				b.Fatal(v)
			}
		}
	})
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
}

// cpuTime is the process's CPU time in ns (see the Wasm benchmark: on a
// shared machine CPU time per op is the comparable figure).
func cpuTime() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
