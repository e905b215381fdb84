package probe

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

func TestWilson(t *testing.T) {
	// 0/10, 10/10 and 5/10 are textbook values; the others were worked
	// out by hand from (p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)
	// (the feasibility probe's 145/244 and 1/156).
	for _, tc := range []struct {
		k, n      int
		low, high float64
	}{
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{5, 10, 0.2366, 0.7634},
		{145, 244, 0.5317, 0.6540},
		{1, 156, 0.0011, 0.0353},
	} {
		lo, hi := Wilson(tc.k, tc.n)
		require.InDelta(t, tc.low, lo, 5e-4, "%d/%d", tc.k, tc.n)
		require.InDelta(t, tc.high, hi, 5e-4, "%d/%d", tc.k, tc.n)
	}
	r := NewRate(0, 0)
	require.Equal(t, Rate{High: 1}, r)
}

func TestRatioAndBootstrap(t *testing.T) {
	ps := []pair{{cleanOK: 2, cleanN: 2, errOK: 1, errN: 2}, {cleanOK: 1, cleanN: 2, errOK: 0, errN: 2}}
	// clean 3/4, erroneous 1/4.
	require.InDelta(t, 3.0, ratio(ps), 1e-12)
	require.True(t, math.IsInf(ratio([]pair{{cleanOK: 1, cleanN: 1, errN: 1}}), 1))
	require.True(t, math.IsNaN(ratio([]pair{{cleanOK: 1, cleanN: 1}})))

	// Many identical failures: every resample has the same ratio.
	same := make([]pair, 50)
	for i := range same {
		same[i] = pair{cleanOK: 3, cleanN: 4, errOK: 1, errN: 4}
	}
	lo, hi := bootstrapRatio(same, 200, rand.New(rand.NewPCG(1, 1)))
	require.InDelta(t, 3.0, lo, 1e-12)
	require.InDelta(t, 3.0, hi, 1e-12)

	// Failures that differ: the interval holds the point estimate and
	// narrows with more failures.
	r := rand.New(rand.NewPCG(2, 2))
	mk := func(n int) []pair {
		out := make([]pair, n)
		for i := range out {
			out[i] = pair{cleanN: 2, errN: 2}
			for range 2 {
				if r.Float64() < 0.6 {
					out[i].cleanOK++
				}
				if r.Float64() < 0.2 {
					out[i].errOK++
				}
			}
		}
		return out
	}
	small, large := mk(100), mk(2000)
	l1, h1 := bootstrapRatio(small, 1000, r)
	l2, h2 := bootstrapRatio(large, 1000, r)
	require.Less(t, l1, ratio(small))
	require.Greater(t, h1, ratio(small))
	require.Less(t, h2-l2, h1-l1)
	require.InDelta(t, 3.0, ratio(large), 0.5)

	// An erroneous rate that is often 0 gives an infinite upper bound.
	rare := make([]pair, 40)
	for i := range rare {
		rare[i] = pair{cleanOK: 1, cleanN: 1, errN: 1}
	}
	rare[0].errOK = 1
	_, hi = bootstrapRatio(rare, 500, r)
	require.True(t, math.IsInf(hi, 1))
}

func TestQuantile(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5}
	require.Equal(t, 1.0, quantile(v, 0))
	require.Equal(t, 5.0, quantile(v, 1))
	require.Equal(t, 3.0, quantile(v, 0.5))
	require.InDelta(t, 1.1, quantile(v, 0.025), 1e-12)
}

func TestPrefixes(t *testing.T) {
	ends := []int{5, 9, 14, 20} // four steps
	r := rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		first     int
		how       string
		clean     int
		erroneous []int // possible erroneous ends; nil: none
	}{
		{1, ErroneousFirst, 0, []int{5}},
		{2, ErroneousFirst, 5, []int{9}},
		{3, ErroneousUniform, 9, []int{14}},
		{1, ErroneousUniform, 0, []int{5, 9, 14}},
		{4, ErroneousUniform, 14, nil},
		{4, ErroneousFirst, 14, nil},
	} {
		seen := map[int]bool{}
		for range 200 {
			c, e, ok := Prefixes(ends, tc.first, tc.how, r)
			require.Equal(t, tc.clean, c)
			require.Equal(t, tc.erroneous != nil, ok)
			if ok {
				require.Contains(t, tc.erroneous, e)
				seen[e] = true
			}
		}
		require.Len(t, seen, len(tc.erroneous), "first %d %s: every erroneous prefix occurs", tc.first, tc.how)
	}
}

func newTok(t testing.TB) tokenizer.Tokenizer {
	t.Helper()
	tok, err := tokenizer.NewChar("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 :=+-?{}\\\n", []string{tokenizer.EndOfText, tokenizer.EndThought})
	require.NoError(t, err)
	return tok
}

func TestStepEnds(t *testing.T) {
	tok := newTok(t)
	text := "Step 1: 4</thought>Step 2: 7</thought>Step 3: \\boxed{9}"
	ids := tok.Encode(text)
	spans := segment(text)
	ends := stepEnds(tok, ids, spans)
	require.Len(t, ends, 3)
	for k, e := range ends {
		require.Equal(t, text[:spans[k].End], tok.Decode(ids[:e]), "step %d", k+1)
	}
	require.Equal(t, 10, ends[0], "</thought> is one token")
}

// The toy task: three steps whose values are the digits of the task's
// answer string; the verifier compares them.
var want = []string{"4", "7", "9"}

func segment(text string) []abi.Span {
	var spans []abi.Span
	start := 0
	for {
		i := strings.Index(text[start:], tokenizer.EndThought)
		if i < 0 {
			break
		}
		end := start + i + len(tokenizer.EndThought)
		spans = append(spans, abi.Span{Start: start, End: end})
		start = end
	}
	if strings.TrimSpace(text[start:]) != "" {
		spans = append(spans, abi.Span{Start: start, End: len(text)})
	}
	return spans
}

func verify(_ context.Context, _ abi.Task, text string, spans []abi.Span) (float64, int, error) {
	first := 0
	for k, s := range spans {
		v := strings.TrimSuffix(strings.TrimSpace(text[s.Start:s.End]), tokenizer.EndThought)
		v = v[strings.Index(v, ":")+2:]
		v = strings.TrimSuffix(strings.TrimPrefix(v, "\\boxed{"), "}")
		if (k >= len(want) || v != want[k]) && first == 0 {
			first = k + 1
		}
	}
	score := 0.0
	if first == 0 && len(spans) == len(want) {
		score = 1
	}
	return score, first, nil
}

// toy is a policy whose steps matter completely: a fresh sample (no
// prefix) is right when its seed is divisible by 4 and otherwise slips at
// step 1+seed%3 and carries the wrong value on; a continuation of a prefix
// whose steps are right finishes right, one of a wrong prefix stays wrong.
// Greedy decoding is right on even task numbers.
type toy struct {
	tok  tokenizer.Tokenizer
	reqs []engine.GenRequest
}

func (p *toy) Tokenizer() tokenizer.Tokenizer { return p.tok }

func (p *toy) Generate(_ context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	out := make([]engine.GenResult, len(reqs))
	for i, req := range reqs {
		p.reqs = append(p.reqs, req)
		var task int
		if _, err := fmt.Sscanf(p.tok.Decode(req.Prompt), "task %d", &task); err != nil {
			return nil, err
		}
		slipAt := 0
		switch {
		case req.Sampling.Temperature == 0:
			if task%2 == 1 {
				slipAt = 2
			}
		case req.Prefix == nil:
			if req.Seed%4 != 0 {
				slipAt = 1 + int(req.Seed%3)
			}
		default:
			pre := p.tok.Decode(req.Prefix)
			if _, first, _ := verify(context.Background(), abi.Task{}, pre, segment(pre)); first > 0 {
				slipAt = first
			}
		}
		done := len(segment(p.tok.Decode(req.Prefix)))
		// The slipped step's tokens were unlikely (log-prob -2, entropy
		// 1 nat); every other token was likely (-0.1, 0.1 nat).
		var ids []int
		var lps, ents []float32
		for k := done; k < len(want); k++ {
			v := want[k]
			if slipAt > 0 && k+1 >= slipAt {
				v = "0"
			}
			if k == len(want)-1 {
				v = "\\boxed{" + v + "}"
			}
			step := p.tok.Encode(fmt.Sprintf("Step %d: %s%s", k+1, v, tokenizer.EndThought))
			lp, h := float32(-0.1), float32(0.1)
			if k+1 == slipAt {
				lp, h = -2, 1
			}
			for range step {
				lps, ents = append(lps, lp), append(ents, h)
			}
			ids = append(ids, step...)
		}
		ids = append(ids, p.tok.EOS())
		lps, ents = append(lps, -0.01), append(ents, 0.01)
		out[i] = engine.GenResult{Tokens: ids, Text: p.tok.Decode(ids), LogProbs: lps, Entropies: ents}
	}
	return out, nil
}

func (p *toy) LogProbs(context.Context, [][]int) ([][]float32, error) { return nil, nil }
func (p *toy) Update(context.Context, engine.Batch) (engine.UpdateStats, error) {
	return engine.UpdateStats{}, nil
}
func (p *toy) Save(string) error { return nil }

func TestRunOnAPolicyWhoseStepsMatter(t *testing.T) {
	for _, how := range []string{ErroneousUniform, ErroneousFirst} {
		t.Run(how, func(t *testing.T) {
			pol := &toy{tok: newTok(t)}
			ts := make([]abi.Task, 40)
			for i := range ts {
				ts[i] = abi.Task{ID: fmt.Sprint(i), Prompt: fmt.Sprintf("task %d", i)}
			}
			rep, err := Run(context.Background(), pol, ts, Setup{
				Render: func(p string) string { return p + "\n" }, Segment: segment, Verify: verify,
			}, Options{Failures: 60, Continuations: 3, Erroneous: how, MaxTokens: 200, Batch: 16})
			require.NoError(t, err)
			require.Equal(t, 40, rep.Tasks)
			require.Equal(t, NewRate(20, 40), rep.Greedy)
			require.Equal(t, 60, rep.Failures)
			require.Equal(t, 80, rep.Sampled.Trials, "two passes of 40 tasks in batches of 16 find 60 failures")
			require.InDelta(t, 0.25, rep.Sampled.Rate, 0.1)
			require.Equal(t, 1.0, rep.Clean.Rate)
			require.Equal(t, 60*3, rep.Clean.Trials)
			require.Equal(t, 0.0, rep.Erroneous.Rate)
			require.Equal(t, (60-rep.NoErroneous)*3, rep.Erroneous.Trials)
			require.Positive(t, rep.NoErroneous, "failures at the last step have no erroneous prefix")
			require.Nil(t, rep.Ratio, "an erroneous rate of 0 makes the ratio infinite")
			require.Len(t, rep.FirstErrors, 3)

			// Every continuation's prefix is the policy's own ids, cut at
			// a step boundary.
			for _, req := range pol.reqs {
				if req.Prefix == nil {
					continue
				}
				pre := pol.tok.Decode(req.Prefix)
				require.Equal(t, req.Prefix, pol.tok.Encode(pre))
				require.True(t, pre == "" || strings.HasSuffix(pre, tokenizer.EndThought), "%q", pre)
			}
			var sb strings.Builder
			require.NoError(t, rep.Write(&sb))
			require.Contains(t, sb.String(), "clean / erroneous            inf")
		})
	}
}

func TestOptionsErrors(t *testing.T) {
	_, err := Options{}.withDefaults()
	require.ErrorContains(t, err, "max_tokens")
	_, err = Options{MaxTokens: 10, Erroneous: "last"}.withDefaults()
	require.ErrorContains(t, err, `erroneous = "last"`)
	o, err := Options{MaxTokens: 10}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, 500, o.Failures)
	require.Equal(t, float32(0.7), o.Temperature)
}

func TestWriteUndefinedRatio(t *testing.T) {
	var sb strings.Builder
	require.NoError(t, Report{Clean: NewRate(0, 10), Erroneous: NewRate(0, 6)}.Write(&sb))
	require.Contains(t, sb.String(), "clean / erroneous            n/a")
	sb.Reset()
	r, lo, hi := 2.0, 1.5, 2.5
	require.NoError(t, Report{Clean: NewRate(4, 10), Erroneous: NewRate(1, 5), Ratio: &r, RatioLow: &lo, RatioHigh: &hi}.Write(&sb))
	require.Contains(t, sb.String(), "clean / erroneous            2.00  [1.50, 2.50]")
}

// TestLocalizersOnFailures scores localizers on the toy policy's failures,
// whose first wrong step is also the step of its unlikely tokens: a
// localizer that reads the step statistics finds every first error, the
// oracle too, step 1 only those at step 1; an answer of 0 and a failed
// call reset at step 1 as in a run and are not the localizer's answers.
func TestLocalizersOnFailures(t *testing.T) {
	pol := &toy{tok: newTok(t)}
	ts := make([]abi.Task, 40)
	for i := range ts {
		ts[i] = abi.Task{ID: fmt.Sprint(i), Prompt: fmt.Sprintf("task %d", i)}
	}
	var reqs []*abi.LocalizeRequest
	lowest := func(_ context.Context, req *abi.LocalizeRequest) (int, string, error) {
		reqs = append(reqs, req)
		best := 0
		for k, st := range req.StepStats {
			if st.MeanLogProb < req.StepStats[best].MeanLogProb {
				best = k
			}
		}
		return best + 1, "", nil
	}
	oracle := func(_ context.Context, req *abi.LocalizeRequest) (int, string, error) {
		return *req.Verdict.FirstError, "", nil
	}
	first := func(context.Context, *abi.LocalizeRequest) (int, string, error) { return 1, "", nil }
	none := func(context.Context, *abi.LocalizeRequest) (int, string, error) { return 0, "", nil }
	fails := func(context.Context, *abi.LocalizeRequest) (int, string, error) { return 0, "", fmt.Errorf("boom") }
	rep, err := Run(context.Background(), pol, ts, Setup{
		Render: func(p string) string { return p + "\n" }, Segment: segment, Verify: verify,
		Localizers: []NamedLocalizer{{"lowest", lowest}, {"oracle", oracle}, {"first", first}, {"none", none}, {"fails", fails}},
	}, Options{Failures: 60, Continuations: 1, MaxTokens: 200, Batch: 16})
	require.NoError(t, err)
	require.Len(t, rep.Localizers, 5)
	atOne := rep.FirstErrors[0]
	require.Positive(t, atOne)
	require.Less(t, atOne, 60)

	// Each request is what a run sends: one statistic per step, over the
	// step's own tokens (no EOS), the verdict's first error, the text.
	require.Len(t, reqs, 60)
	for _, req := range reqs {
		require.Len(t, req.StepStats, len(req.Steps))
		require.Equal(t, req.Response[req.Steps[len(req.Steps)-1].Start:], req.Response[req.Steps[len(req.Steps)-1].Start:req.Steps[len(req.Steps)-1].End])
		fe := *req.Verdict.FirstError
		for k, st := range req.StepStats {
			require.Equal(t, len(pol.tok.Encode(req.Response[req.Steps[k].Start:req.Steps[k].End])), st.Tokens)
			wantLP, wantH := -0.1, 0.1
			if k+1 == fe {
				wantLP, wantH = -2, 1
			}
			require.InDelta(t, wantLP, st.MeanLogProb, 1e-6)
			require.InDelta(t, wantLP, st.MinLogProb, 1e-6)
			require.InDelta(t, wantH, *st.MeanEntropy, 1e-6)
		}
	}

	byName := map[string]LocalizerScore{}
	for _, l := range rep.Localizers {
		byName[l.Name] = l
	}
	for _, name := range []string{"lowest", "oracle"} {
		l := byName[name]
		require.Equal(t, 60, l.Answered, name)
		require.Equal(t, NewRate(60, 60), l.Precision, name)
		require.Equal(t, NewRate(60, 60), l.Recall, name)
		require.Equal(t, NewRate(60, 60), l.Clean, name)
		require.Equal(t, rep.FirstErrors, l.Steps, name)
	}
	l := byName["first"]
	require.Equal(t, NewRate(atOne, 60), l.Precision)
	require.Equal(t, NewRate(atOne, 60), l.Recall)
	require.Equal(t, NewRate(60, 60), l.Clean, "step 1 keeps no prefix: always clean")
	for _, name := range []string{"none", "fails"} {
		l := byName[name]
		require.Zero(t, l.Answered, name)
		require.Equal(t, NewRate(0, 0), l.Precision, name)
		require.Equal(t, NewRate(atOne, 60), l.Recall, "%s resets at step 1", name)
		require.Equal(t, []int{60}, l.Steps, name)
	}
	require.Equal(t, 60, byName["fails"].Errors)
	require.Contains(t, byName["fails"].FirstError, "boom")
	require.Zero(t, byName["none"].Errors)

	var sb strings.Builder
	require.NoError(t, rep.Write(&sb))
	require.Contains(t, sb.String(), "localizers on the 60 failures")
	require.Contains(t, sb.String(), "60 calls failed, the first: task")
}
