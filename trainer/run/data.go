package run

import (
	"encoding/json"
	"fmt"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/data"
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

func (t *taskStream) state() (json.RawMessage, error) { return json.Marshal(t.s) }

func (t *taskStream) restore(raw json.RawMessage) error {
	var s data.Sampler
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	if err := s.Validate(t.ds.Len()); err != nil {
		return err
	}
	t.s = &s
	return nil
}
