// Package plugintest tests a Rewind plugin in-process, in a few lines of a
// Go test. A Wasm module, a builtin or a process plugin is loaded through
// the real host (Load, LoadWasm), so it gets the same sandbox, limits,
// output checks and failure policy as in a training run; a native
// implementation of host.Verifier is passed as it is.
//
//	func TestMyVerifier(t *testing.T) {
//		v := plugintest.LoadWasm(t, "mine.wasm", nil).Verifier()
//		plugintest.RunVerifierCases(t, v, plugintest.ReadCases(t, "cases.jsonl"))
//		plugintest.RunVerifierCases(t, mine.Verifier{}, plugintest.ReadCases(t, "cases.jsonl"))
//	}
//
// # Case files
//
// A case file is JSON Lines, one case per line; blank lines and lines
// starting with '#' are skipped (the format of examples/plugins/cases and
// of `rewind plugin test`):
//
//	{"name": "fraction", "response": "so \\boxed{\\frac12}", "answer": "0.5", "score": 1, "status": "ok"}
//
// "answer" is the task's ground truth (any JSON value); "task" may replace
// it to give the whole abi.Task; "steps" are the step spans passed to the
// verifier. A missing "status" means "ok" and a missing "score" is not
// checked. A host status ("error", "timeout", "trap", ...) may be expected
// too: the case then passes when the call fails with that status. Unknown
// keys are errors.
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

// Case is one line of a case file.
type Case struct {
	// Line is the case's line in its file (0 for cases built in code).
	Line     int             `json:"-"`
	Name     string          `json:"name"`
	Task     *abi.Task       `json:"task,omitempty"`
	Answer   json.RawMessage `json:"answer,omitempty"`
	Response string          `json:"response"`
	Steps    []abi.Span      `json:"steps,omitempty"`
	// Score is the expected score; nil is not checked.
	Score *float64 `json:"score,omitempty"`
	// Status is the expected verdict status, or the host status of an
	// expected failure. Empty means ok.
	Status abi.Status `json:"status,omitempty"`
}

// Request is the verify request of the case.
func (c *Case) Request() *abi.VerifyRequest {
	req := &abi.VerifyRequest{Response: c.Response, Steps: c.Steps}
	if c.Task != nil {
		req.Task = *c.Task
	} else {
		req.Task = abi.Task{ID: fmt.Sprintf("line-%d", c.Line), Answer: c.Answer}
	}
	return req
}

// ParseCases reads a case file strictly: a malformed line, an unknown key
// or a case with both "task" and "answer" is an error naming the line.
func ParseCases(path string) ([]Case, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var cases []Case
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for line := 1; sc.Scan(); line++ {
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		c := Case{Line: line}
		if err := dec.Decode(&c); err != nil {
			return nil, fmt.Errorf(`%s:%d: %w (a case is {"name", "response", "answer" or "task", "steps", "score", "status"})`, path, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%s:%d: more than one JSON value on the line", path, line)
		}
		if c.Task != nil && c.Answer != nil {
			return nil, fmt.Errorf(`%s:%d: give either "task" or "answer", not both`, path, line)
		}
		if c.Status == "" {
			c.Status = abi.StatusOK
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

// ReadCases is ParseCases that fails the test on error.
func ReadCases(t testing.TB, path string) []Case {
	t.Helper()
	cases, err := ParseCases(path)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// Check runs one case and describes the disagreement, or returns "" when
// the verifier agrees with it. The description gives what the case wants
// and what the verifier did, e.g.
//
//	want score 0, status ok; got score 1, status ok (answer 41)
//	want status ok; got status timeout (plugin "p" verify: timeout: ...)
//
// (the form `rewind plugin test` prints after FILE:LINE: "name":).
func Check(ctx context.Context, v host.Verifier, c *Case) string {
	want := c.Status
	if want == "" {
		want = abi.StatusOK
	}
	wantS := fmt.Sprintf("status %s", want)
	if c.Score != nil {
		wantS = fmt.Sprintf("score %g, %s", *c.Score, wantS)
	}
	got, err := v.Verify(ctx, c.Request())
	switch {
	case err != nil:
		if s := host.StatusOf(err); s != want {
			return fmt.Sprintf("want %s; got status %s (%v)", wantS, s, err)
		}
		return ""
	case got.Status == want && (c.Score == nil || got.Score == *c.Score):
		return ""
	}
	gotS := fmt.Sprintf("score %g, status %s", got.Score, got.Status)
	if got.Detail != "" {
		gotS += fmt.Sprintf(" (%s)", got.Detail)
	}
	return fmt.Sprintf("want %s; got %s", wantS, gotS)
}

// RunVerifierCases runs every case as a subtest named after the case and
// reports each disagreement with the case's line.
func RunVerifierCases(t *testing.T, v host.Verifier, cases []Case) {
	t.Helper()
	for i := range cases {
		c := &cases[i]
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("line-%d", c.Line)
		}
		t.Run(name, func(t *testing.T) {
			if msg := Check(t.Context(), v, c); msg != "" {
				t.Errorf("case at line %d (%q): %s", c.Line, c.Name, msg)
			}
		})
	}
}
