package wasm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// BenchmarkHostileLimits measures how far a hostile guest gets past its
// limits: each op loads the module fresh and makes one call, and the
// benchmark reports how long the call ran past its deadline
// ("overshoot-ms") and the growth of the process's peak resident memory
// during the call as a multiple of the memory cap ("peak-rss/cap"), at the
// default limits and at the largest grant. Run one case per process so the
// peak is its own:
//
//	go test ./host/internal/wasm -run '^$' -bench 'BenchmarkHostileLimits/growloop/default' -benchtime 3x
//
// (docs/plugin-host.md quotes the numbers).
func BenchmarkHostileLimits(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("peak RSS is read from /proc/self (linux)")
	}
	grants := []struct {
		name    string
		mib     int
		timeout time.Duration
	}{{"default", DefaultMemoryMiB, DefaultTimeout}, {"max", MaxMemoryMiB, 3 * time.Second}}
	for _, mod := range []string{"growloop", "growtouch", "recurse", "fanout"} {
		for _, g := range grants {
			b.Run(mod+"/"+g.name, func(b *testing.B) {
				var over, peak time.Duration
				var rss float64
				for range b.N {
					p, err := Load(context.Background(), Config{Name: mod, Path: hostileDir + mod + ".wasm", MemoryMiB: g.mib, Timeout: g.timeout})
					if err != nil {
						b.Fatal(err)
					}
					runtime.GC()
					base, ok := resetPeakRSS(b)
					if !ok {
						b.Skip("cannot reset the peak RSS (/proc/self/clear_refs)")
					}
					start := time.Now()
					_, err = p.Verify(context.Background(), okReq)
					d := time.Since(start)
					var we *Error
					if !errors.As(err, &we) {
						b.Fatalf("want a typed failure, got %v", err)
					}
					rss = max(rss, float64(peakRSS(b)-base))
					over = max(over, d-g.timeout)
					peak = max(peak, d)
					_ = p.Close(context.Background())
				}
				b.ReportMetric(float64(over)/1e6, "overshoot-ms")
				b.ReportMetric(float64(peak)/1e6, "call-ms")
				b.ReportMetric(rss/float64(g.mib<<20), "peak-rss/cap")
				b.ReportMetric(rss/(1<<20), "peak-rss-MiB")
			})
		}
	}
}

// resetPeakRSS resets the kernel's peak-RSS mark (VmHWM) to the current
// RSS and returns it in bytes; ok is false where the kernel does not let
// it (then there is no peak to measure).
func resetPeakRSS(b testing.TB) (rss int64, ok bool) {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return 0, false
	}
	return procStatus(b, "VmRSS:"), true
}

func peakRSS(b testing.TB) int64 { return procStatus(b, "VmHWM:") }

func procStatus(b testing.TB, field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field)); ok {
			f := bytes.Fields(rest)
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatalf("no %s in /proc/self/status", field)
	return 0
}
