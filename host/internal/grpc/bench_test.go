package grpchost

import (
	"context"
	"strings"
	"testing"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// BenchmarkGoPluginVerify measures the Go gRPC example verifier through the
// host (supervisor, deadline, contract checks, AutoMTLS on a unix socket)
// with a 300-byte response, at 1 and at 16*GOMAXPROCS concurrent callers.
// It reports calls/s; see docs/bench/grpc.md.
func BenchmarkGoPluginVerify(b *testing.B) {
	p := mustLoad(b, Config{Name: "exact", Kind: abi.KindVerifier, Command: []string{bins.example},
		SHA256: bins.exampleSum, Logger: discardLogger()})
	response := strings.Repeat("x", 290) + " \\boxed{4}"
	req := ask(response[:300], "4")
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			if _, err := p.Verify(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := p.Verify(context.Background(), req); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	})
}
