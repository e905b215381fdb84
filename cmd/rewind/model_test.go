package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/trainer/engine/enginetest"
)

func runRewind(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&errOut)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
	return out.String(), errOut.String(), err
}

func TestModelLogitsMatchesReference(t *testing.T) {
	ref, want := enginetest.LoadReference(t)
	tmp := t.TempDir()
	for _, form := range []string{"json", "text"} {
		t.Run(form, func(t *testing.T) {
			ids := filepath.Join(tmp, "ids."+form)
			var b []byte
			if form == "json" {
				b, _ = json.Marshal(ref.InputIDs)
			} else {
				var sb strings.Builder
				for _, s := range ref.InputIDs {
					for i, id := range s {
						if i > 0 {
							sb.WriteString(" ")
						}
						sb.WriteString(strings.TrimSpace(string(must(json.Marshal(id)))))
					}
					sb.WriteString("\n\n")
				}
				b = []byte(sb.String())
			}
			require.NoError(t, os.WriteFile(ids, b, 0o644))
			out := filepath.Join(tmp, "logits-"+form+".f32")
			_, stderr, err := runRewind(t, "model", "logits", "--model", enginetest.HFDir(), "--ids", ids, "--out", out)
			require.NoError(t, err)
			require.Contains(t, stderr, "[2, 24, 600]")
			raw, err := os.ReadFile(out)
			require.NoError(t, err)
			require.Len(t, raw, 4*len(want))
			for i := range want {
				got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
				require.InDelta(t, want[i], got, enginetest.LogitTol, "logit %d", i)
			}
		})
	}
	bad := filepath.Join(tmp, "bad.txt")
	require.NoError(t, os.WriteFile(bad, []byte("1 2 3\n4 x 6\n"), 0o644))
	_, _, err := runRewind(t, "model", "logits", "--model", enginetest.HFDir(), "--ids", bad, "--out", filepath.Join(tmp, "x"))
	require.ErrorContains(t, err, "bad.txt:2: field 2")
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestModelGenerateGreedyMatchesReference(t *testing.T) {
	ref, _ := enginetest.LoadReference(t)
	n := len(ref.GreedyOutput) - len(ref.GreedyPrompt)
	stdout, stderr, err := runRewind(t, "model", "generate", "--model", enginetest.HFDir(), "--prompt", "Step 1: compute 12 + 30 =", "--greedy", "--max-new", itoa(n), "--ids")
	require.NoError(t, err)
	var got struct {
		PromptIDs []int  `json:"prompt_ids"`
		IDs       []int  `json:"ids"`
		Stop      string `json:"stop"`
	}
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(stderr)), &got))
	require.Equal(t, ref.GreedyPrompt, got.PromptIDs)
	require.Equal(t, ref.GreedyOutput[len(ref.GreedyPrompt):], got.IDs)
	require.Equal(t, "length", got.Stop)
	require.NotEmpty(t, strings.TrimSpace(stdout))
}

func itoa(n int) string { return string(must(json.Marshal(n))) }
