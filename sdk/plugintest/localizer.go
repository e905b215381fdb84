package plugintest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
)

// LocalizerCase is one line of a localizer's case file: a failed response
// with its steps (and optionally the statistics, verdict and seed the
// trainer would send) and the step the localizer must answer:
//
//	{"name": "entropy peak", "response": "a|b|c", "steps": [{"start":0,"end":2},{"start":2,"end":4},{"start":4,"end":5}],
//	 "step_stats": [{"tokens":2,"mean_logprob":-0.1,"min_logprob":-0.2,"mean_entropy":0.3}, ...], "step": 2}
//
// "answer" or "task" give the task as in a verifier's Case. A missing
// "status" means "ok"; a host status ("error", "timeout", ...) expects the
// call to fail with it, and "step" is then not read. "fallback", when
// given, must equal the answer's. Unknown keys are errors.
type LocalizerCase struct {
	Line      int             `json:"-"`
	Name      string          `json:"name"`
	Task      *abi.Task       `json:"task,omitempty"`
	Answer    json.RawMessage `json:"answer,omitempty"`
	Response  string          `json:"response"`
	Steps     []abi.Span      `json:"steps"`
	StepStats []abi.StepStats `json:"step_stats,omitempty"`
	Verdict   *abi.Verdict    `json:"verdict,omitempty"`
	Seed      uint64          `json:"seed,omitempty"`
	// Step is the expected answer (0: "no erroneous step"); required
	// unless Status expects a failure.
	Step *int `json:"step,omitempty"`
	// Fallback, when set, is the expected Fallback of the answer ("" for
	// none).
	Fallback *string    `json:"fallback,omitempty"`
	Status   abi.Status `json:"status,omitempty"`
}

// Request is the localize request of the case.
func (c *LocalizerCase) Request() *abi.LocalizeRequest {
	req := &abi.LocalizeRequest{Response: c.Response, Steps: c.Steps, StepStats: c.StepStats, Verdict: c.Verdict, Seed: c.Seed}
	if c.Task != nil {
		req.Task = *c.Task
	} else {
		req.Task = abi.Task{ID: fmt.Sprintf("line-%d", c.Line), Answer: c.Answer}
	}
	return req
}

// ParseLocalizerCases reads a localizer's case file strictly, like
// ParseCases: a malformed line, an unknown key, a case without steps, or
// without "step" while expecting success, is an error naming the line.
func ParseLocalizerCases(path string) ([]LocalizerCase, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []LocalizerCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		c := LocalizerCase{Line: line}
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf(`%s:%d: %w (a localizer case is {"name", "response", "steps", "step_stats", "verdict", "seed", "answer" or "task", "step", "fallback", "status"})`, path, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one JSON value on the line", path, line)
		}
		if c.Task != nil && c.Answer != nil {
			return nil, fmt.Errorf(`%s:%d: give either "task" or "answer", not both`, path, line)
		}
		if len(c.Steps) == 0 {
			return nil, fmt.Errorf(`%s:%d: "steps" is required: the step spans (byte offsets) of "response"`, path, line)
		}
		if c.StepStats != nil && len(c.StepStats) != len(c.Steps) {
			return nil, fmt.Errorf(`%s:%d: %d "step_stats" for %d "steps": give one per step`, path, line, len(c.StepStats), len(c.Steps))
		}
		if c.Status == "" {
			c.Status = abi.StatusOK
		}
		if c.Status == abi.StatusOK && c.Step == nil {
			return nil, fmt.Errorf(`%s:%d: "step" is required: the step the localizer must answer (0 for none)`, path, line)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s has no cases", path)
	}
	return cases, nil
}

// ReadLocalizerCases is ParseLocalizerCases that fails the test on error.
func ReadLocalizerCases(t testing.TB, path string) []LocalizerCase {
	t.Helper()
	cases, err := ParseLocalizerCases(path)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// CheckLocalizer runs one case and describes the disagreement, or returns
// "" when the localizer agrees with it, e.g.
//
//	want step 2; got step 3 (step 3: lowest mean_logprob -1.2)
func CheckLocalizer(ctx context.Context, l host.Localizer, c *LocalizerCase) string {
	want := c.Status
	if want == "" {
		want = abi.StatusOK
	}
	got, err := l.Localize(ctx, c.Request())
	if err != nil {
		if s := host.StatusOf(err); s != want {
			return fmt.Sprintf("want %s; got status %s (%v)", describeWant(c, want), s, err)
		}
		return ""
	}
	if want != abi.StatusOK {
		return fmt.Sprintf("want status %s; got step %d", want, got.Step)
	}
	if got.Step == *c.Step && (c.Fallback == nil || got.Fallback == *c.Fallback) {
		return ""
	}
	gotS := fmt.Sprintf("step %d", got.Step)
	if got.Fallback != "" {
		gotS += fmt.Sprintf(", fallback %q", got.Fallback)
	}
	if got.Detail != "" {
		gotS += fmt.Sprintf(" (%s)", got.Detail)
	}
	return fmt.Sprintf("want %s; got %s", describeWant(c, want), gotS)
}

func describeWant(c *LocalizerCase, want abi.Status) string {
	if want != abi.StatusOK || c.Step == nil {
		return "status " + string(want)
	}
	s := fmt.Sprintf("step %d", *c.Step)
	if c.Fallback != nil {
		s += fmt.Sprintf(", fallback %q", *c.Fallback)
	}
	return s
}

// RunLocalizerCases runs every case as a subtest named after the case and
// reports each disagreement with the case's line.
func RunLocalizerCases(t *testing.T, l host.Localizer, cases []LocalizerCase) {
	t.Helper()
	for i := range cases {
		c := &cases[i]
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("line-%d", c.Line)
		}
		t.Run(name, func(t *testing.T) {
			if msg := CheckLocalizer(t.Context(), l, c); msg != "" {
				t.Errorf("case at line %d (%q): %s", c.Line, c.Name, msg)
			}
		})
	}
}
