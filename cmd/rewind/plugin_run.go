package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/plugintest"
)

// disagreement is a case whose result differs from the expected one.
type disagreement struct {
	Case plugintest.Case
	Why  string // plugintest.Check's description
}

func (d disagreement) String() string {
	return fmt.Sprintf("%d: %q: %s", d.Case.Line, d.Case.Name, d.Why)
}

// runCases grades every case (plugintest.Check, the same judgement as a
// Go test's plugintest.RunVerifierCases) and returns the disagreements.
func runCases(ctx context.Context, v host.Verifier, cases []plugintest.Case) []disagreement {
	var out []disagreement
	for i := range cases {
		if why := plugintest.Check(ctx, v, &cases[i]); why != "" {
			out = append(out, disagreement{cases[i], why})
		}
	}
	return out
}

func newTestCmd(parse sourceParser) *cobra.Command {
	var casesPath string
	cmd := &cobra.Command{
		Use:   "test PATH --cases FILE.jsonl",
		Short: "Run a verifier on a table of cases and report every disagreement",
		Long: `Run each case of a JSONL table through the plugin, via the host (so with
its sandbox, limits and checks), and print every case whose verdict differs
from the expected score and status: line, expected, got. Exits non-zero
when any case disagrees.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if casesPath == "" {
				return errors.New("--cases FILE.jsonl is required")
			}
			cases, err := plugintest.ParseCases(casesPath)
			if err != nil {
				return err
			}
			ctx := orBackground(cmd.Context())
			src, err := parse(args[0])
			if err != nil {
				return err
			}
			p, err := loadPlugin(ctx, src, 1)
			if err != nil {
				return err
			}
			defer p.Close()
			if p.verifier == nil {
				return fmt.Errorf("%s is a %s; plugin test runs verifiers", args[0], p.kind)
			}
			bad := runCases(ctx, p.verifier, cases)
			w := cmd.OutOrStdout()
			for _, d := range bad {
				fmt.Fprintf(w, "%s:%s\n", casesPath, d)
			}
			fmt.Fprintf(w, "%d cases, %d passed, %d disagreed\n", len(cases), len(cases)-len(bad), len(bad))
			if len(bad) > 0 {
				return fmt.Errorf("%s: %d of %d cases: %w", args[0], len(bad), len(cases), errDisagreements)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&casesPath, "cases", "", "JSONL table of cases (see examples/plugins/cases/boxed.jsonl)")
	return cmd
}

// benchResult is what "plugin bench" reports. Latencies are per call, in
// microseconds, measured around Verify (so they include the host's
// encoding, pool and deadline handling).
type benchResult struct {
	Plugin        string  `json:"plugin"`
	SHA256        string  `json:"sha256"`
	Concurrency   int     `json:"concurrency"`
	GOMAXPROCS    int     `json:"gomaxprocs"`
	ResponseBytes int     `json:"response_bytes"`
	Seconds       float64 `json:"seconds"`
	Calls         int     `json:"calls"`
	Errors        int     `json:"errors"`
	PerSecond     float64 `json:"calls_per_second"`
	P50           float64 `json:"p50_us"`
	P90           float64 `json:"p90_us"`
	P99           float64 `json:"p99_us"`
	Max           float64 `json:"max_us"`
}

// benchRequest is a boxed-math request whose response is n bytes long:
// filler reasoning, then \boxed{42}.
func benchRequest(n int) *abi.VerifyRequest {
	const tail = ` so the answer is \boxed{42}.`
	const filler = "We add the two numbers and carry the one; then we check the units digit. "
	var b strings.Builder
	for b.Len()+len(tail) < n {
		b.WriteString(filler[:min(len(filler), n-len(tail)-b.Len())])
	}
	b.WriteString(tail)
	return &abi.VerifyRequest{
		Task:     abi.Task{ID: "bench", Prompt: "What is 40 + 2?", Answer: json.RawMessage(`"42"`)},
		Response: b.String(),
	}
}

// bench calls v from conc goroutines for d and measures every call.
func bench(ctx context.Context, v host.Verifier, reqs []*abi.VerifyRequest, conc int, d time.Duration) benchResult {
	// One call per worker first: instances are created lazily.
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = v.Verify(ctx, reqs[w%len(reqs)]) }()
	}
	wg.Wait()

	lat := make([][]time.Duration, conc)
	errs := make([]int, conc)
	start := time.Now()
	stop := start.Add(d)
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := make([]time.Duration, 0, 1<<14)
			for i := w; ; i += conc {
				t := time.Now()
				if !t.Before(stop) || ctx.Err() != nil {
					break
				}
				if _, err := v.Verify(ctx, reqs[i%len(reqs)]); err != nil {
					errs[w]++
				}
				l = append(l, time.Since(t))
			}
			lat[w] = l
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := benchResult{Concurrency: conc, GOMAXPROCS: runtime.GOMAXPROCS(0), Seconds: elapsed.Seconds(), Calls: len(all)}
	for _, e := range errs {
		r.Errors += e
	}
	if len(all) > 0 {
		r.PerSecond = float64(len(all)) / elapsed.Seconds()
		r.P50, r.P90, r.P99 = micros(quantile(all, 0.50)), micros(quantile(all, 0.90)), micros(quantile(all, 0.99))
		r.Max = micros(all[len(all)-1])
	}
	return r
}

// quantile returns the nearest-rank q-quantile of sorted durations.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func micros(d time.Duration) float64 { return math.Round(float64(d)/1e1) / 1e2 }

func newBenchCmd(parse sourceParser) *cobra.Command {
	var (
		conc          int
		duration      time.Duration
		responseBytes int
		casesPath     string
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "bench PATH [--concurrency N] [--duration D] [--response-bytes 300] [--cases FILE.jsonl]",
		Short: "Measure a verifier's latency percentiles and throughput",
		Long: `Call the verifier through the host from --concurrency goroutines for
--duration and report throughput and the p50/p90/p99/max latency of one
call. The requests are a boxed-math response of --response-bytes bytes
whose answer is \boxed{42}, or, with --cases, the requests of a cases file
in turn. The host keeps one instance per goroutine.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if conc < 1 || duration <= 0 || responseBytes < 1 {
				return errors.New("--concurrency, --duration and --response-bytes must be positive")
			}
			reqs := []*abi.VerifyRequest{benchRequest(responseBytes)}
			if casesPath != "" {
				cases, err := plugintest.ParseCases(casesPath)
				if err != nil {
					return err
				}
				reqs = reqs[:0]
				for i := range cases {
					reqs = append(reqs, cases[i].Request())
				}
			}
			ctx := orBackground(cmd.Context())
			src, err := parse(args[0])
			if err != nil {
				return err
			}
			p, err := loadPlugin(ctx, src, conc)
			if err != nil {
				return err
			}
			defer p.Close()
			if p.verifier == nil {
				return fmt.Errorf("%s is a %s; plugin bench runs verifiers", args[0], p.kind)
			}
			r := bench(ctx, p.verifier, reqs, conc, duration)
			r.Plugin, r.SHA256 = args[0], p.sha256
			if casesPath == "" {
				r.ResponseBytes = responseBytes
			}
			return printBench(cmd.OutOrStdout(), r, asJSON)
		},
	}
	cmd.Flags().IntVar(&conc, "concurrency", runtime.GOMAXPROCS(0), "concurrent callers (and instances)")
	cmd.Flags().DurationVar(&duration, "duration", 3*time.Second, "how long to measure")
	cmd.Flags().IntVar(&responseBytes, "response-bytes", 300, "length of the synthetic response")
	cmd.Flags().StringVar(&casesPath, "cases", "", "take the requests from a cases file instead")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}

func printBench(w io.Writer, r benchResult, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	_, err := fmt.Fprintf(w, "%s (sha256 %.12s): %d calls in %.2fs from %d goroutines (GOMAXPROCS %d), %d errors\n"+
		"throughput %.0f calls/s; latency p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n",
		r.Plugin, r.SHA256, r.Calls, r.Seconds, r.Concurrency, r.GOMAXPROCS, r.Errors,
		r.PerSecond, r.P50, r.P90, r.P99, r.Max)
	return err
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
