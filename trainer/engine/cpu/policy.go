package cpu

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/blas"
	"github.com/rewind-rl/rewind/trainer/engine/internal/ckpt"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Defaults of the engine-specific settings (engine.Options.Extra).
const (
	// DefaultMaxBatch is how many requests Generate keeps in flight
	// (Extra "max_batch").
	DefaultMaxBatch = 64
	// DefaultTokenBudget is how many tokens one forward/backward pass of
	// Update or LogProbs holds; larger batches are split into micro-batches
	// whose gradients are summed in order (Extra "token_budget").
	DefaultTokenBudget = 16384
)

// Policy is the CPU engine's engine.Policy.
type Policy struct {
	cfg  model.Config
	tok  tokenizer.Tokenizer
	net  *net
	opt  engine.Optim
	seed uint64

	params, grads, m, v []float32
	decay               [][2]int
	step                int

	maxBatch, tokenBudget int

	// tokSource is the directory whose tokenizer files Save copies when
	// the tokenizer cannot write itself ("" when unknown).
	tokSource string

	acts acts
	ws   inferWS
}

// New builds a policy from weights in cfg.Params() order (for example
// model.InitWeights for from-scratch training), with a fresh optimiser.
func New(cfg model.Config, tok tokenizer.Tokenizer, weights []*model.Tensor, opt engine.Optim) (*Policy, error) {
	return newPolicy(cfg, tok, weights, engine.Options{Optim: opt})
}

func newPolicy(cfg model.Config, tok tokenizer.Tokenizer, weights []*model.Tensor, opts engine.Options) (*Policy, error) {
	if err := ckpt.CheckModel(cfg, tok); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	g, err := blas.Default()
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	lay := newLayout(cfg)
	flat, err := lay.fromTensors(weights)
	if err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	p := &Policy{cfg: cfg, tok: tok, net: newNet(cfg, flat, g), opt: opts.Optim, seed: opts.Seed,
		params: flat, grads: make([]float32, lay.size), m: make([]float32, lay.size), v: make([]float32, lay.size),
		decay: lay.decayRanges(), maxBatch: DefaultMaxBatch, tokenBudget: DefaultTokenBudget}
	for key, val := range opts.Extra {
		n, err := strconv.Atoi(val)
		switch key {
		case "max_batch":
			if err != nil || n < 1 {
				return nil, fmt.Errorf("cpu engine: extra max_batch = %q: want a positive integer", val)
			}
			p.maxBatch = n
		case "token_budget":
			if err != nil || n < 1 {
				return nil, fmt.Errorf("cpu engine: extra token_budget = %q: want a positive integer", val)
			}
			p.tokenBudget = n
		default:
			return nil, fmt.Errorf("cpu engine: unknown extra setting %q (have max_batch, token_budget)", key)
		}
	}
	return p, nil
}

// Tokenizer implements engine.Policy.
func (p *Policy) Tokenizer() tokenizer.Tokenizer { return p.tok }

// Config is the model configuration.
func (p *Policy) Config() model.Config { return p.cfg }

// Step is the number of optimiser steps taken.
func (p *Policy) Step() int { return p.step }

// BLAS names the matrix-multiply implementation in use.
func (p *Policy) BLAS() string { return p.net.ex.blas.Name() }

// Logits returns the full logits, [len(seq), vocab] per sequence.
func (p *Policy) Logits(ctx context.Context, seqs [][]int) ([][]float32, error) {
	V := p.cfg.VocabSize
	return p.perMicroBatch(ctx, "logits", seqs, func(mb [][]int) [][]float32 {
		pk := pack(mb)
		all := p.net.logits(&p.acts, pk)
		out := make([][]float32, len(mb))
		for s, st := range pk.starts {
			out[s] = all[st*V : (st+pk.lens[s])*V]
		}
		return out
	})
}

// LogProbs implements engine.Policy.
func (p *Policy) LogProbs(ctx context.Context, seqs [][]int) ([][]float32, error) {
	return p.perMicroBatch(ctx, "logprobs", seqs, func(mb [][]int) [][]float32 {
		return p.net.logProbs(&p.acts, mb)
	})
}

// perMicroBatch checks seqs (op names the call in errors), then runs fn
// on each micro-batch in order and concatenates its per-sequence results;
// cancellation is checked between micro-batches.
func (p *Policy) perMicroBatch(ctx context.Context, op string, seqs [][]int, fn func(mb [][]int) [][]float32) ([][]float32, error) {
	if err := p.limits().CheckSeqs(op, seqs); err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(seqs))
	for _, mb := range p.microBatches(seqs) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out = append(out, fn(seqs[mb[0]:mb[1]])...)
	}
	return out, nil
}

// Limits are the vocabulary and context every input is checked against
// (engine.LimitsReporter).
func (p *Policy) Limits() engine.Limits { return p.limits() }

// limits are the vocabulary and context every input is checked against.
func (p *Policy) limits() engine.Limits {
	return engine.Limits{VocabSize: p.cfg.VocabSize, MaxPositions: p.cfg.MaxPositions}
}

// microBatches splits seqs, in order, into ranges of at most tokenBudget
// tokens (a longer sequence gets a range of its own).
func (p *Policy) microBatches(seqs [][]int) [][2]int {
	var out [][2]int
	start, n := 0, 0
	for i, s := range seqs {
		if n > 0 && n+len(s) > p.tokenBudget {
			out = append(out, [2]int{start, i})
			start, n = i, 0
		}
		n += len(s)
	}
	if start < len(seqs) {
		out = append(out, [2]int{start, len(seqs)})
	}
	return out
}

// Update implements engine.Policy: one AdamW step on the gradient of the
// batch's loss (summed over micro-batches in order).
func (p *Policy) Update(ctx context.Context, b engine.Batch) (engine.UpdateStats, error) {
	var st engine.UpdateStats
	if err := p.opt.Validate(); err != nil {
		return st, fmt.Errorf("update: %w", err)
	}
	if err := p.limits().CheckBatch(b); err != nil {
		return st, err
	}
	loss, err := p.lossAndGrad(ctx, b, &st)
	if err != nil {
		return st, err
	}
	st.Loss = loss
	st.GradNorm = globalNorm(p.grads)
	if math.IsNaN(st.GradNorm) || math.IsInf(st.GradNorm, 0) {
		return st, fmt.Errorf("update: gradient norm is %v; the step was not applied (lower the learning rate?)", st.GradNorm)
	}
	scale := float32(1)
	if p.opt.GradClip > 0 && st.GradNorm > p.opt.GradClip {
		scale = float32(p.opt.GradClip / (st.GradNorm + 1e-6))
	}
	p.step++
	st.LR = p.opt.LRAt(p.step)
	adamW(p.opt, p.step, st.LR, scale, p.params, p.grads, p.m, p.v, p.decay)
	return st, nil
}

// lossAndGrad fills p.grads with the gradient of the batch loss and
// returns the loss; it fills the token counts and clip fraction of st.
func (p *Policy) lossAndGrad(ctx context.Context, b engine.Batch, st *engine.UpdateStats) (float64, error) {
	clear(p.grads)
	gw := newView(p.net.dm, p.grads)
	seqs := make([][]int, len(b.Seqs))
	for i, s := range b.Seqs {
		seqs[i] = s.Tokens
		st.Tokens += len(s.Tokens)
	}
	var loss float64
	clipped := 0
	lo, hi := float64(1-b.ClipLow), float64(1+b.ClipHigh)
	for _, mb := range p.microBatches(seqs) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		pk := pack(seqs[mb[0]:mb[1]])
		// row -> (sequence, position of the predicted token)
		seqOf := make([]int, len(pk.tokens))
		for s, start := range pk.starts {
			for t := 0; t < pk.lens[s]; t++ {
				seqOf[start+t] = mb[0] + s
			}
		}
		p.net.forward(&p.acts, pk)
		tg := targets(pk)
		lp := make([]float32, len(pk.tokens))
		coef := func(row int, l float32) float32 {
			si := seqOf[row]
			t := row - pk.starts[si-mb[0]] + 1
			sq := b.Seqs[si]
			w := float64(sq.Weights[t])
			if w == 0 {
				return 0
			}
			st.Trained++
			if b.Loss == engine.LossPG {
				loss -= w * float64(l)
				return float32(-w)
			}
			r := math.Exp(float64(l) - float64(sq.OldLogProbs[t]))
			if (w > 0 && r > hi) || (w < 0 && r < lo) {
				clipped++
				loss -= w * math.Min(math.Max(r, lo), hi)
				return 0
			}
			loss -= w * r
			return float32(-w * r)
		}
		p.net.head(&p.acts, pk, tg, lp, coef, &gw)
		p.net.backward(&p.acts, pk, gw)
	}
	if b.Loss == engine.LossClip && st.Trained > 0 {
		st.ClipFrac = float64(clipped) / float64(st.Trained)
	}
	return loss, nil
}

var (
	_ engine.Policy         = (*Policy)(nil)
	_ engine.Logitser       = (*Policy)(nil)
	_ engine.LimitsReporter = (*Policy)(nil)
)

// Gradients returns the loss of b and the gradient of every parameter by
// Hugging Face name, without taking an optimiser step (for tests and
// diagnostics).
func (p *Policy) Gradients(ctx context.Context, b engine.Batch) (float64, map[string][]float32, error) {
	if err := p.limits().CheckBatch(b); err != nil {
		return 0, nil, err
	}
	var st engine.UpdateStats
	loss, err := p.lossAndGrad(ctx, b, &st)
	if err != nil {
		return 0, nil, err
	}
	out := map[string][]float32{}
	for _, t := range p.net.lay.toTensors(p.grads, "") {
		out[t.Name] = t.Data
	}
	return loss, out, nil
}
