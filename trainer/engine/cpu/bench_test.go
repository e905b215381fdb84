package cpu

import (
	"context"
	"testing"
	"time"
)

// Benchmarks report tokens/s and GFLOP/s; `rewind bench engine` prints the
// same numbers with the SGEMM rates beside them. Run with -benchtime 1x:
// each benchmark times its own phases for about a second.
func benchEngine(b *testing.B, bc BenchConfig) {
	for i := 0; i < b.N; i++ {
		r, err := BenchEngine(context.Background(), bc)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.TrainTokPerSec, "train-tok/s")
		b.ReportMetric(r.TrainGFLOPs, "train-GFLOP/s")
		b.ReportMetric(r.TrainGFLOPsPerCPU, "train-GFLOP/cpu-s")
		b.ReportMetric(r.SampleTokPerSec, "sample-tok/s")
		b.ReportMetric(r.PeakRSSMiB, "peak-MiB")
		b.ReportMetric(r.TrainTokPerCPUSec, "train-tok/cpu-s")
		b.ReportMetric(r.SampleTokPerCPUSec, "sample-tok/cpu-s")
	}
}

func BenchmarkEngineTiny(b *testing.B) {
	benchEngine(b, BenchConfig{Preset: "tiny", Vocab: 64, TrainSeqs: 16, SampleReqs: 64, PromptLen: 8, NewTokens: 120, MinTime: time.Second})
}

func BenchmarkEngineSmall(b *testing.B) {
	benchEngine(b, BenchConfig{Preset: "small", Vocab: 64, TrainSeqs: 4, SeqLen: 256, SampleReqs: 64, PromptLen: 8, NewTokens: 32, MinTime: time.Second})
}

func BenchmarkSGEMM(b *testing.B) {
	for _, impl := range []string{"openblas", "gonum"} {
		b.Run(impl, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r, perCPU, err := SGEMMRate(impl, 512, 300*time.Millisecond)
				if err != nil {
					b.Skip(err)
				}
				b.ReportMetric(r, "GFLOP/s")
				b.ReportMetric(perCPU, "GFLOP/cpu-s")
			}
		})
	}
}
