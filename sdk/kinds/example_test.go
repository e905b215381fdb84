package kinds_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/kinds"
)

// paragraphs is a segmenter written against sdk/kinds alone: one step per
// paragraph (blank-line separated). It keeps no state, so it is safe for
// concurrent use, and it reads req without keeping it.
type paragraphs struct{}

func (paragraphs) Segment(_ context.Context, req *abi.SegmentRequest) ([]abi.Span, error) {
	var spans []abi.Span
	start := 0
	for start < len(req.Response) {
		end := len(req.Response)
		if i := strings.Index(req.Response[start:], "\n\n"); i >= 0 {
			end = start + i + 2
		}
		spans = append(spans, abi.Span{Start: start, End: end})
		start = end
	}
	return spans, nil // nil for an empty response: no steps
}

// The interface guard, at the bottom of an implementation's file, makes a
// signature mistake a compile error rather than a failed load.
var _ kinds.Segmenter = paragraphs{}

// A kind is a plain Go interface: call it directly, as a unit test of a
// plugin would.
func ExampleSegmenter() {
	resp := "Let x = 2.\n\nThen 2x = 4.\n\nThe answer is 4."
	spans, err := paragraphs{}.Segment(context.Background(), &abi.SegmentRequest{Response: resp})
	for _, s := range spans {
		fmt.Printf("%q\n", resp[s.Start:s.End])
	}
	fmt.Println(err)
	// Output:
	// "Let x = 2.\n\n"
	// "Then 2x = 4.\n\n"
	// "The answer is 4."
	// <nil>
}

// The same value is a host.Segmenter (host aliases the kinds), so it can be
// compiled into a trainer as a builtin, served as a process plugin with
// sdk/serve.Segmenter, or loaded and called through a host.Registry, which
// checks every result against the contract and counts the calls.
func ExampleSegmenter_builtin() {
	host.RegisterBuiltin(abi.KindSegmenter, "example-paragraphs", host.NoOptions(paragraphs{}))
	ctx := context.Background()
	r := host.NewRegistry(host.Options{})
	defer r.Close()
	if err := r.Load(ctx, "steps", host.PluginConfig{Builtin: "example-paragraphs"}); err != nil {
		panic(err)
	}
	s, err := r.Segmenter("steps")
	if err != nil {
		panic(err)
	}
	spans, err := s.Segment(ctx, &abi.SegmentRequest{Response: "a\n\nb"})
	fmt.Println(spans, err)
	for _, c := range r.Counters() {
		fmt.Println(c.Plugin, c.Op, c.Status, c.Count)
	}
	// Output:
	// [{0 3} {3 4}] <nil>
	// steps segment ok 1
}

// exact is a verifier: a wrong answer is a result (status ok, score 0),
// and a task it cannot read is StatusInvalid, never an error.
type exact struct{}

func (exact) Verify(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	var want string
	if err := json.Unmarshal(req.Task.Answer, &want); err != nil || want == "" {
		return abi.Verdict{Status: abi.StatusInvalid, Detail: "the answer must be a non-empty JSON string"}, nil
	}
	if strings.TrimSpace(req.Response) == want {
		return abi.Verdict{Status: abi.StatusOK, Score: 1}, nil
	}
	return abi.Verdict{Status: abi.StatusOK, Score: 0}, nil
}

var _ kinds.Verifier = exact{}

func ExampleVerifier() {
	ctx := context.Background()
	task := abi.Task{ID: "q1", Answer: []byte(`"4"`)}
	for _, resp := range []string{"4", "5"} {
		v, err := exact{}.Verify(ctx, &abi.VerifyRequest{Task: task, Response: resp})
		fmt.Println(resp, v.Status, v.Score, err)
	}
	v, _ := exact{}.Verify(ctx, &abi.VerifyRequest{Task: abi.Task{Answer: []byte(`4`)}, Response: "4"})
	fmt.Println(v.Status)
	// Output:
	// 4 ok 1 <nil>
	// 5 ok 0 <nil>
	// invalid
}

// length is a reward model: exactly one score per request, in order.
type length struct{ budget int }

func (l length) Score(_ context.Context, reqs []abi.ScoreRequest) ([]float64, error) {
	out := make([]float64, len(reqs))
	for i, r := range reqs {
		out[i] = float64(min(0, l.budget-len(r.Response))) // a penalty past the budget
	}
	return out, nil
}

var _ kinds.RewardModel = length{}

func ExampleRewardModel() {
	scores, err := length{budget: 4}.Score(context.Background(), []abi.ScoreRequest{{Response: "42"}, {Response: "forty-two"}})
	fmt.Println(scores, err)
	// Output:
	// [0 -5] <nil>
}

// lastStep is a localizer that blames the last step, unless the verifier
// already named the first wrong one.
type lastStep struct{}

func (lastStep) Localize(_ context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if v := req.Verdict; v != nil && v.FirstError != nil {
		return abi.Localization{Step: *v.FirstError}, nil
	}
	return abi.Localization{Step: len(req.Steps), Fallback: "last-step"}, nil
}

var _ kinds.Localizer = lastStep{}

func ExampleLocalizer() {
	steps := []abi.Span{{Start: 0, End: 3}, {Start: 3, End: 6}, {Start: 6, End: 9}}
	loc, err := lastStep{}.Localize(context.Background(), &abi.LocalizeRequest{Steps: steps})
	fmt.Println(loc.Step, loc.Fallback, err)
	first := 2
	loc, _ = lastStep{}.Localize(context.Background(), &abi.LocalizeRequest{Steps: steps, Verdict: &abi.Verdict{Status: abi.StatusOK, FirstError: &first}})
	fmt.Println(loc.Step)
	// Output:
	// 3 last-step <nil>
	// 2
}
