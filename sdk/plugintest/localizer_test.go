package plugintest_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/sdk/plugintest"
)

func writeCases(t *testing.T, text string) string {
	p := filepath.Join(t.TempDir(), "cases.jsonl")
	require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
	return p
}

func TestParseLocalizerCasesRefusals(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{`{"name": "x", "response": "ab", "step": 1}`, `:1: "steps" is required`},
		{`{"name": "x", "response": "ab", "steps": [{"start":0,"end":2}]}`, `:1: "step" is required`},
		{`{"name": "x", "response": "ab", "steps": [{"start":0,"end":2}], "step_stats": [], "step": 1}`, `:1: 0 "step_stats" for 1 "steps"`},
		{"# c\n\n" + `{"name": "x", "response": "ab", "steps": [{"start":0,"end":2}], "step": 1, "score": 1}`, `:3: json: unknown field "score"`},
		{`{"response": "ab", "steps": [{"start":0,"end":2}], "step": 1, "answer": 1, "task": {}}`, `give either "task" or "answer"`},
	} {
		_, err := plugintest.ParseLocalizerCases(writeCases(t, tc.text))
		require.ErrorContains(t, err, tc.want)
	}
}

// lastStep answers the last step, or fails on a response "fail".
type lastStep struct{}

func (lastStep) Localize(_ context.Context, req *abi.LocalizeRequest) (abi.Localization, error) {
	if req.Response == "fail" {
		return abi.Localization{}, os.ErrInvalid
	}
	return abi.Localization{Step: len(req.Steps), Fallback: "last"}, nil
}

func TestCheckLocalizer(t *testing.T) {
	cases, err := plugintest.ParseLocalizerCases(writeCases(t, `{"name": "right", "response": "ab", "steps": [{"start":0,"end":1},{"start":1,"end":2}], "step": 2}
{"name": "wrong", "response": "ab", "steps": [{"start":0,"end":1},{"start":1,"end":2}], "step": 1}
{"name": "fallback", "response": "ab", "steps": [{"start":0,"end":2}], "step": 1, "fallback": ""}
{"name": "expected failure", "response": "fail", "steps": [{"start":0,"end":4}], "status": "error"}
{"name": "unexpected failure", "response": "fail", "steps": [{"start":0,"end":4}], "step": 1}`))
	require.NoError(t, err)
	var got []string
	for i := range cases {
		got = append(got, plugintest.CheckLocalizer(context.Background(), lastStep{}, &cases[i]))
	}
	require.Equal(t, "", got[0])
	require.Equal(t, `want step 1; got step 2, fallback "last"`, got[1])
	require.Equal(t, `want step 1, fallback ""; got step 1, fallback "last"`, got[2])
	require.Equal(t, "", got[3])
	require.Contains(t, got[4], "want step 1; got status error")
}
