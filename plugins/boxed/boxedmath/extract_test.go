package boxedmath

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// extractByScan is the definition Extract implements: try the \boxed
// occurrences from the last backwards and take the first whose brace
// group closes, each scanned on its own (quadratic in the number of
// unclosed ones). Kept as the reference for the one-pass Extract.
func extractByScan(s string) (string, bool) {
	end := len(s)
	for {
		i := strings.LastIndex(s[:end], `\boxed`)
		if i < 0 {
			return "", false
		}
		if content, ok := braced(s[i+len(`\boxed`):]); ok {
			return content, true
		}
		end = i
	}
}

// TestExtractAgreesWithScan compares Extract with the reference on
// random strings built from the pieces that matter (\boxed, braces,
// backslashes, spaces), and on a few hand-made traps.
func TestExtractAgreesWithScan(t *testing.T) {
	traps := []string{
		`\boxed{a}}\boxed{b`, `}}}\boxed{x}`, `\boxed{\}`, `\boxed{\\}`, `\\boxed{1}`, `\boxed\boxed{2}`,
		`\boxed  {  3 }`, `\boxed{1{2}\boxed{3}`, `\boxed{1}\boxed{2{}`, `{\boxed{4}`, `\boxed{\boxed{5}}`,
		`\boxed{6}` + strings.Repeat(`\boxed{`, 100), strings.Repeat(`\boxed{`, 50) + "7}",
	}
	for _, s := range traps {
		want, wantOK := extractByScan(s)
		got, ok := Extract(s)
		require.Equal(t, wantOK, ok, "%q", s)
		require.Equal(t, want, got, "%q", s)
	}
	pieces := []string{`\boxed`, `\boxed{`, `{`, `}`, `\`, ` `, `a`, `\{`, `\}`, `\\`, `d`}
	rng := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	for range 20000 {
		b.Reset()
		for range rng.IntN(24) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		want, wantOK := extractByScan(s)
		got, ok := Extract(s)
		require.Equal(t, wantOK, ok, "%q", s)
		require.Equal(t, want, got, "%q", s)
	}
}

// TestExtractHostile: 2,000 unclosed \boxed{ (14 KB) took 49 ms with the
// scan and timed every Wasm build out; the answer before them still wins.
func TestExtractHostile(t *testing.T) {
	s := `\boxed{42} ` + strings.Repeat(`\boxed{`, 2000)
	got, ok := Extract(s)
	require.True(t, ok)
	require.Equal(t, "42", got)
	require.Zero(t, testing.AllocsPerRun(10, func() { Extract(`\boxed{1} \boxed{\frac{1}{2}}`) }))
}

// BenchmarkExtractUnclosed measures the hostile response: linear now.
func BenchmarkExtractUnclosed(b *testing.B) {
	s := strings.Repeat(`\boxed{`, 2000)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		Extract(s)
	}
}

// BenchmarkExtractUnclosedByScan is the same input through the reference
// scan, for comparison (docs/bench/plugins.md).
func BenchmarkExtractUnclosedByScan(b *testing.B) {
	s := strings.Repeat(`\boxed{`, 2000)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		extractByScan(s)
	}
}
