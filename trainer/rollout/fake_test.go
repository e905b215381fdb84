package rollout

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/localize"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// byteTok has one token per byte and EOS 256.
type byteTok struct{}

func (byteTok) Encode(s string) []int {
	ids := make([]int, len(s))
	for i := range len(s) {
		ids[i] = int(s[i])
	}
	return ids
}
func (byteTok) Decode(ids []int) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 256 {
			b = append(b, byte(id))
		}
	}
	return string(b)
}
func (byteTok) TokenBytes(id int) []byte {
	if id >= 256 {
		return nil
	}
	return []byte{byte(id)}
}
func (byteTok) VocabSize() int             { return 257 }
func (byteTok) TokenID(string) (int, bool) { return 0, false }
func (byteTok) EOS() int                   { return 256 }

// fakePolicy writes steps "sN xD</thought>" and a final step
// "sN \boxed{D}</thought>". The prompt's first byte p sets the chance
// (p%5)/4 that the boxed digit is 1. Output depends only on the request
// and its seed.
type fakePolicy struct {
	mu    sync.Mutex
	calls [][]engine.GenRequest
}

func (f *fakePolicy) Tokenizer() tokenizer.Tokenizer { return byteTok{} }

func (f *fakePolicy) Generate(_ context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, reqs)
	f.mu.Unlock()
	out := make([]engine.GenResult, len(reqs))
	for i, r := range reqs {
		rng := rand.New(rand.NewPCG(r.Seed, 7))
		pSucc := float64(r.Prompt[0]%5) / 4
		done := strings.Count(byteTok{}.Decode(r.Prefix), "</thought>")
		var text strings.Builder
		thought := len(r.Sampling.StopStrings) > 0
		for {
			if done >= 2 || rng.IntN(3) == 0 {
				d := 0
				if rng.Float64() < pSucc {
					d = 1
				}
				fmt.Fprintf(&text, "s%d \\boxed{%d}</thought>", done, d)
				break
			}
			fmt.Fprintf(&text, "s%d x%d</thought>", done, rng.IntN(10))
			done++
			if thought {
				break
			}
		}
		ids := byteTok{}.Encode(text.String())
		reason := engine.StopString
		if !thought {
			reason = engine.StopToken
		}
		if len(ids) > r.Sampling.MaxNewTokens {
			ids, reason = ids[:r.Sampling.MaxNewTokens], engine.StopLength
		}
		lp := make([]float32, len(ids))
		for k := range lp {
			lp[k] = -0.5
		}
		out[i] = engine.GenResult{Tokens: ids, Text: byteTok{}.Decode(ids), LogProbs: lp, Reason: reason}
	}
	return out, nil
}

// fakeVerifier scores 1 when the last boxed digit is 1, reports the first
// error at step 2 of wrong answers, and times out on responses containing
// "x9".
type fakeVerifier struct{}

func (fakeVerifier) Verify(_ context.Context, r *abi.VerifyRequest) (abi.Verdict, error) {
	if strings.Contains(r.Response, "x9") {
		return abi.Verdict{}, &host.PluginError{Plugin: "fake", Op: "verify", Status: abi.StatusTimeout}
	}
	box, _ := localize.LastBoxed(r.Response)
	if box == "1" {
		zero := 0
		return abi.Verdict{Score: 1, Status: abi.StatusOK, FirstError: &zero, SHA256: "abc"}, nil
	}
	two := 2
	return abi.Verdict{Score: 0, Status: abi.StatusOK, FirstError: &two, SHA256: "abc"}, nil
}

// delimSegmenter splits after each "</thought>".
type delimSegmenter struct{}

func (delimSegmenter) Segment(_ context.Context, r *abi.SegmentRequest) ([]abi.Span, error) {
	var spans []abi.Span
	start := 0
	for {
		i := strings.Index(r.Response[start:], "</thought>")
		if i < 0 {
			break
		}
		end := start + i + len("</thought>")
		spans = append(spans, abi.Span{Start: start, End: end})
		start = end
	}
	if start < len(r.Response) {
		spans = append(spans, abi.Span{Start: start, End: len(r.Response)})
	}
	return spans, nil
}

// lastStep localizes every parent at its last step.
type lastStep struct{}

func (lastStep) Localize(_ context.Context, r *abi.LocalizeRequest) (abi.Localization, error) {
	return abi.Localization{Step: len(r.Steps)}, nil
}

var (
	_ host.Verifier  = fakeVerifier{}
	_ host.Segmenter = delimSegmenter{}
	_ host.Localizer = lastStep{}
)
