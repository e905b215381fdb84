package run

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
)

// taskStream is the training set in the order of its resumable sampler.
type taskStream struct {
	ds   *data.Dataset
	s    *data.Sampler
	tmpl data.Template
}

func openTaskStream(cfg Config) (*taskStream, error) {
	if cfg.Data.Train == "" {
		return nil, fmt.Errorf("data.train: must name the training set")
	}
	ds, err := data.ReadFile(cfg.Data.Train)
	if err != nil {
		return nil, fmt.Errorf("data.train: %w", err)
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("data.train: %s holds no examples", cfg.Data.Train)
	}
	return &taskStream{ds: ds, s: data.NewSampler(ds.Len(), cfg.Run.Seed), tmpl: cfg.Data.Template}, nil
}

func (t *taskStream) len() int { return t.ds.Len() }

// next returns the next k tasks and the epoch the first of them is in.
func (t *taskStream) next(k int) ([]abi.Task, int) {
	epoch := t.s.Epoch
	if t.s.Pos >= t.s.N {
		epoch++
	}
	exs := t.ds.Batch(t.s, k)
	out := make([]abi.Task, len(exs))
	for i, e := range exs {
		out[i] = e.Task()
	}
	return out, epoch
}

// render applies the prompt template.
func (t *taskStream) render(task abi.Task) string { return t.tmpl.Render(task.Prompt) }

// streamState is the stream's part of a checkpoint: the sampler's cursor
// and the sha256 of the file it walks, so that a resume refuses another
// file (one of the same length was once accepted).
type streamState struct {
	data.Sampler
	SHA256 string `json:"sha256,omitempty"` // absent in checkpoints written before it
}

func (t *taskStream) state() (json.RawMessage, error) {
	return json.Marshal(streamState{Sampler: *t.s, SHA256: t.ds.SHA256})
}

func (t *taskStream) restore(raw json.RawMessage) error {
	var s streamState
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if s.SHA256 != "" && s.SHA256 != t.ds.SHA256 {
		return fmt.Errorf("data.train %s is not the file the run trained on (sha256 %s, the checkpoint recorded %s): restore that file, or start a new run", t.ds.Name, t.ds.SHA256, s.SHA256)
	}
	if err := s.Validate(t.ds.Len()); err != nil {
		return err
	}
	t.s = &s.Sampler
	return nil
}

// maxListed caps how many offending lines checkPrompts names.
const maxListed = 5

// checkPrompts renders every example with the template and tokenizes it
// as a step would, and refuses the set when any prompt leaves no room for
// a response in the policy's context. It runs before step 1, so that such
// a line is named by file:line at the start rather than failing the step
// that samples it (and every resume after). key is the config key of the
// file, for the message. A policy that does not report its limits is not
// checked.
func checkPrompts(key string, ds *data.Dataset, exs []data.Example, tmpl data.Template, pol engine.Policy) error {
	lr, ok := pol.(engine.LimitsReporter)
	if !ok {
		return nil
	}
	ctxLen := lr.Limits().MaxPositions
	tok := pol.Tokenizer()
	var bad []string
	n := 0
	for _, e := range exs {
		if k := len(tok.Encode(tmpl.Render(e.Prompt))); k >= ctxLen {
			n++
			if len(bad) < maxListed {
				bad = append(bad, fmt.Sprintf("%s:%d: prompt %q is %d tokens with the template", ds.Name, e.Line, e.ID, k))
			}
		}
	}
	if n == 0 {
		return nil
	}
	msg := strings.Join(bad, "\n")
	if n > len(bad) {
		msg += fmt.Sprintf("\n... and %d more", n-len(bad))
	}
	return fmt.Errorf("%s: %d of %d prompts do not fit the model's context of %d tokens with room for a response; shorten or remove them (or use a model with a longer context):\n%s",
		key, n, len(exs), ctxLen, msg)
}
