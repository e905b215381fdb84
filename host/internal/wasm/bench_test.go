package wasm

import (
	"context"
	"encoding/json"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// cpuTime is the process's user+system CPU time. Benchmarks report it per
// op ("cpu-ns/op") because the development machine is shared: wall-clock
// ns/op includes time other processes held the cores, CPU time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBoxedVerify measures one verdict of the Go guest boxed verifier
// on a 300-byte response, deadline enforcement on, across GOMAXPROCS
// goroutines and a pool of GOMAXPROCS instances, as the registry sizes it
// (run with -cpu 1,2). The pool is filled before the timer starts, so the
// numbers are steady-state calls. Sub-benchmarks compare the deadline
// mechanisms (DeadlineMode).
func BenchmarkBoxedVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		mode DeadlineMode
	}{{"meter", DeadlineMeter}, {"closeoncontextdone", DeadlineCloseOnContextDone}} {
		b.Run(bc.name, func(b *testing.B) {
			p := loadBoxed(b, Config{PoolSize: runtime.GOMAXPROCS(0), Deadline: bc.mode})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			warm := &abi.VerifyRequest{Task: abi.Task{Answer: json.RawMessage(`"1"`)}, Response: `\boxed{1}`}
			for range 2 * runtime.GOMAXPROCS(0) { // the pool hands out its slots in turn
				if _, err := p.Verify(ctx, warm); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				req := &abi.VerifyRequest{Task: abi.Task{ID: "t", Prompt: "Add the numbers.", Answer: json.RawMessage(`"1234"`)}, Response: response300}
				for pb.Next() {
					v, err := p.Verify(ctx, req)
					if err != nil || v.Score != 1 {
						b.Fatal(v, err)
					}
				}
			})
			b.ReportMetric(float64(cpuTime()-c0)/float64(b.N), "cpu-ns/op")
		})
	}
}
