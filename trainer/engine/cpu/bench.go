package cpu

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rewind-rl/rewind/trainer/engine"
	"github.com/rewind-rl/rewind/trainer/engine/cpu/internal/blas"
	"github.com/rewind-rl/rewind/trainer/model"
	"github.com/rewind-rl/rewind/trainer/tokenizer"
)

// BenchConfig is one engine benchmark: a preset trained on random
// sequences of the full context length, and batched sampling.
type BenchConfig struct {
	Preset     string        // model preset ("tiny", "small")
	Vocab      int           // vocabulary size (presets leave it open)
	TrainSeqs  int           // sequences per training step
	SeqLen     int           // tokens per training sequence; 0 = the context length
	SampleReqs int           // requests per Generate call (the batch)
	PromptLen  int           // prompt tokens per request
	NewTokens  int           // tokens sampled per request
	MinTime    time.Duration // run each phase at least this long
}

// BenchResult is what BenchEngine measured.
type BenchResult struct {
	Config         BenchConfig
	BLAS           string
	Procs          int
	Params         int
	TrainTokPerSec float64
	TrainGFLOPs    float64 // achieved in training (model FLOPs, see TrainFLOPs)
	// TrainGFLOPsPerCPU is TrainGFLOPs per CPU-second of the process.
	TrainGFLOPsPerCPU float64
	SampleTokPerSec   float64
	SampleSteps       int
	// Per CPU-second of the process (all threads): on a machine shared with
	// other work, wall-clock rates understate the engine; these do not
	// count time the engine spent descheduled (nor idle waiting).
	TrainTokPerCPUSec  float64
	SampleTokPerCPUSec float64
	PeakRSSMiB         float64 // process VmHWM after this benchmark (Linux)
}

// TrainFLOPs is the multiply-add work of one training step on seqs
// sequences of length T, counted as the engine executes it (2 FLOPs per
// multiply-add): the weight matrices (forward 2, backward 4 per weight and
// token, including the output head), and attention over the full T x T
// square per sequence (2 GEMMs forward, 5 in the backward pass that
// recomputes the probabilities).
func TrainFLOPs(c model.Config, seqs, T int) float64 {
	q, kv := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	perTok := float64(c.Layers)*float64(c.Hidden*(q+2*kv)+q*c.Hidden+3*c.Hidden*c.Intermediate) + float64(c.VocabSize*c.Hidden)
	tokens := float64(seqs * T)
	attn := float64(seqs) * float64(c.Layers*c.Heads) * 7 * 2 * float64(T) * float64(T) * float64(c.HeadDim)
	return 6*perTok*tokens + attn
}

// charTok is a tokenizer over vocab single-byte symbols, for benchmarks.
func benchTokenizer(vocab int) (tokenizer.Tokenizer, error) {
	var sb strings.Builder
	for i := 0; sb.Len() < vocab-1 && i < 0x7f; i++ {
		if i >= 0x21 {
			sb.WriteByte(byte(i))
		}
	}
	return tokenizer.NewChar(sb.String(), []string{"<|endoftext|>"})
}

// BenchEngine trains and samples a freshly initialised preset model and
// reports throughput.
func BenchEngine(ctx context.Context, bc BenchConfig) (BenchResult, error) {
	r := BenchResult{Config: bc, Procs: runtime.GOMAXPROCS(0)}
	cfg, err := model.Preset(bc.Preset)
	if err != nil {
		return r, err
	}
	tok, err := benchTokenizer(bc.Vocab)
	if err != nil {
		return r, err
	}
	cfg = cfg.WithVocab(tok.VocabSize())
	r.Config.Vocab = cfg.VocabSize
	opt := engine.Optim{LR: 1e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, GradClip: 1, Schedule: "constant"}
	p, err := New(cfg, tok, model.InitWeights(cfg, 1), opt)
	if err != nil {
		return r, err
	}
	r.BLAS, r.Params = p.BLAS(), cfg.NumParams()
	T := bc.SeqLen
	if T == 0 {
		T = cfg.MaxPositions
	}
	rng := rand.New(rand.NewPCG(1, 1))
	b := engine.Batch{Loss: engine.LossPG}
	for i := 0; i < bc.TrainSeqs; i++ {
		s := engine.Sequence{Tokens: make([]int, T), Weights: make([]float32, T)}
		for j := range s.Tokens {
			s.Tokens[j] = rng.IntN(cfg.VocabSize)
			if j > 0 {
				s.Weights[j] = float32(rng.NormFloat64()) / float32(T*bc.TrainSeqs)
			}
		}
		b.Seqs = append(b.Seqs, s)
	}
	if _, err := p.Update(ctx, b); err != nil { // warm-up: buffers
		return r, err
	}
	steps, start, cpu0 := 0, time.Now(), cpuSeconds()
	for steps == 0 || time.Since(start) < bc.MinTime {
		if _, err := p.Update(ctx, b); err != nil {
			return r, err
		}
		steps++
	}
	el := time.Since(start).Seconds()
	cpuEl := cpuSeconds() - cpu0
	r.TrainTokPerSec = float64(steps*T*bc.TrainSeqs) / el
	r.TrainTokPerCPUSec = float64(steps*T*bc.TrainSeqs) / cpuEl
	r.TrainGFLOPs = TrainFLOPs(cfg, bc.TrainSeqs, T) * float64(steps) / el / 1e9
	r.TrainGFLOPsPerCPU = TrainFLOPs(cfg, bc.TrainSeqs, T) * float64(steps) / cpuEl / 1e9

	var reqs []engine.GenRequest
	for i := 0; i < bc.SampleReqs; i++ {
		pr := make([]int, bc.PromptLen)
		for j := range pr {
			pr[j] = rng.IntN(cfg.VocabSize)
		}
		reqs = append(reqs, engine.GenRequest{Prompt: pr, Seed: uint64(i), Sampling: engine.Sampling{Temperature: 1, MaxNewTokens: bc.NewTokens}})
	}
	gen := 0
	start, cpu0 = time.Now(), cpuSeconds()
	for gen == 0 || time.Since(start) < bc.MinTime {
		res, err := p.Generate(ctx, reqs)
		if err != nil {
			return r, err
		}
		for _, x := range res {
			gen += len(x.Tokens)
		}
		r.SampleSteps++
	}
	r.SampleTokPerSec = float64(gen) / time.Since(start).Seconds()
	r.SampleTokPerCPUSec = float64(gen) / (cpuSeconds() - cpu0)
	r.PeakRSSMiB = peakRSSMiB()
	return r, nil
}

// cpuSeconds is the user+system CPU time of the process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// peakRSSMiB reads VmHWM from /proc/self/status (0 where unavailable).
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				kb, _ := strconv.ParseFloat(f[0], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// SGEMMRate measures the square n x n x n SGEMM rate of the named
// implementation ("openblas" or "gonum"), run the way the engine runs it:
// split into fixed blocks over GOMAXPROCS goroutines, each calling a
// single-threaded BLAS. It returns GFLOP/s of wall time and GFLOP per
// CPU-second of the process.
func SGEMMRate(impl string, n int, minTime time.Duration) (wall, perCPU float64, err error) {
	var g blas.Gemm
	switch impl {
	case "gonum":
		g = blas.Gonum{}
	case "openblas":
		if g, err = blas.OpenBLAS(); err != nil {
			return 0, 0, err
		}
	default:
		return 0, 0, fmt.Errorf("sgemm: unknown BLAS %q (want openblas or gonum)", impl)
	}
	ex := &exec{blas: g}
	a := make([]float32, n*n)
	for i := range a {
		a[i] = float32(i%13) * 0.01
	}
	c := make([]float32, n*n)
	ex.gemm(false, true, n, n, n, a, n, a, n, 0, c, n)
	iters, start, cpu0 := 0, time.Now(), cpuSeconds()
	for iters == 0 || time.Since(start) < minTime {
		ex.gemm(false, true, n, n, n, a, n, a, n, 0, c, n)
		iters++
	}
	flops := 2 * float64(n) * float64(n) * float64(n) * float64(iters) / 1e9
	return flops / time.Since(start).Seconds(), flops / (cpuSeconds() - cpu0), nil
}
