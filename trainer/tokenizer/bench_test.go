package tokenizer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// benchText is ~64 KiB of mixed prose, numbers, code-ish punctuation,
// whitespace runs, non-ASCII text and chat markers.
func benchText() string {
	var b strings.Builder
	for b.Len() < 64<<10 {
		for _, s := range scannerSeeds {
			b.WriteString(s)
			b.WriteString(" So the answer is \\boxed{42}. <|im_end|>\n")
		}
	}
	return b.String()
}

func benchEncode(b *testing.B, tk *HF) {
	text := benchText()
	tk.Encode(text) // warm the cache, as in steady-state use
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.Encode(text)
	}
}

// BenchmarkEncodeQwen2 uses the hand-written scanner for Qwen2's regex.
func BenchmarkEncodeQwen2(b *testing.B) {
	tk, _ := loadGolden(b)
	benchEncode(b, tk)
}

// BenchmarkEncodeQwen2Regexp2 is the same with the regex run by regexp2.
func BenchmarkEncodeQwen2Regexp2(b *testing.B) {
	tk, _ := loadGolden(b)
	re, err := newRegexSplitter(patternQwen2)
	require.NoError(b, err)
	tk.splitters = []splitter{re}
	benchEncode(b, tk)
}

// BenchmarkEncodeQwen2Cold measures encoding with an empty word cache.
func BenchmarkEncodeQwen2Cold(b *testing.B) {
	tk, _ := loadGolden(b)
	text := benchText()
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		tk.cache.Clear()
		tk.cacheSize.Store(0)
		tk.Encode(text)
	}
}

func BenchmarkDecodeQwen2(b *testing.B) {
	tk, _ := loadGolden(b)
	text := benchText()
	ids := tk.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ReportMetric(float64(len(ids)), "tokens/op")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tk.Decode(ids)
	}
}

func BenchmarkEncodeChar(b *testing.B) {
	tk, err := NewChar("0123456789+-*/=() \nabcdefghijklmnopqrstuvwxyz.,:", []string{EndOfText, IMStart, IMEnd, EndThought})
	require.NoError(b, err)
	text := strings.Repeat("<|im_start|>user\ncompute (12+30)*4 = 168.</thought><|im_end|>\n", 1000)
	b.SetBytes(int64(len(text)))
	for i := 0; i < b.N; i++ {
		tk.Encode(text)
	}
}
