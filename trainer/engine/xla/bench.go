package xla

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// Qwen2_0_5B is the Qwen2-0.5B shape (hidden 896, 24 layers, 14 heads, 2
// key/value heads, vocabulary 151,936, tied head), about 494M parameters.
var Qwen2_0_5B = model.Config{VocabSize: 151936, Hidden: 896, Intermediate: 4864, Layers: 24, Heads: 14, KVHeads: 2,
	HeadDim: 64, MaxPositions: 32768, RopeTheta: 1e6, RMSNormEps: 1e-6, TiedEmbeddings: true, QKVBias: true,
	ModelType: model.TypeQwen2, BOS: -1, EOS: -1}

// BenchConfig is one benchmark run on a randomly initialised model.
type BenchConfig struct {
	Model        model.Config
	Extra        map[string]string // backend, pjrt_plugin, compute_dtype...
	TrainBatch   int               // sequences per step
	TrainLen     int               // tokens per sequence
	TrainSteps   int               // timed steps (after one untimed compile step)
	SampleBatch  []int             // batch sizes of the sampling runs
	PromptLen    int
	NewTokens    int
	PeakTFLOPs   float64 // the card's dense peak in the compute dtype, for MFU
	Seed         uint64
	SkipTraining bool
}

// BenchResult holds the measured rates.
type BenchResult struct {
	Params        int
	TrainTokPerS  float64
	TrainStepTime time.Duration
	FLOPsPerToken float64
	MFU           float64
	SampleTokPerS map[int]float64
	Compiles      []engine.Compile
}

// TrainFLOPsPerToken is the model FLOPs of one trained token: 6 per
// parameter (forward and backward of every matrix, the tied head counted
// once as a matrix) plus 12 * layers * heads * head_dim * seqLen for the
// attention scores and values (the PaLM appendix B convention, which the
// transformers MFU numbers also use).
func TrainFLOPsPerToken(c model.Config, seqLen int) float64 {
	return 6*float64(c.NumParams()) + 12*float64(c.Layers*c.Heads*c.HeadDim*seqLen)
}

// Bench trains and samples a random-weight model of cfg.Model and reports
// throughput. Sampling uses temperature 1 without top-k/top-p (as
// transformers' generate with do_sample=True, top_k=0).
func Bench(ctx context.Context, cfg BenchConfig, log func(string, ...any)) (BenchResult, error) {
	var res BenchResult
	c := cfg.Model
	tok, err := tokenizer.NewChar("abcdefghijklmnopqrstuvwxyz ", nil)
	if err != nil {
		return res, err
	}
	extra := map[string]string{"max_batch": "1", "token_budget": fmt.Sprint(cfg.TrainBatch * cfg.TrainLen)}
	for _, b := range cfg.SampleBatch {
		if b > 1 {
			extra["max_batch"] = fmt.Sprint(max(b, 1))
		}
	}
	for k, v := range cfg.Extra {
		extra[k] = v
	}
	log("init %d parameters", c.NumParams())
	opt := engine.Optim{LR: 1e-5, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, GradClip: 1, Schedule: "constant"}
	p, err := New(c, tok, model.InitWeights(c, cfg.Seed), opt, cfg.Seed, extra)
	if err != nil {
		return res, err
	}
	res.Params = c.NumParams()
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	randIDs := func(n int) []int {
		ids := make([]int, n)
		for i := range ids {
			ids[i] = rng.IntN(c.VocabSize)
		}
		return ids
	}
	if !cfg.SkipTraining {
		b := engine.Batch{Loss: engine.LossPG}
		for i := 0; i < cfg.TrainBatch; i++ {
			w := make([]float32, cfg.TrainLen)
			for t := 1; t < len(w); t++ {
				w[t] = 1 / float32(cfg.TrainBatch*(cfg.TrainLen-1))
			}
			b.Seqs = append(b.Seqs, engine.Sequence{Tokens: randIDs(cfg.TrainLen), Weights: w})
		}
		start := time.Now()
		st, err := p.Update(ctx, b)
		if err != nil {
			return res, err
		}
		log("first training step (compiles) %v, loss %.4f", time.Since(start).Round(time.Millisecond), st.Loss)
		start = time.Now()
		for i := 0; i < cfg.TrainSteps; i++ {
			if st, err = p.Update(ctx, b); err != nil {
				return res, err
			}
		}
		el := time.Since(start)
		res.TrainStepTime = el / time.Duration(cfg.TrainSteps)
		res.TrainTokPerS = float64(cfg.TrainSteps*cfg.TrainBatch*cfg.TrainLen) / el.Seconds()
		res.FLOPsPerToken = TrainFLOPsPerToken(c, cfg.TrainLen)
		if cfg.PeakTFLOPs > 0 {
			res.MFU = res.TrainTokPerS * res.FLOPsPerToken / (cfg.PeakTFLOPs * 1e12)
		}
		log("training: %.0f tokens/s, %v per step, loss %.4f, MFU %.1f%%", res.TrainTokPerS, res.TrainStepTime.Round(time.Millisecond), st.Loss, 100*res.MFU)
	}
	res.SampleTokPerS = map[int]float64{}
	for _, B := range cfg.SampleBatch {
		reqs := make([]engine.GenRequest, B)
		for i := range reqs {
			reqs[i] = engine.GenRequest{Prompt: randIDs(cfg.PromptLen), Seed: uint64(i),
				Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: cfg.NewTokens}}
		}
		start := time.Now()
		if _, err := p.Generate(ctx, reqs); err != nil { // compiles prefill and decode
			return res, err
		}
		log("sampling batch %d: first run (compiles) %v", B, time.Since(start).Round(time.Millisecond))
		start = time.Now()
		out, err := p.Generate(ctx, reqs)
		if err != nil {
			return res, err
		}
		el := time.Since(start)
		n := 0
		for _, r := range out {
			n += len(r.Tokens)
		}
		res.SampleTokPerS[B] = float64(n) / el.Seconds()
		log("sampling batch %d: %d new tokens in %v: %.0f tokens/s", B, n, el.Round(time.Millisecond), res.SampleTokPerS[B])
	}
	res.Compiles = p.Compiles()
	return res, nil
}
