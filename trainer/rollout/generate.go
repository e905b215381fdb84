package rollout

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// job is one trajectory being generated. A reset job starts with the
// parent's prefix in tokens, logps, ents and steps.
type job struct {
	prompt []int
	tokens []int
	logps  []float32
	ents   []float32   // entropies; shorter than tokens once a call returned none
	steps  []algo.Span // thought mode; whole mode: the prefix's steps
	prefix int         // len(tokens) at the start
	seed   uint64
	reason engine.StopReason
	text   string
	// done is called once, from the generating goroutine, when the job
	// has finished generating.
	done func(*job)
}

func (r *Runner) sampling(maxNew int) engine.Sampling {
	s := engine.Sampling{
		Temperature:  r.cfg.Temperature,
		TopP:         r.cfg.TopP,
		TopK:         r.cfg.TopK,
		MaxNewTokens: maxNew,
	}
	if eos := r.tok.EOS(); eos >= 0 {
		s.StopTokens = []int{eos}
	}
	return s
}

// generate runs jobs to completion in the configured mode, calling each
// job's done as soon as it finishes. It returns the number of new tokens.
func (r *Runner) generate(ctx context.Context, jobs []*job) (int, error) {
	if r.cfg.Mode == ModeWhole {
		return r.generateWhole(ctx, jobs)
	}
	return r.generateThought(ctx, jobs)
}

// generateThought samples one step per call for every unfinished job. A
// response ends when a step contains the answer marker, on an empty step,
// at the end-of-sequence token or the context window, after MaxSteps
// steps, or when the next step might not fit (fewer than StepTokens
// tokens left of MaxTokens).
func (r *Runner) generateThought(ctx context.Context, jobs []*job) (int, error) {
	c := r.cfg
	active := make([]*job, 0, len(jobs))
	for _, j := range jobs {
		if len(j.steps) >= c.MaxSteps || len(j.tokens) >= c.MaxTokens {
			r.finish(j)
			continue
		}
		active = append(active, j)
	}
	generated := 0
	for len(active) > 0 {
		reqs := make([]engine.GenRequest, len(active))
		for i, j := range active {
			s := r.sampling(min(c.StepTokens, c.MaxTokens-len(j.tokens)))
			s.StopStrings = []string{c.Delimiter}
			reqs[i] = engine.GenRequest{Prompt: j.prompt, Prefix: j.tokens, Sampling: s, Seed: Seed(j.seed, 0, 0, streamStep, len(j.steps), 0)}
		}
		res, err := r.policy.Generate(ctx, reqs)
		if err != nil {
			return generated, fmt.Errorf("rollout: generate: %w", err)
		}
		if len(res) != len(reqs) {
			return generated, fmt.Errorf("rollout: generate: the policy returned %d results for %d requests", len(res), len(reqs))
		}
		next := active[:0]
		for i, j := range active {
			g := res[i]
			generated += len(g.Tokens)
			start := len(j.tokens)
			j.tokens = append(j.tokens, g.Tokens...)
			j.logps = append(j.logps, g.LogProbs...)
			j.ents = append(j.ents, g.Entropies...)
			j.reason = g.Reason
			empty := strings.TrimSpace(strings.ReplaceAll(g.Text, c.Delimiter, "")) == ""
			if !empty {
				j.steps = append(j.steps, algo.Span{Start: start, End: len(j.tokens)})
			}
			end := empty ||
				strings.Contains(g.Text, c.AnswerMarker) ||
				g.Reason == engine.StopToken || g.Reason == engine.StopWindow ||
				len(j.steps) >= c.MaxSteps ||
				c.MaxTokens-len(j.tokens) < c.StepTokens
			if end {
				r.finish(j)
			} else {
				next = append(next, j)
			}
		}
		active = next
	}
	return generated, nil
}

// generateWhole samples each response in one call (in chunks of GenChunk
// requests); steps are found later by the segmenter.
func (r *Runner) generateWhole(ctx context.Context, jobs []*job) (int, error) {
	chunk := r.cfg.GenChunk
	if chunk == 0 {
		chunk = max(len(jobs), 1)
	}
	generated := 0
	for lo := 0; lo < len(jobs); lo += chunk {
		part := jobs[lo:min(lo+chunk, len(jobs))]
		reqs := make([]engine.GenRequest, 0, len(part))
		var run []*job
		for _, j := range part {
			if len(j.tokens) >= r.cfg.MaxTokens {
				r.finish(j)
				continue
			}
			reqs = append(reqs, engine.GenRequest{Prompt: j.prompt, Prefix: j.tokens, Sampling: r.sampling(r.cfg.MaxTokens - len(j.tokens)), Seed: j.seed})
			run = append(run, j)
		}
		if len(reqs) == 0 {
			continue
		}
		res, err := r.policy.Generate(ctx, reqs)
		if err != nil {
			return generated, fmt.Errorf("rollout: generate: %w", err)
		}
		if len(res) != len(reqs) {
			return generated, fmt.Errorf("rollout: generate: the policy returned %d results for %d requests", len(res), len(reqs))
		}
		for i, j := range run {
			generated += len(res[i].Tokens)
			j.tokens = append(j.tokens, res[i].Tokens...)
			j.logps = append(j.logps, res[i].LogProbs...)
			j.ents = append(j.ents, res[i].Entropies...)
			j.reason = res[i].Reason
			r.finish(j)
		}
	}
	return generated, nil
}

func (r *Runner) finish(j *job) {
	j.text = r.tok.Decode(j.tokens)
	if j.done != nil {
		j.done(j)
	}
}

// byteOffsets returns off with off[i] the byte offset in text of the
// boundary before tokens[i] (off[len(tokens)] = len(text)). When the
// tokens' raw bytes spell text exactly (valid UTF-8), offsets are their
// running lengths; otherwise (a replacement character was decoded) each
// boundary is the length of the decoded prefix, capped at len(text).
func byteOffsets(tok tokenizer.Tokenizer, tokens []int, text string) []int {
	off := make([]int, len(tokens)+1)
	raw := make([]byte, 0, len(text))
	for i, id := range tokens {
		raw = append(raw, tok.TokenBytes(id)...)
		off[i+1] = len(raw)
	}
	if bytes.Equal(raw, []byte(text)) {
		return off
	}
	for i := 1; i <= len(tokens); i++ {
		off[i] = min(max(len(tok.Decode(tokens[:i])), off[i-1]), len(text))
	}
	off[len(tokens)] = len(text)
	return off
}

// tokenSpans maps byte spans to token spans: a step starts at the last
// token boundary at or before its start byte and ends at the first token
// boundary at or after its end byte, so a token that straddles two steps
// belongs to the earlier one. Spans are then made disjoint (a start never
// precedes the previous end); a step left with no token of its own is
// merged into the previous one.
func tokenSpans(off []int, spans []abi.Span) []algo.Span {
	n := len(off) - 1
	var out []algo.Span
	prevEnd := 0
	for _, s := range spans {
		start := 0
		for start < n && off[start+1] <= s.Start {
			start++
		}
		end := start
		for end < n && off[end] < s.End {
			end++
		}
		start = max(start, prevEnd)
		if end <= start {
			continue
		}
		out = append(out, algo.Span{Start: start, End: end})
		prevEnd = end
	}
	return out
}

// byteSpans maps token spans to byte spans in the response text.
func byteSpans(off []int, steps []algo.Span) []abi.Span {
	out := make([]abi.Span, len(steps))
	for i, s := range steps {
		out[i] = abi.Span{Start: off[s.Start], End: off[s.End]}
	}
	return out
}
