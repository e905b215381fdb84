package host_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// A plugin compiled into the binary registers its factory from init; a
// run's config then names it with `builtin: NAME` and may pass options.
// These two are the extension points for kinds Rewind has no built-in of
// its own (a reward model) or for one-off native plugins in tests.
func init() {
	host.RegisterBuiltin(abi.KindRewardModel, "example-brevity", func(opts map[string]any) (any, error) {
		budget, ok := opts["budget"].(int)
		if !ok || budget <= 0 {
			return nil, fmt.Errorf("example-brevity needs options.budget, a positive integer")
		}
		return brevity{budget: budget}, nil
	})
	host.RegisterBuiltin(abi.KindVerifier, "example-contains", func(opts map[string]any) (any, error) {
		if len(opts) > 0 {
			return nil, fmt.Errorf("example-contains takes no options")
		}
		return contains{}, nil
	})
}

// brevity scores 1 for responses within the budget of bytes, less beyond.
type brevity struct{ budget int }

func (b brevity) Score(_ context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	out := make([]float64, len(reqs))
	for i, r := range reqs {
		out[i] = min(1, float64(b.budget)/float64(max(1, len(r.Response))))
	}
	return out, nil
}

// contains accepts a response that contains the ground truth string.
type contains struct{}

func (contains) Verify(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	var want string
	if err := json.Unmarshal(req.Task.Answer, &want); err != nil || want == "" {
		return abi.Verdict{Status: abi.StatusInvalid, Detail: "ground truth must be a non-empty JSON string"}, nil
	}
	if strings.Contains(req.Response, want) {
		return abi.Verdict{Score: 1, Status: abi.StatusOK}, nil
	}
	return abi.Verdict{Score: 0, Status: abi.StatusOK}, nil
}

// A verifier loaded from a run's config (decoded strictly: a misspelt key
// is an error) and called through the registry, which fills in the
// verdict's plugin name and sha256 and counts the call.
func ExampleVerifier() {
	ctx := context.Background()
	var section map[string]any // the plugins.grader section, from any parser
	if err := json.Unmarshal([]byte(`{
		"builtin": "example-contains",
		"limits": {"timeout": "2s"},
		"on_failure": {"retry": 1, "action": "drop_sample"}
	}`), &section); err != nil {
		panic(err)
	}
	cfg, err := host.DecodePluginConfig(section, "plugins.grader")
	if err != nil {
		panic(err)
	}
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	if err := r.Load(ctx, "grader", cfg); err != nil {
		panic(err)
	}
	v, err := r.Verifier("grader")
	if err != nil {
		panic(err)
	}
	verdict, err := v.Verify(ctx, &abi.VerifyRequest{
		Task:     abi.Task{ID: "q1", Answer: json.RawMessage(`"Paris"`)},
		Response: "The capital of France is Paris.",
	})
	fmt.Println(verdict.Score, verdict.Status, verdict.Plugin, verdict.SHA256, err)
	fmt.Println(cfg.OnFailure.EffectiveAction())
	// Output:
	// 1 ok grader builtin <nil>
	// drop_sample
}

// A plugin's config section is plain data: decode what a YAML, JSON or
// TOML parser returns, then Validate. Decoding refuses unknown keys and
// numbers it would otherwise convert silently; Validate reports every
// problem of the section at once.
func ExampleDecodePluginConfig() {
	section := map[string]any{
		"wasm":   "grader.wasm",
		"limits": map[string]any{"memory_mib": 64, "timeout": "1500ms"},
	}
	cfg, err := host.DecodePluginConfig(section, "train.yaml: plugins.grader")
	fmt.Println(cfg.Wasm, cfg.Limits.MemoryMiB, cfg.Limits.Timeout, err, cfg.Validate())

	_, err = host.DecodePluginConfig(map[string]any{"wasm": "g.wasm", "limts": map[string]any{}}, "train.yaml: plugins.typo")
	fmt.Println(err != nil, strings.Contains(err.Error(), "limts"))

	_, err = host.DecodePluginConfig(map[string]any{"wasm": "g.wasm", "limits": map[string]any{"timeout": 2}}, "plugins.bare")
	fmt.Println(strings.Contains(err.Error(), "has no unit"))

	cfg = host.PluginConfig{Wasm: "g.wasm", Builtin: "boxed", OnFailure: host.FailurePolicy{Retry: 20}}
	fmt.Println(cfg.Validate())
	// Output:
	// grader.wasm 64 1.5s <nil> <nil>
	// true true
	// true
	// exactly one of builtin, wasm and process must be set (got 2)
	// on_failure.retry: 20 is outside 0..10
}

// A reward model registered as a builtin with options.
func ExampleRewardModel() {
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	err := r.Load(ctx, "short", host.PluginConfig{Builtin: "example-brevity", Options: map[string]any{"budget": 10}})
	if err != nil {
		panic(err)
	}
	rm, _ := r.RewardModel("short")
	scores, err := rm.Score(ctx, []abi.ScoreRequest{{Response: "42"}, {Response: strings.Repeat("so ", 10)}})
	fmt.Println(scores, err)
	// A factory that refuses its options fails the load with the plugin's name.
	err = r.Load(ctx, "bad", host.PluginConfig{Builtin: "example-brevity"})
	fmt.Println(err)
	// Output:
	// [1 0.3333333333333333] <nil>
	// plugin "bad" load: error: builtin "example-brevity": example-brevity needs options.budget, a positive integer
}

// The built-in `thought` segmenter: each step ends with </thought>, and
// text after the last delimiter is a final step.
func ExampleSegmenter() {
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	if err := r.Load(ctx, "steps", host.PluginConfig{Builtin: "thought"}); err != nil {
		panic(err)
	}
	s, _ := r.Segmenter("steps")
	resp := "a</thought>b</thought>answer"
	spans, err := s.Segment(ctx, &abi.SegmentRequest{Response: resp})
	for _, sp := range spans {
		fmt.Printf("%q\n", resp[sp.Start:sp.End])
	}
	fmt.Println(err)
	// Output:
	// "a</thought>"
	// "b</thought>"
	// "answer"
	// <nil>
}

// The built-in `oracle` localizer reads the first wrong step from a process
// verifier's verdict; without one it fails with a typed error rather than
// guessing.
func ExampleLocalizer() {
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	if err := r.Load(ctx, "reset", host.PluginConfig{Builtin: "oracle"}); err != nil {
		panic(err)
	}
	l, _ := r.Localizer("reset")
	two := 2
	steps := []abi.Span{{Start: 0, End: 1}, {Start: 1, End: 2}, {Start: 2, End: 3}}
	loc, err := l.Localize(ctx, &abi.LocalizeRequest{Steps: steps, Verdict: &abi.Verdict{Status: abi.StatusOK, FirstError: &two}})
	fmt.Println(loc.Step, err)
	_, err = l.Localize(ctx, &abi.LocalizeRequest{Steps: steps, Verdict: &abi.Verdict{Status: abi.StatusOK}})
	fmt.Println(host.StatusOf(err))
	for _, c := range r.Counters() {
		fmt.Println(c.Plugin, c.Op, c.Status, c.Count)
	}
	// Output:
	// 2 <nil>
	// error
	// reset localize error 1
	// reset localize ok 1
}

// A Wasm verifier named in the config by its path: compiled once (pass
// Options.CacheDir to keep the compiled code across runs), sandboxed, and
// every verdict carries the module's sha256. boxed.wasm is the Go build of
// the built-in boxed verifier (examples/plugins/boxed-go).
func ExampleRegistry_wasm() {
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	err := r.Load(ctx, "math", host.PluginConfig{
		Wasm:   "../examples/plugins/boxed-go/boxed.wasm",
		Limits: host.Limits{MemoryMiB: 64, Timeout: 5 * time.Second, Concurrency: 2},
	})
	if err != nil {
		panic(err)
	}
	p, _ := r.Plugin("math")
	fmt.Println(p.Kind, p.Source, p.Manifest.Name, len(p.SHA256))
	v, _ := r.Verifier("math")
	verdict, err := v.Verify(ctx, &abi.VerifyRequest{
		Task:     abi.Task{ID: "1", Answer: json.RawMessage(`"0.5"`)},
		Response: `Halve it: $\boxed{\dfrac{1}{2}}$.`,
	})
	fmt.Println(verdict.Score, verdict.Status, verdict.Detail, verdict.SHA256 == p.SHA256, err)
	// Output:
	// verifier wasm:../examples/plugins/boxed-go/boxed.wasm boxed 64
	// 1 ok answer \dfrac{1}{2} true <nil>
}

// backendDown is an error that says which status the failed call stands
// for: it implements host.StatusReporter.
type backendDown struct{}

func (backendDown) Error() string            { return "grading service unreachable" }
func (backendDown) PluginStatus() abi.Status { return abi.StatusCrash }

// A verifier that calls a remote service reports an outage as a crash (a
// failure the run's on_failure policy retries) rather than as an explicit
// plugin error (an answer, never retried), by returning an error that
// implements StatusReporter.
func ExampleStatusReporter() {
	host.RegisterBuiltin(abi.KindVerifier, "example-remote", host.NoOptions(remote{}))
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	if err := r.Load(ctx, "remote", host.PluginConfig{Builtin: "example-remote"}); err != nil {
		panic(err)
	}
	v, _ := r.Verifier("remote")
	_, err := v.Verify(ctx, &abi.VerifyRequest{Response: "42"})
	fmt.Println(err)
	fmt.Println(host.StatusOf(err), errors.Is(err, host.ErrCrash))
	// Output:
	// plugin "remote" verify: crash: grading service unreachable
	// crash true
}

type remote struct{}

func (remote) Verify(context.Context, *abi.VerifyRequest) (abi.Verdict, error) {
	return abi.Verdict{}, backendDown{}
}
