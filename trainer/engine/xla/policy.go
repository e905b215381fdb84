// Package xla is the GPU engine: the same Llama/Qwen2-family policy as the
// CPU engine, written as GoMLX graphs and run by XLA through a PJRT plugin
// (Extra "backend": "pjrt", "pjrt_plugin": "/abs/path/plugin.so"), or by
// GoMLX's pure-Go backend (Extra "backend": "go", the default) for tests
// and machines without an accelerator. Training (loss, gradients, global
// norm, AdamW) and sampling (prefill, KV-cache decoding, sampling with
// temperature / top-k / top-p) are compiled graphs over fixed shape
// buckets; weights stay on the device between calls.
//
// Import it for its side effect to register the engine as "xla":
//
//	import _ "github.com/rewind-rl/rewind/trainer/engine/xla"
//
// See docs/xla-engine.md.
package xla

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/internal/ckpt"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Defaults of the engine-specific settings (engine.Options.Extra).
const (
	DefaultMaxBatch    = 64    // "max_batch": requests decoded together
	DefaultDecodeRing  = 32    // "decode_ring": decoding steps between KV-cache flushes
	DefaultTokenBudget = 16384 // "token_budget": padded tokens per forward/backward pass
)

// Policy is the XLA engine's engine.Policy.
type Policy struct {
	cfg  model.Config
	tok  tokenizer.Tokenizer
	arch *arch
	ex   *execs
	opt  engine.Optim
	seed uint64

	base, lora []*tensors.Tensor // device-resident float32 weights
	m, v       []*tensors.Tensor // AdamW moments of the trainable tensors
	step       int

	maxBatch, tokenBudget int
	backendKind           string
	tokSource             string

	decodeSteps atomic.Int64 // decoding steps run by Generate, for tests and benchmarks
	flushes     atomic.Int64 // ring flushes into the main KV cache
	peakRows    atomic.Int64 // most requests decoded together so far
	decodeRing  int          // "decode_ring": positions a decoding ring holds between flushes

	// fwd holds the forward-only graphs' copy of the weights in the compute
	// dtype (forwardArgs); nil until needed and after every Update.
	fwd []*tensors.Tensor
	// noFwdCache makes forwardArgs return the float32 masters (tests).
	noFwdCache bool
}

// settings are the parsed Extra options.
type settings struct {
	backend, plugin       string
	sequential            bool
	dtype                 dtypes.DType
	maxBatch, tokenBudget int
	decodeRing            int
	lora                  *loraSpec
}

func parseExtra(extra map[string]string) (settings, error) {
	s := settings{sequential: true, dtype: dtypes.Float32, maxBatch: DefaultMaxBatch, tokenBudget: DefaultTokenBudget,
		decodeRing: DefaultDecodeRing}
	var errs []error
	posInt := func(k, v string) int {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("extra %s = %q: want a positive integer", k, v))
		}
		return n
	}
	for k, v := range extra {
		switch k {
		case "backend":
			s.backend = v
		case "pjrt_plugin":
			s.plugin = v
		case "go_parallel":
			s.sequential = v != "true"
		case "compute_dtype":
			switch v {
			case "float32":
			case "bfloat16":
				s.dtype = dtypes.BFloat16
			default:
				errs = append(errs, fmt.Errorf("extra compute_dtype = %q: want float32 or bfloat16 (master weights stay float32)", v))
			}
		case "decode_ring":
			s.decodeRing = posInt(k, v)
		case "max_batch":
			s.maxBatch = posInt(k, v)
		case "token_budget":
			s.tokenBudget = posInt(k, v)
		case "lora_rank", "lora_alpha", "lora_targets":
		default:
			errs = append(errs, fmt.Errorf("unknown extra setting %q (have backend, pjrt_plugin, go_parallel, compute_dtype, max_batch, token_budget, decode_ring, lora_rank, lora_alpha, lora_targets)", k))
		}
	}
	switch {
	case s.backend == "" && s.plugin != "": // a plugin implies XLA through it
		s.backend = BackendPJRT
	case s.backend == "":
		s.backend = BackendGo
	case s.plugin != "" && s.backend != BackendPJRT:
		errs = append(errs, fmt.Errorf("extra pjrt_plugin is set but backend is %q: set backend to %q", s.backend, BackendPJRT))
	}
	lora, err := parseLoRA(extra)
	errs = append(errs, err)
	s.lora = lora
	if err := errors.Join(errs...); err != nil {
		return s, fmt.Errorf("xla engine: %w", err)
	}
	return s, nil
}

// New builds a policy from weights in cfg.Params() order (for example
// model.InitWeights) with a fresh optimiser. extra takes the same keys as
// engine.Options.Extra.
func New(cfg model.Config, tok tokenizer.Tokenizer, weights []*model.Tensor, opt engine.Optim, seed uint64, extra map[string]string) (*Policy, error) {
	s, err := parseExtra(extra)
	if err != nil {
		return nil, err
	}
	var factors []*model.Tensor
	if s.lora != nil {
		factors = s.lora.init(cfg, seed)
	}
	return newPolicy(cfg, tok, weights, factors, opt, seed, s)
}

func newPolicy(cfg model.Config, tok tokenizer.Tokenizer, weights, factors []*model.Tensor, opt engine.Optim, seed uint64, s settings) (*Policy, error) {
	if err := ckpt.CheckModel(cfg, tok); err != nil {
		return nil, fmt.Errorf("xla engine: %w", err)
	}
	specs := cfg.Params()
	if len(weights) != len(specs) {
		return nil, fmt.Errorf("xla engine: %d weight tensors, want %d", len(weights), len(specs))
	}
	for i, sp := range specs {
		if weights[i].Name != sp.Name || len(weights[i].Data) != numel(sp.Shape) {
			return nil, fmt.Errorf("xla engine: weight %d is %q with %d values, want %q %v", i, weights[i].Name, len(weights[i].Data), sp.Name, sp.Shape)
		}
	}
	b, err := newBackend(s.backend, s.plugin, s.sequential)
	if err != nil {
		return nil, err
	}
	p := &Policy{cfg: cfg, tok: tok, arch: &arch{cfg: cfg, dtype: s.dtype, lora: s.lora}, ex: newExecs(b), opt: opt, seed: seed,
		maxBatch: s.maxBatch, tokenBudget: s.tokenBudget, decodeRing: s.decodeRing, backendKind: s.backend}
	p.base = upload(b, weights)
	p.lora = upload(b, factors)
	train := p.trainable()
	for _, t := range train {
		dims := t.Shape().Dimensions
		p.m = append(p.m, tensors.FromShape(t.Shape()))
		p.v = append(p.v, tensors.FromShape(t.Shape()))
		_ = dims
	}
	return p, nil
}

func upload(b backends.Backend, ts []*model.Tensor) []*tensors.Tensor {
	out := make([]*tensors.Tensor, len(ts))
	for i, t := range ts {
		out[i] = tensors.FromFlatDataAndDimensions(append([]float32(nil), t.Data...), t.Shape...)
		out[i].MustMaterializeOnDevice(b, false, 0)
	}
	return out
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// trainable are the tensors Update changes: the LoRA factors with LoRA,
// else every base weight.
func (p *Policy) trainable() []*tensors.Tensor {
	if p.arch.lora != nil {
		return p.lora
	}
	return p.base
}

// Tokenizer implements engine.Policy.
func (p *Policy) Tokenizer() tokenizer.Tokenizer { return p.tok }

// Config is the model configuration.
func (p *Policy) Config() model.Config { return p.cfg }

// Step is the number of optimiser steps taken.
func (p *Policy) Step() int { return p.step }

// Compiles implements engine.CompileReporter: every graph compiled so far
// with its shape bucket and compile time.
func (p *Policy) Compiles() []engine.Compile { return p.ex.compileStats() }

func (p *Policy) weightArgs() []*tensors.Tensor {
	return append(append([]*tensors.Tensor{}, p.base...), p.lora...)
}

// forwardArgs are the weight arguments of the graphs that only run the
// model (prefill, decode, log-probs, logits). With bfloat16 compute they
// are bfloat16 copies of every tensor the graph would cast (all but the
// RMSNorm weights, which stay float32), made by one graph after each
// Update and reused until the next: a decoding step then reads 2 bytes a
// parameter instead of reading the 4-byte masters and converting them on
// every call. The values are the ones the graph's own cast produces, so
// results are bit for bit unchanged.
func (p *Policy) forwardArgs() ([]*tensors.Tensor, error) {
	if p.arch.dtype == dtypes.Float32 || p.noFwdCache {
		return p.weightArgs(), nil
	}
	if p.fwd == nil {
		res, err := p.ex.run("cast-weights", "params", p.castGraph, p.weightArgs())
		if err != nil {
			return nil, err
		}
		p.fwd = res
	}
	return append([]*tensors.Tensor{}, p.fwd...), nil
}

// castGraph converts the weights the graphs cast (castsWeight) to the
// compute dtype and passes the others through.
func (p *Policy) castGraph(in []*graph.Node) []*graph.Node {
	out := make([]*graph.Node, len(in))
	specs := p.cfg.Params()
	for i, x := range in {
		if i < len(specs) && !castsWeight(specs[i].Name) {
			out[i] = graph.Identity(x)
			continue
		}
		out[i] = graph.ConvertDType(x, p.arch.dtype)
	}
	return out
}

// dropForward releases the forward copy of the weights (they changed).
func (p *Policy) dropForward() {
	free(p.fwd)
	p.fwd = nil
}

// padded packs seqs[lo:hi] into a [B, T] bucket (right padding with 0).
type padded struct {
	B, T   int
	tokens []int32
}

func (p *Policy) pack(seqs [][]int) padded {
	n := 0
	for _, s := range seqs {
		n = max(n, len(s))
	}
	pk := padded{B: batchBucket(len(seqs)), T: lenBucket(n, p.cfg.MaxPositions)}
	pk.tokens = make([]int32, pk.B*pk.T)
	for i, s := range seqs {
		for t, id := range s {
			pk.tokens[i*pk.T+t] = int32(id)
		}
	}
	return pk
}

// microBatches splits seqs, in order, into groups whose padded size
// (batch bucket x length bucket) stays within the token budget.
func (p *Policy) microBatches(seqs [][]int) [][2]int {
	var out [][2]int
	start, longest := 0, 0
	for i, s := range seqs {
		l := max(longest, len(s))
		if i > start && batchBucket(i-start+1)*lenBucket(l, p.cfg.MaxPositions) > p.tokenBudget {
			out = append(out, [2]int{start, i})
			start, l = i, len(s)
		}
		longest = l
	}
	if start < len(seqs) {
		out = append(out, [2]int{start, len(seqs)})
	}
	return out
}

// Limits are the vocabulary and context every input is checked against
// (engine.LimitsReporter).
func (p *Policy) Limits() engine.Limits { return p.limits() }

// limits are the vocabulary and context every input is checked against.
func (p *Policy) limits() engine.Limits {
	return engine.Limits{VocabSize: p.cfg.VocabSize, MaxPositions: p.cfg.MaxPositions}
}

// LogProbs implements engine.Policy.
func (p *Policy) LogProbs(ctx context.Context, seqs [][]int) ([][]float32, error) {
	return p.perToken(ctx, "logprobs", seqs, 1, p.logProbsGraph)
}

// Logits returns the full logits, [len(seq), vocab] per sequence.
func (p *Policy) Logits(ctx context.Context, seqs [][]int) ([][]float32, error) {
	return p.perToken(ctx, "logits", seqs, p.cfg.VocabSize, p.logitsGraph)
}

// perToken runs graph (one output of [B, T, width], or [B, T] when width
// is 1) over seqs in micro-batches and returns each sequence's first
// len(seq)*width values.
func (p *Policy) perToken(ctx context.Context, op string, seqs [][]int, width int, graph func([]*graph.Node) []*graph.Node) ([][]float32, error) {
	if err := p.limits().CheckSeqs(op, seqs); err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(seqs))
	for _, mb := range p.microBatches(seqs) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		pk := p.pack(seqs[mb[0]:mb[1]])
		tok := tensors.FromFlatDataAndDimensions(pk.tokens, pk.B, pk.T)
		w, err := p.forwardArgs()
		if err != nil {
			return nil, err
		}
		res, err := p.ex.run(op, dimsKey(tok), graph, append(w, tok))
		if err != nil {
			return nil, err
		}
		flat, err := toHost(res[0])
		free(res)
		if err != nil {
			return nil, err
		}
		for i, s := range seqs[mb[0]:mb[1]] {
			row := i * pk.T * width
			out = append(out, slices.Clone(flat[row:row+len(s)*width]))
		}
	}
	return out, nil
}

// checkBatch refuses what Limits.CheckBatch refuses, and an empty batch
// (there is no [0, T] bucket to run).
func (p *Policy) checkBatch(b engine.Batch) error {
	if err := p.limits().CheckBatch(b); err != nil {
		return err
	}
	if len(b.Seqs) == 0 {
		return errors.New("update: empty batch")
	}
	return nil
}

// lossAndGrad returns the batch loss and the gradient of the trainable
// tensors (on the device), summed over micro-batches in order, and fills
// the token counts and clip fraction of st.
func (p *Policy) lossAndGrad(ctx context.Context, b engine.Batch, st *engine.UpdateStats) (float64, []*tensors.Tensor, error) {
	seqs := make([][]int, len(b.Seqs))
	for i, s := range b.Seqs {
		seqs[i] = s.Tokens
		st.Tokens += len(s.Tokens)
		for _, w := range s.Weights {
			if w != 0 {
				st.Trained++
			}
		}
	}
	bounds := tensors.FromFlatDataAndDimensions([]float32{1 - b.ClipLow, 1 + b.ClipHigh}, 2)
	var loss, clipped float64
	var grads []*tensors.Tensor
	for _, mb := range p.microBatches(seqs) {
		if err := ctx.Err(); err != nil {
			free(grads)
			return 0, nil, err
		}
		pk := p.pack(seqs[mb[0]:mb[1]])
		wt, old := make([]float32, pk.B*pk.T), make([]float32, pk.B*pk.T)
		for i, s := range b.Seqs[mb[0]:mb[1]] {
			// Shifted: the graph pairs the prediction at t with token t+1.
			copy(wt[i*pk.T:], s.Weights[1:])
			if len(s.OldLogProbs) > 0 {
				copy(old[i*pk.T:], s.OldLogProbs[1:])
			}
		}
		tok := tensors.FromFlatDataAndDimensions(pk.tokens, pk.B, pk.T)
		args := append(p.weightArgs(), tok, tensors.FromFlatDataAndDimensions(wt, pk.B, pk.T),
			tensors.FromFlatDataAndDimensions(old, pk.B, pk.T), bounds)
		res, err := p.ex.run("grad-"+string(b.Loss), dimsKey(tok), p.gradGraph(b.Loss), args)
		if err != nil {
			free(grads)
			return 0, nil, err
		}
		l, c := tensors.ToScalar[float32](res[0]), tensors.ToScalar[float32](res[1])
		free(res[:2])
		loss += float64(l)
		clipped += float64(c)
		g := res[2:]
		if grads == nil {
			grads = g
			continue
		}
		sum, err := p.ex.run("add", "grads", addGraph, append(append([]*tensors.Tensor{}, grads...), g...))
		free(grads)
		free(g)
		if err != nil {
			return 0, nil, err
		}
		grads = sum
	}
	if b.Loss == engine.LossClip && st.Trained > 0 {
		st.ClipFrac = clipped / float64(st.Trained)
	}
	return loss, grads, nil
}

// Update implements engine.Policy: one AdamW step on the gradient of the
// batch's loss, after global-norm clipping. The step is refused (and the
// model left unchanged) when the gradient norm is not finite.
func (p *Policy) Update(ctx context.Context, b engine.Batch) (engine.UpdateStats, error) {
	var st engine.UpdateStats
	if err := p.opt.Validate(); err != nil {
		return st, fmt.Errorf("update: %w", err)
	}
	if err := p.checkBatch(b); err != nil {
		return st, err
	}
	loss, grads, err := p.lossAndGrad(ctx, b, &st)
	if err != nil {
		return st, err
	}
	defer free(grads)
	st.Loss = loss
	nr, err := p.ex.run("norm", "grads", normGraph, grads)
	if err != nil {
		return st, err
	}
	st.GradNorm = float64(tensors.ToScalar[float32](nr[0]))
	free(nr)
	if math.IsNaN(st.GradNorm) || math.IsInf(st.GradNorm, 0) {
		return st, fmt.Errorf("update: gradient norm is %v; the step was not applied (lower the learning rate?)", st.GradNorm)
	}
	scale := 1.0
	if p.opt.GradClip > 0 && st.GradNorm > p.opt.GradClip {
		scale = p.opt.GradClip / (st.GradNorm + 1e-6)
	}
	p.step++
	st.LR = p.opt.LRAt(p.step)
	sc := tensors.FromFlatDataAndDimensions([]float32{float32(st.LR), float32(scale),
		float32(1 - math.Pow(p.opt.Beta1, float64(p.step))), float32(1 - math.Pow(p.opt.Beta2, float64(p.step)))}, 4)
	train := p.trainable()
	args := append(append(append(append(append([]*tensors.Tensor{}, train...), p.m...), p.v...), grads...), sc)
	res, err := p.ex.run("adamw", "params", p.applyGraph, args)
	if err != nil {
		p.step--
		return st, err
	}
	n := len(train)
	p.dropForward()
	free(train)
	free(p.m)
	free(p.v)
	copy(train, res[:n])
	p.m, p.v = res[n:2*n], res[2*n:]
	return st, nil
}

// Gradients returns the loss of b and the gradient of every trainable
// tensor by name (Hugging Face names; PEFT names with LoRA), without an
// optimiser step.
func (p *Policy) Gradients(ctx context.Context, b engine.Batch) (float64, map[string][]float32, error) {
	if err := p.checkBatch(b); err != nil {
		return 0, nil, err
	}
	var st engine.UpdateStats
	loss, grads, err := p.lossAndGrad(ctx, b, &st)
	if err != nil {
		return 0, nil, err
	}
	defer free(grads)
	names := p.trainableNames()
	out := map[string][]float32{}
	for i, g := range grads {
		if out[names[i]], err = toHost(g); err != nil {
			return 0, nil, err
		}
	}
	return loss, out, nil
}

// trainableNames are the names of trainable() in order.
func (p *Policy) trainableNames() []string {
	var names []string
	if p.arch.lora != nil {
		for _, m := range p.arch.lora.modules(p.cfg) {
			names = append(names, peftName(m.name, "A"), peftName(m.name, "B"))
		}
		return names
	}
	for _, s := range p.cfg.Params() {
		names = append(names, s.Name)
	}
	return names
}

var (
	_ engine.Policy          = (*Policy)(nil)
	_ engine.CompileReporter = (*Policy)(nil)
	_ engine.Logitser        = (*Policy)(nil)
	_ engine.LimitsReporter  = (*Policy)(nil)
)
