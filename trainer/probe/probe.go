// Package probe measures the mechanism that step-level resets rely on:
// whether a policy's answers depend on its steps. It samples failed
// solutions at the RL sampling settings and, for each failure, samples
// continuations from the prefix just before the verifier's first wrong
// step (clean) and from a prefix that includes it (erroneous). When the
// steps matter, clean-prefix continuations succeed clearly more often: the
// paper reports 28.7% against 16.3%. When they succeed about equally, a
// reset to before the first error buys nothing over a random one, and SRPO
// cannot be told apart from RRPO.
//
// Prefixes are token-exact: the policy's own token ids up to the end of a
// step, never re-tokenised text, as the trainer's resets are. The package
// knows nothing of task families; the caller gives the tasks, the prompt
// template, the segmenter and the verifier.
package probe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/rollout"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Ways to choose the erroneous prefix of a failure whose first wrong step
// is f of n.
const (
	// ErroneousUniform ends the prefix after step j, j uniform in f..n-1:
	// the erroneous resets that a random localizer (RRPO) makes.
	ErroneousUniform = "uniform"
	// ErroneousFirst ends it right after step f, the erroneous prefix
	// closest to the clean one.
	ErroneousFirst = "first"
)

// Options configure a probe. Zero fields take the defaults written on
// them, except MaxTokens, which is required.
type Options struct {
	// Failures is how many failed samples with a wrong step are probed;
	// default 500. Sampling stops once it has that many (or after
	// MaxPasses passes over the tasks).
	Failures int `json:"failures"`
	// MaxPasses bounds the sampled solutions per task; default 8.
	MaxPasses int `json:"max_passes"`
	// Continuations sampled from each prefix; default 2.
	Continuations int `json:"continuations"`
	// Erroneous is ErroneousUniform (default) or ErroneousFirst.
	Erroneous string `json:"erroneous"`
	// Temperature and TopP of every sample; default 0.7 and 0.95, the
	// paper's RL settings.
	Temperature float32 `json:"temperature"`
	TopP        float32 `json:"top_p"`
	// MaxTokens is the model's context: prompt, prefix and continuation
	// together; required.
	MaxTokens int `json:"max_tokens"`
	// Seed of the samples and of the bootstrap; default 1.
	Seed uint64 `json:"seed"`
	// Bootstrap resamples of the failures for the ratio's interval;
	// default 2000.
	Bootstrap int `json:"bootstrap"`
	// Batch is how many requests go to one Generate call; default 256.
	Batch int `json:"batch"`
}

func (o Options) withDefaults() (Options, error) {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.Failures, 500)
	def(&o.MaxPasses, 8)
	def(&o.Continuations, 2)
	def(&o.Bootstrap, 2000)
	def(&o.Batch, 256)
	if o.Erroneous == "" {
		o.Erroneous = ErroneousUniform
	}
	if o.Temperature == 0 {
		o.Temperature = 0.7
	}
	if o.TopP == 0 {
		o.TopP = 0.95
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"failures", o.Failures}, {"max_passes", o.MaxPasses}, {"continuations", o.Continuations}, {"bootstrap", o.Bootstrap}, {"batch", o.Batch}, {"max_tokens", o.MaxTokens}} {
		if f.v <= 0 {
			errs = append(errs, fmt.Errorf("probe: %s = %d must be > 0", f.name, f.v))
		}
	}
	if o.Erroneous != ErroneousUniform && o.Erroneous != ErroneousFirst {
		errs = append(errs, fmt.Errorf("probe: erroneous = %q must be %q or %q", o.Erroneous, ErroneousUniform, ErroneousFirst))
	}
	if o.Temperature < 0 || o.TopP < 0 || o.TopP > 1 {
		errs = append(errs, fmt.Errorf("probe: temperature %v must be >= 0 and top_p %v in [0, 1]", o.Temperature, o.TopP))
	}
	return o, errors.Join(errs...)
}

// Verifier grades a response to a task, given its step spans: the score
// (1 is right) and the first wrong step (0: none).
type Verifier func(ctx context.Context, t abi.Task, response string, steps []abi.Span) (score float64, firstError int, err error)

// Localizer answers a localization request as a run's localizer would:
// the step to reset at (0: no erroneous step found), the fallback rule
// that chose it when the strategy itself did not ("" when it did).
type Localizer func(ctx context.Context, req *abi.LocalizeRequest) (step int, fallback string, err error)

// NamedLocalizer is a localizer scored by the probe, under a label.
type NamedLocalizer struct {
	Name     string
	Localize Localizer
}

// Setup is what a probe needs besides the policy and the tasks.
type Setup struct {
	// Render turns a task prompt into the text the policy continues (the
	// run's data template).
	Render func(prompt string) string
	// Segment returns the byte spans of the steps of a response.
	Segment func(response string) []abi.Span
	Verify  Verifier
	// Localizers, when given, are each asked to localize every probed
	// failure, with the request a run would send (the step statistics
	// from the sampled tokens' log-probs and entropies, the verdict with
	// its first error), and scored against the first wrong step
	// (Report.Localizers).
	Localizers []NamedLocalizer
}

// LocalizerScore scores a localizer on the probed failures against the
// verifier's first wrong step e. Precision counts its own answers (no
// fallback) at k = e; Recall every failure reset at k = e (a fallback's
// step too, as a run would reset there; an answer of 0 resets at 1);
// Clean the failures reset at k <= e, whose kept prefix holds no wrong
// step.
type LocalizerScore struct {
	Name      string `json:"name"`
	Answered  int    `json:"answered"`
	Precision Rate   `json:"precision"`
	Recall    Rate   `json:"recall"`
	Clean     Rate   `json:"clean_prefix"`
	// Steps is the histogram of the chosen steps (index k-1).
	Steps []int `json:"steps"`
	// Errors counts failed calls (reset at step 1, as in a run), and
	// FirstError shows the first of them.
	Errors     int    `json:"errors,omitempty"`
	FirstError string `json:"first_error,omitempty"`
}

// Report is the outcome of a probe. Rates carry 95% Wilson intervals; the
// ratio's interval is a bootstrap over failures.
type Report struct {
	Tasks int `json:"tasks"`
	// Greedy is pass@1 with greedy decoding over the tasks, Sampled over
	// every solution sampled to find the failures.
	Greedy  Rate `json:"greedy_pass1"`
	Sampled Rate `json:"sampled_pass1"`
	// Failures were probed; StoppedEarly failed samples had no wrong step
	// (they stopped early) and were not. FirstErrors is the histogram of
	// the probed failures' first wrong steps (index k-1).
	Failures     int   `json:"failures"`
	StoppedEarly int   `json:"stopped_early"`
	FirstErrors  []int `json:"first_errors"`
	// Clean counts the continuations from the prefix just before the
	// first wrong step, Erroneous those from a prefix that includes it. A
	// failure whose first wrong step is its last has no erroneous prefix
	// (there is nothing after it to resample); NoErroneous counts them.
	Clean       Rate `json:"clean"`
	Erroneous   Rate `json:"erroneous"`
	NoErroneous int  `json:"no_erroneous"`
	// Ratio is Clean.Rate / Erroneous.Rate with its bootstrap interval;
	// null when undefined or infinite (an erroneous rate of 0).
	Ratio     *float64 `json:"ratio"`
	RatioLow  *float64 `json:"ratio_low"`
	RatioHigh *float64 `json:"ratio_high"`
	// Localizers scores Setup.Localizers on the probed failures.
	Localizers []LocalizerScore `json:"localizers,omitempty"`
	Options    Options          `json:"options"`
	Seconds    float64          `json:"seconds"`
}

// failure is one failed sample with a wrong step.
type failure struct {
	task   int
	prompt []int
	tokens []int // response ids, without a final EOS
	ends   []int // ends[k-1]: token index just after step k
	first  int
	// text, spans and stats make its localization request.
	text  string
	spans []abi.Span
	stats []abi.StepStats
}

// Run probes pol on the tasks.
func Run(ctx context.Context, pol engine.Policy, tasks []abi.Task, s Setup, opts Options) (Report, error) {
	start := time.Now()
	o, err := opts.withDefaults()
	if err != nil {
		return Report{}, err
	}
	if len(tasks) == 0 {
		return Report{}, errors.New("probe: no tasks")
	}
	tok := pol.Tokenizer()
	prompts := make([][]int, len(tasks))
	for i, t := range tasks {
		prompts[i] = tok.Encode(s.Render(t.Prompt))
		if len(prompts[i]) == 0 || len(prompts[i]) >= o.MaxTokens {
			return Report{}, fmt.Errorf("probe: task %s: the prompt is %d tokens, the context %d", t.ID, len(prompts[i]), o.MaxTokens)
		}
	}
	rep := Report{Tasks: len(tasks), Options: o}
	gen := &generator{pol: pol, tok: tok, o: o}

	// Greedy pass@1.
	var reqs []engine.GenRequest
	for i := range tasks {
		reqs = append(reqs, gen.request(prompts[i], nil, 0, 0))
	}
	res, err := gen.run(ctx, reqs)
	if err != nil {
		return rep, err
	}
	right := 0
	for i, r := range res {
		text := gen.text(r)
		score, _, err := s.Verify(ctx, tasks[i], text, s.Segment(text))
		if err != nil {
			return rep, err
		}
		if score == 1 {
			right++
		}
	}
	rep.Greedy = NewRate(right, len(tasks))

	// Sample solutions, a pass over the tasks at a time, in batches, until
	// there are enough failures with a wrong step.
	var fails []failure
	right, drawn := 0, 0
	for pass := 0; pass < o.MaxPasses && len(fails) < o.Failures; pass++ {
		for lo := 0; lo < len(tasks) && len(fails) < o.Failures; lo += o.Batch {
			hi := min(lo+o.Batch, len(tasks))
			reqs = reqs[:0]
			for i := lo; i < hi; i++ {
				seed := o.Seed*0x9e3779b97f4a7c15 ^ uint64(pass)<<40 ^ uint64(i)
				reqs = append(reqs, gen.request(prompts[i], nil, o.Temperature, seed))
			}
			res, err := gen.run(ctx, reqs)
			if err != nil {
				return rep, err
			}
			for j, r := range res {
				i := lo + j
				ids := gen.strip(r.Tokens)
				text := tok.Decode(ids)
				spans := s.Segment(text)
				score, first, err := s.Verify(ctx, tasks[i], text, spans)
				if err != nil {
					return rep, err
				}
				drawn++
				switch {
				case score == 1:
					right++
				case first == 0 || first > len(spans):
					rep.StoppedEarly++
				default:
					f := failure{task: i, prompt: prompts[i], tokens: ids, ends: stepEnds(tok, ids, spans), first: first, text: text, spans: spans}
					if len(s.Localizers) > 0 {
						f.stats = stepStats(r, len(ids), f.ends)
					}
					fails = append(fails, f)
				}
			}
		}
	}
	rep.Sampled = NewRate(right, drawn)
	if len(fails) > o.Failures {
		fails = fails[:o.Failures]
	}
	rep.Failures = len(fails)
	if len(fails) == 0 {
		rep.Seconds = time.Since(start).Seconds()
		return rep, fmt.Errorf("probe: no failure with a wrong step in %d samples (sampled pass@1 %.3f)", drawn, rep.Sampled.Rate)
	}

	if rep.Localizers, err = scoreLocalizers(ctx, s.Localizers, tasks, fails, o.Seed); err != nil {
		return rep, err
	}

	// Continuations from the clean and the erroneous prefix of each.
	r := rand.New(rand.NewPCG(o.Seed, 0x9b0be))
	type cont struct {
		fail  int
		clean bool
		pre   []int
	}
	var conts []cont
	pairs := make([]pair, len(fails))
	for fi, f := range fails {
		rep.FirstErrors = count(rep.FirstErrors, f.first)
		clean, bad, ok := Prefixes(f.ends, f.first, o.Erroneous, r)
		for range o.Continuations {
			conts = append(conts, cont{fi, true, f.tokens[:clean]})
		}
		if !ok {
			rep.NoErroneous++
			continue
		}
		for range o.Continuations {
			conts = append(conts, cont{fi, false, f.tokens[:bad]})
		}
	}
	for lo := 0; lo < len(conts); lo += o.Batch {
		hi := min(lo+o.Batch, len(conts))
		reqs = reqs[:0]
		for k := lo; k < hi; k++ {
			f := fails[conts[k].fail]
			reqs = append(reqs, gen.request(f.prompt, conts[k].pre, o.Temperature, o.Seed*0xbf58476d1ce4e5b9^uint64(k)))
		}
		res, err := gen.run(ctx, reqs)
		if err != nil {
			return rep, err
		}
		for j, rr := range res {
			c := conts[lo+j]
			f := fails[c.fail]
			ids := append(append([]int(nil), c.pre...), gen.strip(rr.Tokens)...)
			text := tok.Decode(ids)
			score, _, err := s.Verify(ctx, tasks[f.task], text, s.Segment(text))
			if err != nil {
				return rep, err
			}
			p := &pairs[c.fail]
			ok := 0
			if score == 1 {
				ok = 1
			}
			if c.clean {
				p.cleanN++
				p.cleanOK += ok
			} else {
				p.errN++
				p.errOK += ok
			}
		}
	}
	var tot pair
	for _, p := range pairs {
		tot.cleanOK += p.cleanOK
		tot.cleanN += p.cleanN
		tot.errOK += p.errOK
		tot.errN += p.errN
	}
	rep.Clean = NewRate(tot.cleanOK, tot.cleanN)
	rep.Erroneous = NewRate(tot.errOK, tot.errN)
	lo, hi := bootstrapRatio(pairs, o.Bootstrap, r)
	rep.Ratio, rep.RatioLow, rep.RatioHigh = finite(ratio(pairs)), finite(lo), finite(hi)
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// stepStats are the step statistics a run would send a localizer for a
// sampled response of n tokens (a final EOS dropped) whose step k ends
// at token ends[k-1]: rollout.StepStats over its sampling-time log-probs
// and entropies.
func stepStats(r engine.GenResult, n int, ends []int) []abi.StepStats {
	if len(r.LogProbs) < n {
		return nil
	}
	t := algo.Trajectory{Tokens: r.Tokens[:n], LogProbs: r.LogProbs[:n]}
	if len(r.Entropies) >= n {
		t.Entropies = r.Entropies[:n]
	}
	start := 0
	for _, e := range ends {
		t.Steps = append(t.Steps, algo.Span{Start: start, End: e})
		start = e
	}
	return rollout.StepStats(&t)
}

// scoreLocalizers asks every localizer to localize every failure and
// scores it against the failure's first wrong step.
func scoreLocalizers(ctx context.Context, locs []NamedLocalizer, tasks []abi.Task, fails []failure, seed uint64) ([]LocalizerScore, error) {
	var out []LocalizerScore
	for _, l := range locs {
		sc := LocalizerScore{Name: l.Name}
		hits, answeredHits, clean := 0, 0, 0
		for fi, f := range fails {
			first := f.first
			req := &abi.LocalizeRequest{Task: tasks[f.task], Response: f.text, Steps: f.spans,
				Verdict: &abi.Verdict{Status: abi.StatusOK, FirstError: &first}, StepStats: f.stats,
				Seed: seed*0x94d049bb133111eb ^ uint64(fi)}
			k, fallback, err := l.Localize(ctx, req)
			if cerr := ctx.Err(); cerr != nil {
				return nil, cerr
			}
			// As in a run: a failed call resets at step 1 (fallback
			// "error"), and so does an answer of no erroneous step.
			switch {
			case err != nil:
				k, fallback = 1, "error"
				sc.Errors++
				if sc.FirstError == "" {
					sc.FirstError = fmt.Sprintf("task %s: %v", tasks[f.task].ID, err)
				}
			case k < 1 || k > len(f.spans):
				if fallback == "" {
					fallback = "no-error"
				}
				k = 1
			}
			sc.Steps = count(sc.Steps, k)
			if fallback == "" {
				sc.Answered++
				if k == first {
					answeredHits++
				}
			}
			if k == first {
				hits++
			}
			if k <= first {
				clean++
			}
		}
		sc.Precision = NewRate(answeredHits, sc.Answered)
		sc.Recall, sc.Clean = NewRate(hits, len(fails)), NewRate(clean, len(fails))
		out = append(out, sc)
	}
	return out, nil
}

// Prefixes returns the token lengths of a failure's clean prefix (up to
// the end of step first-1; 0 when the first step is wrong) and of its
// erroneous prefix (up to the end of step j >= first, chosen by how, and
// never the last step, after which nothing is left to resample); ok is
// false when there is no erroneous prefix. ends[k-1] is the token index
// just after step k.
func Prefixes(ends []int, first int, how string, r *rand.Rand) (clean, erroneous int, ok bool) {
	if first >= 2 {
		clean = ends[first-2]
	}
	n := len(ends)
	if first >= n {
		return clean, 0, false
	}
	j := first
	if how == ErroneousUniform {
		j = first + r.IntN(n-first)
	}
	return clean, ends[j-1], true
}

// stepEnds maps the byte spans of the steps of the text that ids decode to
// onto token boundaries: the end of step k is the first boundary at or
// after its last byte, so a token that straddles two steps belongs to the
// earlier one, as in the trainer's resets.
func stepEnds(tok tokenizer.Tokenizer, ids []int, spans []abi.Span) []int {
	off := make([]int, len(ids)+1)
	for i, id := range ids {
		off[i+1] = off[i] + len(tok.TokenBytes(id))
	}
	ends := make([]int, len(spans))
	t := 0
	for k, s := range spans {
		for t < len(ids) && off[t] < s.End {
			t++
		}
		ends[k] = t
	}
	return ends
}

// generator issues requests at the probe's settings.
type generator struct {
	pol engine.Policy
	tok tokenizer.Tokenizer
	o   Options
}

func (g *generator) request(prompt, prefix []int, temperature float32, seed uint64) engine.GenRequest {
	topP := g.o.TopP
	if temperature == 0 {
		topP = 0
	}
	stop := []int{}
	if eos := g.tok.EOS(); eos >= 0 {
		stop = append(stop, eos)
	}
	return engine.GenRequest{Prompt: prompt, Prefix: prefix, Seed: seed, Sampling: engine.Sampling{
		Temperature: temperature, TopP: topP, MaxNewTokens: max(1, g.o.MaxTokens-len(prompt)-len(prefix)), StopTokens: stop}}
}

func (g *generator) run(ctx context.Context, reqs []engine.GenRequest) ([]engine.GenResult, error) {
	res, err := g.pol.Generate(ctx, reqs)
	if err != nil {
		return nil, fmt.Errorf("probe: generate: %w", err)
	}
	return res, nil
}

// strip drops a final EOS.
func (g *generator) strip(ids []int) []int {
	if n := len(ids); n > 0 && ids[n-1] == g.tok.EOS() {
		return ids[:n-1]
	}
	return ids
}

func (g *generator) text(r engine.GenResult) string { return g.tok.Decode(g.strip(r.Tokens)) }

// count adds one to histogram entry v-1.
func count(h []int, v int) []int {
	for len(h) < v {
		h = append(h, 0)
	}
	h[v-1]++
	return h
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// Write prints the report as a short table.
func (rep Report) Write(w io.Writer) error {
	var b strings.Builder
	rate := func(name string, r Rate) {
		fmt.Fprintf(&b, "%-28s %6.3f  [%5.3f, %5.3f]  %d/%d\n", name, r.Rate, r.Low, r.High, r.Successes, r.Trials)
	}
	rate("greedy pass@1", rep.Greedy)
	rate(fmt.Sprintf("sampled pass@1 (T=%.2g)", rep.Options.Temperature), rep.Sampled)
	fmt.Fprintf(&b, "failures probed              %d (first wrong step histogram %v; %d stopped early, %d with the last step first wrong)\n",
		rep.Failures, rep.FirstErrors, rep.StoppedEarly, rep.NoErroneous)
	rate("clean-prefix success", rep.Clean)
	rate("erroneous-prefix success", rep.Erroneous)
	if rep.Ratio == nil && !(rep.Clean.Rate > 0 && rep.Erroneous.Trials > 0) {
		b.WriteString("clean / erroneous            n/a (no clean success or no erroneous prefix)\n")
	} else {
		fmt.Fprintf(&b, "clean / erroneous            %s  [%s, %s]\n", num(rep.Ratio), num(rep.RatioLow), num(rep.RatioHigh))
	}
	if len(rep.Localizers) > 0 {
		fmt.Fprintf(&b, "localizers on the %d failures, against the first wrong step e (95%% Wilson intervals):\n", rep.Failures)
		w := len("localizer")
		for _, l := range rep.Localizers {
			w = max(w, len(l.Name))
		}
		fmt.Fprintf(&b, "  %-*s %9s  %-23s %-23s %-23s %s\n", w, "localizer", "answered", "precision (own, k = e)", "recall (k = e)", "clean prefix (k <= e)", "chosen steps")
		cell := func(r Rate) string { return fmt.Sprintf("%.3f [%.3f, %.3f]", r.Rate, r.Low, r.High) }
		for _, l := range rep.Localizers {
			fmt.Fprintf(&b, "  %-*s %9d  %-23s %-23s %-23s %v\n", w, l.Name, l.Answered, cell(l.Precision), cell(l.Recall), cell(l.Clean), l.Steps)
			if l.Errors > 0 {
				fmt.Fprintf(&b, "  %-*s %d calls failed, the first: %s\n", w, "", l.Errors, l.FirstError)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// num formats a ratio or a bound; nil is an infinite one (an erroneous
// rate of 0).
func num(v *float64) string {
	if v == nil {
		return "inf"
	}
	return fmt.Sprintf("%.2f", *v)
}
