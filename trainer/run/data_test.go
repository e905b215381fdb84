package run

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A prompt too long for the model's context is named by file:line before
// step 1 (it once failed the step that sampled it, naming a batch
// position, and every resume after), and the failed start leaves no run
// directory.
func TestLongPromptRefusedAtStart(t *testing.T) {
	var b strings.Builder
	for i := range 6 {
		prompt := fmt.Sprintf("%d+%d=", i%5, i%3)
		if i == 2 || i == 4 {
			prompt = strings.Repeat("1+", 40) + "1=" // 82 tokens; nano's context is 64
		}
		fmt.Fprintf(&b, `{"id":"add-%d","prompt":%q,"answer":"0"}`+"\n", i, prompt)
	}
	train := writeFile(t, "train.jsonl", b.String())
	c, err := Preset("grpo")
	require.NoError(t, err)
	c.Run.Dir, c.Run.Steps, c.Run.Log = filepath.Join(t.TempDir(), "run"), 2, "none"
	c.Model = ModelConfig{Engine: "cpu", Preset: "nano", Tokenizer: "char:" + e2eAlphabet}
	c.Data.Train = train
	c.Data.Template.Kind, c.Data.Template.AssistantPrefix = "plain", "{"
	_, err = Train(context.Background(), Options{Config: c})
	require.ErrorContains(t, err, "data.train: 2 of 6 prompts do not fit the model's context of 64 tokens with room for a response")
	require.ErrorContains(t, err, train+`:3: prompt "add-2" is 83 tokens with the template`)
	require.ErrorContains(t, err, train+`:5: prompt "add-4" is 83 tokens with the template`)
	require.NoDirExists(t, c.Run.Dir)
}

// A resume refuses a training file other than the one the checkpoint was
// written with, even of the same length (only the length was checked).
func TestResumeRefusesChangedDataset(t *testing.T) {
	c, err := Preset("grpo")
	require.NoError(t, err)
	c.Data.Train = e2eData(t, 6)
	s, err := openTaskStream(c)
	require.NoError(t, err)
	s.next(4)
	st, err := s.state()
	require.NoError(t, err)

	same, err := openTaskStream(c)
	require.NoError(t, err)
	require.NoError(t, same.restore(st))
	st2, err := same.state()
	require.NoError(t, err)
	require.JSONEq(t, string(st), string(st2))

	raw, err := os.ReadFile(c.Data.Train)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(c.Data.Train, []byte(strings.Replace(string(raw), `"answer":"0"`, `"answer":"9"`, 1)), 0o644))
	other, err := openTaskStream(c)
	require.NoError(t, err)
	require.Equal(t, s.len(), other.len())
	require.ErrorContains(t, other.restore(st), "data.train "+c.Data.Train+" is not the file the run trained on")
}
