package plugins_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// BenchmarkBoxed grades a 300-byte response with each implementation of
// the boxed verifier through the host (deadline, pool, counters included),
// from GOMAXPROCS goroutines:
//
//	go test ./examples/plugins -run '^$' -bench Boxed -benchtime 2s
func BenchmarkBoxed(b *testing.B) {
	const tail = ` so the answer is \boxed{1,234}.`
	resp := strings.Repeat("x", 300-len(tail)) + tail
	req := &abi.VerifyRequest{Task: abi.Task{ID: "b", Answer: json.RawMessage(`"1234"`)}, Response: resp}
	for _, impl := range implementations {
		b.Run(impl.name, func(b *testing.B) {
			v := verifier(b, impl.name)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					got, err := v.Verify(context.Background(), req)
					if err != nil || got.Score != 1 {
						b.Fatalf("verdict %+v, error %v", got, err)
					}
				}
			})
		})
	}
}

// BenchmarkBoxedUnclosed grades the hostile response of the shared table
// (the answer, then 2,000 unclosed \boxed{, 14 KB) with each
// implementation, one call at a time:
//
//	go test ./examples/plugins -run '^$' -bench BoxedUnclosed -benchtime 100x
func BenchmarkBoxedUnclosed(b *testing.B) {
	req := &abi.VerifyRequest{Task: abi.Task{ID: "b", Answer: json.RawMessage(`"42"`)},
		Response: `\boxed{42} ` + strings.Repeat(`\boxed{`, 2000)}
	for _, impl := range implementations {
		b.Run(impl.name, func(b *testing.B) {
			v := verifier(b, impl.name)
			for b.Loop() {
				got, err := v.Verify(context.Background(), req)
				if err != nil || got.Score != 1 {
					b.Fatalf("verdict %+v, error %v", got, err)
				}
			}
		})
	}
}
