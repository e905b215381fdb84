package plugintest

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// BenchResult is what Bench measured. Throughput and latencies are of the
// calls that returned a verdict; failed calls are counted by status apart,
// so a verifier that fails fast cannot look fast.
type BenchResult struct {
	Concurrency int `json:"concurrency"`
	GOMAXPROCS  int `json:"gomaxprocs"`
	// Seconds is how long the measured calls ran.
	Seconds float64 `json:"seconds"`
	// Calls counts every measured call; OK those that returned a verdict
	// (of any verdict status); Failures the others by their host status
	// (timeout, crash, trap, oversized, malformed, error).
	Calls    int                `json:"calls"`
	OK       int                `json:"ok"`
	Failures map[abi.Status]int `json:"failures"`
	// OKPerSecond is the throughput: verdicts returned per second.
	OKPerSecond float64 `json:"ok_per_second"`
	// Latencies of the successful calls, nearest-rank quantiles.
	P50 time.Duration `json:"p50_ns"`
	P90 time.Duration `json:"p90_ns"`
	P99 time.Duration `json:"p99_ns"`
	Max time.Duration `json:"max_ns"`
}

// Failed is the number of failed calls.
func (r *BenchResult) Failed() int { return r.Calls - r.OK }

// Bench calls v from conc goroutines for d, cycling through reqs, and
// measures every call (around Verify, so a loaded plugin's host-side
// encoding, pooling and deadline handling are included). One call per
// goroutine runs first, unmeasured: a loaded Wasm plugin creates its
// instances lazily. It stops early when ctx ends. Use a plugin loaded
// with at least conc instances (limits.concurrency) to measure it, not
// its pool.
func Bench(ctx context.Context, v host.Verifier, reqs []*abi.VerifyRequest, conc int, d time.Duration) BenchResult {
	conc = max(conc, 1)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = v.Verify(ctx, reqs[w%len(reqs)]) }()
	}
	wg.Wait()

	type worker struct {
		lat   []time.Duration // successful calls
		calls int
		fails map[abi.Status]int
	}
	ws := make([]worker, conc)
	start := time.Now()
	stop := start.Add(d)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			me := worker{lat: make([]time.Duration, 0, 1<<14), fails: map[abi.Status]int{}}
			for i := w; ; i += conc {
				t := time.Now()
				if !t.Before(stop) || ctx.Err() != nil {
					break
				}
				_, err := v.Verify(ctx, reqs[i%len(reqs)])
				me.calls++
				if err != nil {
					me.fails[host.StatusOf(err)]++
					continue
				}
				me.lat = append(me.lat, time.Since(t))
			}
			ws[w] = me
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	r := BenchResult{Concurrency: conc, GOMAXPROCS: runtime.GOMAXPROCS(0), Seconds: elapsed.Seconds(), Failures: map[abi.Status]int{}}
	var all []time.Duration
	for _, w := range ws {
		all = append(all, w.lat...)
		r.Calls += w.calls
		for s, n := range w.fails {
			r.Failures[s] += n
		}
	}
	slices.Sort(all)
	r.OK = len(all)
	if len(all) > 0 {
		r.OKPerSecond = float64(len(all)) / elapsed.Seconds()
		r.P50, r.P90, r.P99 = quantile(all, 0.50), quantile(all, 0.90), quantile(all, 0.99)
		r.Max = all[len(all)-1]
	}
	return r
}

// quantile returns the nearest-rank q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
