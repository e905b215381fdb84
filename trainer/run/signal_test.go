package run

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/host"
	"github.com/rewind-rl/rewind/sdk/abi"
	"github.com/rewind-rl/rewind/trainer/algo"
	"github.com/rewind-rl/rewind/trainer/data"
	"github.com/rewind-rl/rewind/trainer/engine"
)

// The learning-signal tests check that reward actually moves the policy,
// end to end, so that a null result of a comparison cannot come from a
// wrong sign, mask, normaliser or log-prob in the training path.

// targetVerifier is the builtin verifier of the learning-signal tests: the
// score is the fraction of 'a' among the response's characters other than
// the step delimiter '}', over at least targetLen characters (so a short
// response cannot score 1). A random model writes 'a' about once in seven
// tokens and special tokens decode to several characters, so its reward is
// low, and the reward is dense: each extra 'a' raises it. The first wrong
// step is the first step with another character, or the last step when
// every step is clean but the response is too short.
type targetVerifier struct{}

const (
	targetVerifierName = "runtest-target"
	targetLen          = 6
)

func init() {
	host.RegisterBuiltin(abi.KindVerifier, targetVerifierName, func(map[string]any) (any, error) {
		return targetVerifier{}, nil
	})
}

var _ host.Verifier = targetVerifier{}

func (targetVerifier) Verify(_ context.Context, req *abi.VerifyRequest) (abi.Verdict, error) {
	clean := func(s string) (a, n int) {
		for _, r := range s {
			if r == '}' {
				continue
			}
			n++
			if r == 'a' {
				a++
			}
		}
		return a, n
	}
	a, n := clean(req.Response)
	v := abi.Verdict{Score: float64(a) / float64(max(n, targetLen)), Status: abi.StatusOK}
	fe := 0
	for i, s := range req.Steps {
		if sa, sn := clean(req.Response[s.Start:s.End]); sa != sn {
			fe = i + 1
			break
		}
	}
	if fe == 0 && v.Score < 1 {
		fe = len(req.Steps)
	}
	v.FirstError = &fe
	v.Detail = fmt.Sprintf("%d/%d", a, n)
	return v, nil
}

func TestTargetVerifier(t *testing.T) {
	tests := []struct {
		resp  string
		steps []abi.Span
		score float64
		fe    int
	}{
		{"aaa}aaa}", []abi.Span{{Start: 0, End: 4}, {Start: 4, End: 8}}, 1, 0},
		{"aaa}ab}", []abi.Span{{Start: 0, End: 4}, {Start: 4, End: 7}}, 4.0 / 6, 2},
		{"aa}", []abi.Span{{Start: 0, End: 3}}, 2.0 / 6, 1},
		{"bbbbaaaa", []abi.Span{{Start: 0, End: 8}}, 0.5, 1},
		{"", nil, 0, 0},
	}
	for _, tt := range tests {
		v, err := targetVerifier{}.Verify(context.Background(), &abi.VerifyRequest{Response: tt.resp, Steps: tt.steps})
		require.NoError(t, err)
		require.InDelta(t, tt.score, v.Score, 1e-12, tt.resp)
		require.Equal(t, tt.fe, *v.FirstError, tt.resp)
	}
}

// signalConfig trains a randomly initialised nano model on the target
// task: 4 prompts per step, thought mode with at most 3 steps of 4
// tokens, temperature 1, AdamW at 1e-2.
func signalConfig(t *testing.T, preset, dir, train string, steps int) Config {
	t.Helper()
	c, err := Preset(preset)
	require.NoError(t, err)
	c.Run.Dir, c.Run.Steps, c.Run.CheckpointEvery, c.Run.Log, c.Run.Seed = dir, steps, 0, "none", 11
	c.Run.LogRollouts = true
	c.Model = ModelConfig{Engine: "cpu", Preset: "nano", Tokenizer: "char:ab}"}
	c.Data.Train, c.Data.BatchPrompts = train, 4
	c.Data.Template = data.Template{Kind: data.TemplatePlain}
	c.Sampling.Temperature, c.Sampling.TopP, c.Sampling.TopK = 1, 1, 0
	c.Sampling.MaxSteps, c.Sampling.MaxStepTokens, c.Sampling.MaxTokens = 3, 4, 12
	c.Sampling.Delimiter = "}"
	c.Reward.Verifier = targetVerifierName
	c.Reward.Models = nil
	c.Optim.LR, c.Optim.WarmupSteps, c.Optim.Schedule = 1e-2, 0, "constant"
	require.NoError(t, c.Validate())
	return c
}

// freshRewards returns the mean reward of the fresh trajectories of each
// step (index 0 is step 1), read from rollouts.jsonl.
func freshRewards(t *testing.T, dir string) []float64 {
	t.Helper()
	steps := readRollouts(t, dir)
	out := make([]float64, len(steps))
	for s, lines := range steps {
		sum, n := 0.0, 0
		for _, l := range lines {
			if l.Origin == algo.OriginFresh && l.Status.Usable() {
				require.NotNil(t, l.Reward, "a usable verdict's reward")
				sum += *l.Reward
				n++
			}
		}
		require.Positive(t, n, "step %d has no usable fresh trajectory", s)
		out[s-1] = sum / float64(n)
	}
	return out
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// TestLearningSignal trains a random nano model with the real Train path
// (rollout, verifier plugin through the host registry, assembly, loss
// batch, engine update) and requires the fresh-sample reward of the last
// 5 of 25 steps to exceed that of the first 5 by at least 0.3.
//
// Why 0.3 cannot pass by chance: each window pools at least 5 steps x 4
// prompts x 8 fresh samples = 160 rewards in [0, 1]. If the updates did
// not change the policy the two windows would be independent draws from
// the same distribution, and by Hoeffding's inequality their means
// differ by 0.3 or more with probability at most
// 2 exp(-2 * 0.3^2 * 160 / 4) = 1.5e-3 (and a policy made worse by a wrong
// sign moves the difference the other way). The run is seeded, so the
// outcome is deterministic; the bound says the margin is not luck of the
// seed. Each arm also has to end above 0.5, about twice the random
// model's reward.
func TestLearningSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	var b strings.Builder
	for i := range 8 {
		fmt.Fprintf(&b, `{"id":"t%d","prompt":"%s","answer":"a"}`+"\n", i, strings.Repeat("ab", 1+i%3))
	}
	train := writeFile(t, "train.jsonl", b.String())
	const steps, window = 25, 5
	for _, preset := range []string{"grpo", "srpo-oracle", "rrpo"} {
		t.Run(preset, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), preset)
			cfg := signalConfig(t, preset, dir, train, steps)
			_, err := Train(context.Background(), Options{Config: cfg})
			require.NoError(t, err)
			r := freshRewards(t, dir)
			require.Len(t, r, steps)
			first, last := mean(r[:window]), mean(r[steps-window:])
			t.Logf("%s: fresh reward steps 1-%d %.3f, steps %d-%d %.3f", preset, window, first, steps-window+1, steps, last)
			require.Greater(t, last-first, 0.3, "reward did not rise: %v", r)
			require.Greater(t, last, 0.5, "reward did not rise: %v", r)
		})
	}
}

// TestUpdateMovesLogProbs builds a batch with algo.BuildBatch from
// assembled groups (a GRPO group, and a 1x4 base plus reset group whose
// resets train on their suffix only) and takes one engine Update: the
// log-probability of every positively advantaged trajectory's trained
// tokens must rise and that of every negatively advantaged one fall; the
// untrained prefix of a reset is not what is compared.
func TestUpdateMovesLogProbs(t *testing.T) {
	if testing.Short() {
		t.Skip("opens a model")
	}
	c := signalConfig(t, "srpo", filepath.Join(t.TempDir(), "unused"), "unused.jsonl", 1)
	init, err := initModel(c, filepath.Join(t.TempDir(), "init"))
	require.NoError(t, err)

	tests := []struct {
		preset string
		trajs  func(enc func(string) []int) []algo.Trajectory
	}{
		{"grpo", func(enc func(string) []int) []algo.Trajectory {
			var ts []algo.Trajectory
			for i, s := range []string{"aaa}aaa}", "bbb}bab}", "aaa}aab}", "b}bbbb}", "aaaa}aa}", "abb}bb}", "aa}aaaa}", "bbbbbb}"} {
				ts = append(ts, signalTraj(enc, i, s, 0, 0))
			}
			return ts
		}},
		{"srpo", func(enc func(string) []int) []algo.Trajectory {
			// Fresh: base 0; parent 1 (the first failure, first error at
			// step 2); base 2, 3, 4.
			ts := []algo.Trajectory{
				signalTraj(enc, 0, "aaa}aaa}", 0, 0), signalTraj(enc, 1, "aaa}bbb}", 0, 0),
				signalTraj(enc, 2, "bbb}bbb}", 0, 0), signalTraj(enc, 3, "aa}aaaa}", 0, 0),
				signalTraj(enc, 4, "b}bbbbb}", 0, 0),
			}
			// Resets from step 2 keep the parent's "aaa}" (4 tokens).
			for i, s := range []string{"aaa}aaa}", "aaa}bba}", "aaa}aaaa}", "aaa}bbbb}"} {
				tr := signalTraj(enc, i, s, 2, 4)
				tr.Origin, tr.Parent = algo.OriginReset, 1
				ts = append(ts, tr)
			}
			return ts
		}},
	}
	for _, tt := range tests {
		for _, loss := range []engine.LossKind{engine.LossPG, engine.LossClip} {
			t.Run(tt.preset+"/"+string(loss), func(t *testing.T) {
				pol, err := engine.Open("cpu", engine.Options{Dir: init, Seed: 1, Optim: engine.Optim{
					LR: 1e-3, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, GradClip: 1, Schedule: "constant",
				}})
				require.NoError(t, err)
				tok := pol.Tokenizer()
				enc := func(s string) []int { return tok.Encode(s) }
				cfg, _ := Preset(tt.preset)
				cfg.Algo.Loss = string(loss)
				proc, ac, err := algoSettings(cfg)
				require.NoError(t, err)
				p := &algo.Prompt{Index: 0, TaskID: "t", PromptIDs: enc("ab"), Trajs: tt.trajs(enc)}
				for i := range p.Trajs {
					tr := &p.Trajs[i]
					v, err := targetVerifier{}.Verify(context.Background(), &abi.VerifyRequest{Response: tr.Text, Steps: byteSteps(tr.Text)})
					require.NoError(t, err)
					tr.Reward, tr.Correct, tr.Status, tr.Verdict = v.Score, v.Score >= 1, v.Status, v
					tr.Rewards = map[string]float64{"verifier": v.Score}
					// The sampling-time log-probs the clipped loss needs.
					lp, err := pol.LogProbs(context.Background(), [][]int{append(append([]int{}, p.PromptIDs...), tr.Tokens...)})
					require.NoError(t, err)
					tr.LogProbs = lp[0][len(p.PromptIDs):]
				}
				require.NoError(t, algo.Assemble(p, proc, ac))
				batch, refs, err := algo.BuildBatch([]*algo.Prompt{p}, ac)
				require.NoError(t, err)
				require.NotEmpty(t, batch.Seqs)

				seqs := make([][]int, len(batch.Seqs))
				for i, s := range batch.Seqs {
					seqs[i] = s.Tokens
				}
				before, err := pol.LogProbs(context.Background(), seqs)
				require.NoError(t, err)
				_, err = pol.Update(context.Background(), batch)
				require.NoError(t, err)
				after, err := pol.LogProbs(context.Background(), seqs)
				require.NoError(t, err)

				pos, neg := 0, 0
				for i, ref := range refs {
					tr := p.Trajs[ref.Traj]
					d := 0.0
					for k, w := range batch.Seqs[i].Weights {
						if w != 0 {
							d += float64(after[i][k] - before[i][k])
						}
					}
					switch {
					case tr.Advantage > 0:
						pos++
						require.Positive(t, d, "traj %d %q (A=%.2f): trained log-prob fell by %.4f", ref.Traj, tr.Text, tr.Advantage, -d)
					case tr.Advantage < 0:
						neg++
						require.Negative(t, d, "traj %d %q (A=%.2f): trained log-prob rose by %.4f", ref.Traj, tr.Text, tr.Advantage, d)
					}
					if tr.Origin == algo.OriginReset {
						require.Equal(t, tr.PrefixLen, tr.MaskStart, "a reset trains on its suffix only")
					}
				}
				require.Positive(t, pos)
				require.Positive(t, neg)
			})
		}
	}
}

// signalTraj is a fresh trajectory of text s (steps end at '}'); with
// prefixLen > 0 it is a reset from step resetStep keeping prefixLen
// tokens.
func signalTraj(enc func(string) []int, i int, s string, resetStep, prefixLen int) algo.Trajectory {
	toks := enc(s) // one token per character
	var steps []algo.Span
	for _, b := range byteSteps(s) {
		steps = append(steps, algo.Span{Start: b.Start, End: b.End})
	}
	return algo.Trajectory{Origin: algo.OriginFresh, Index: i, Parent: -1, ResetStep: resetStep, PrefixLen: prefixLen,
		Tokens: toks, Text: s, Steps: steps}
}

// byteSteps splits text after each '}' (the verifier's step spans).
func byteSteps(s string) []abi.Span {
	var out []abi.Span
	start := 0
	for i := range len(s) {
		if s[i] == '}' || i == len(s)-1 {
			out = append(out, abi.Span{Start: start, End: i + 1})
			start = i + 1
		}
	}
	return out
}

// TestKLPenaltyAndHeldOutEval trains GRPO on the target task twice, with
// a weak and a strong KL penalty to the starting policy, each evaluating
// the held-out set every 4 steps. The strong penalty must keep the
// policy closer to the reference (less than half the KL over the last
// steps); the held-out evaluations must come at steps 4, 8 and
// 10 (the last) and agree with rewind eval on the final checkpoint.
func TestKLPenaltyAndHeldOutEval(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	var b strings.Builder
	for i := range 8 {
		fmt.Fprintf(&b, `{"id":"t%d","prompt":"%s","answer":"a"}`+"\n", i, strings.Repeat("ab", 1+i%3))
	}
	train := writeFile(t, "train.jsonl", b.String())
	const steps = 10
	klOf := func(coef float64) (kl, reward float64, evals []EvalPoint, dir string) {
		dir = filepath.Join(t.TempDir(), "run")
		cfg := signalConfig(t, "grpo", dir, train, steps)
		cfg.Algo.KLCoef = coef
		cfg.Data.Eval, cfg.Run.EvalEvery, cfg.Run.EvalTasks = train, 4, 6
		_, err := Train(context.Background(), Options{Config: cfg})
		require.NoError(t, err)
		var kls []float64
		var evalSteps []int
		for _, l := range readLines(t, filepath.Join(dir, MetricsFile)) {
			var m struct {
				Step int
				KL   *algo.KLStats `json:"kl"`
				Eval *EvalPoint    `json:"eval"`
			}
			require.NoError(t, json.Unmarshal([]byte(l), &m))
			require.NotNil(t, m.KL, "step %d has no kl", m.Step)
			require.Positive(t, m.KL.Tokens)
			kls = append(kls, m.KL.Mean)
			if m.Eval != nil {
				evalSteps = append(evalSteps, m.Step)
				evals = append(evals, *m.Eval)
			}
		}
		require.Equal(t, []int{4, 8, 10}, evalSteps)
		r := freshRewards(t, dir)
		return mean(kls[steps-4:]), mean(r[steps-4:]), evals, dir
	}
	weakKL, weakR, evals, dir := klOf(1e-4)
	strongKL, strongR, _, _ := klOf(1)
	t.Logf("kl over the last 4 steps: coef 1e-4 %.4f (reward %.3f), coef 1 %.4f (reward %.3f)", weakKL, weakR, strongKL, strongR)
	require.Less(t, strongKL, weakKL/2)

	for _, e := range evals {
		require.Equal(t, 6, e.Tasks)
		require.Equal(t, 0, e.Unusable)
		require.InDelta(t, float64(e.Correct)/6, e.PassAt1, 1e-12)
	}
	cfg := signalConfig(t, "grpo", filepath.Join(t.TempDir(), "unused"), train, steps)
	cfg.Model = ModelConfig{Engine: "cpu", Path: dir}
	res, err := Eval(context.Background(), EvalOptions{Config: cfg, Dataset: train, Limit: 6})
	require.NoError(t, err)
	require.InDelta(t, res.PassAt1Greedy, evals[len(evals)-1].PassAt1, 1e-12)
}

// TestAuxLocLoss trains SRPO with the auxiliary localization loss on a
// file of two examples: their completions' negative log-likelihood, in
// the aux_loc field of every metrics line, must fall well below the
// random model's; a file line without a completion is refused.
func TestAuxLocLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	var b strings.Builder
	for i := range 8 {
		fmt.Fprintf(&b, `{"id":"t%d","prompt":"%s","answer":"a"}`+"\n", i, strings.Repeat("ab", 1+i%3))
	}
	train := writeFile(t, "train.jsonl", b.String())
	aux := writeFile(t, "loc.jsonl", `{"prompt":"abab}","completion":"bb}"}`+"\n\n"+`{"prompt":"ba}","completion":"bb}"}`+"\n")
	dir := filepath.Join(t.TempDir(), "run")
	cfg := signalConfig(t, "srpo-oracle", dir, train, 12)
	cfg.Algo.AuxLocCoef, cfg.Algo.AuxLocData, cfg.Algo.AuxLocBatch = 1, aux, 3
	_, err := Train(context.Background(), Options{Config: cfg})
	require.NoError(t, err)
	var nll []float64
	for _, l := range readLines(t, filepath.Join(dir, MetricsFile)) {
		var m struct {
			AuxLoc *AuxStats `json:"aux_loc"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &m))
		require.NotNil(t, m.AuxLoc)
		require.Equal(t, 3, m.AuxLoc.Examples)
		nll = append(nll, m.AuxLoc.NLL)
	}
	t.Logf("aux nll: %.3f", nll)
	// A random model over 3 characters and the specials: about log 7 per
	// token at first.
	require.Greater(t, nll[0], 1.0)
	require.Less(t, nll[len(nll)-1], nll[0]/3)

	bad := cfg
	bad.Algo.AuxLocData = ""
	require.ErrorContains(t, bad.Validate(), "algo.aux_loc_data: must name a JSONL")
	bad.Algo.AuxLocData = writeFile(t, "bad.jsonl", `{"prompt":"ab"}`+"\n")
	bad.Run.Dir = filepath.Join(t.TempDir(), "bad")
	_, err = Train(context.Background(), Options{Config: bad})
	require.ErrorContains(t, err, `bad.jsonl:1: want a non-empty "prompt" and "completion"`)
}
