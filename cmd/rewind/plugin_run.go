package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
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
		Short: "Run a verifier or localizer on a table of cases and report every disagreement",
		Long: `Run each case of a JSONL table through the plugin, via the host (so with
its sandbox, limits and checks), and print every case whose result differs
from the expected one (a verifier's score and status, a localizer's step):
line, expected, got. Exits non-zero when any case disagrees.

The cases file is JSON Lines, one case per line; blank lines and lines
starting with # are skipped:

  {"name": "fraction", "response": "so \\boxed{\\frac12}", "answer": "0.5", "score": 1, "status": "ok"}
  {"name": "no answer", "response": "I do not know", "answer": "3", "score": 0}
  {"name": "bad truth", "response": "\\boxed{1}", "answer": {"x": 1}, "status": "invalid"}
  {"name": "whole task", "task": {"id": "t1", "prompt": "1+2=", "answer": "3", "meta": {"level": 1}},
   "response": "\\boxed{3}", "steps": [{"start": 0, "end": 9}], "score": 1}

(each case on one line). Keys: name (shown in reports); response (the text
graded); answer (the task's ground truth, any JSON value) or task (the whole
task: id, prompt, answer, meta); steps (optional step spans in bytes, sent
to the verifier); score (expected score; absent: not checked); status
(expected status, default ok; a host status such as timeout, trap, crash,
malformed or error passes when the call fails that way). Unknown keys are
errors. The same format is read by sdk/plugintest for Go tests; see
examples/plugins/cases/boxed.jsonl.

A localizer's cases give the request and the step it must answer:

  {"name": "one step", "response": "\\boxed{7}", "steps": [{"start": 0, "end": 9}],
   "step_stats": [{"tokens": 9, "mean_logprob": -0.3, "min_logprob": -1.2}], "step": 1}

Keys: name; response; steps (required: the step spans in bytes);
step_stats (optional, one per step: tokens, mean_logprob, min_logprob,
mean_entropy); verdict; seed; answer or task; step (the expected answer, 0
for none; required unless status expects a failure); fallback (the expected
fallback, "" for none; absent: not checked); status. See
sdk/plugintest.LocalizerCase and examples/plugins/surprise-go/cases.jsonl.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if casesPath == "" {
				return errors.New("--cases FILE.jsonl is required")
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
			if p.localizer != nil {
				return testLocalizer(ctx, cmd.OutOrStdout(), args[0], p.localizer, casesPath)
			}
			if p.verifier == nil {
				return fmt.Errorf("%s is a %s; plugin test runs verifiers and localizers", args[0], p.kind)
			}
			cases, err := plugintest.ParseCases(casesPath)
			if err != nil {
				return err
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

// benchResult is what "plugin bench" reports: plugintest.Bench's
// measurement of the plugin.
type benchResult struct {
	Plugin        string `json:"plugin"`
	SHA256        string `json:"sha256"`
	ResponseBytes int    `json:"response_bytes"`
	plugintest.BenchResult
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
			r := benchResult{Plugin: args[0], SHA256: p.sha256, BenchResult: plugintest.Bench(ctx, p.verifier, reqs, conc, duration)}
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
	failed := "0 failed"
	if n := r.Failed(); n > 0 {
		parts := make([]string, 0, len(r.Failures))
		for _, s := range slices.Sorted(maps.Keys(r.Failures)) {
			parts = append(parts, fmt.Sprintf("%s %d", s, r.Failures[s]))
		}
		failed = fmt.Sprintf("%d failed (%s)", n, strings.Join(parts, ", "))
	}
	_, err := fmt.Fprintf(w, "%s (sha256 %.12s): %d calls in %.2fs from %d goroutines (GOMAXPROCS %d): %d ok, %s\n"+
		"throughput %.0f verdicts/s (failed calls not counted); latency of the ok calls p50 %.1f us, p90 %.1f us, p99 %.1f us, max %.1f us\n",
		r.Plugin, r.SHA256, r.Calls, r.Seconds, r.Concurrency, r.GOMAXPROCS, r.OK, failed,
		r.OKPerSecond, micros(r.P50), micros(r.P90), micros(r.P99), micros(r.Max))
	return err
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
