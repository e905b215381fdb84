package boxedmath

import (
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseRatAgreesWithParse checks the int64 fast path against the
// math/big reference on every form the package accepts, on near-misses,
// and on values that overflow int64 (where the fast path must say so).
func TestParseRatAgreesWithParse(t *testing.T) {
	inputs := []string{
		"0", "-0", "+0", "42", "-42", "1,234", "1,234,567.89", "1,23", ",123", "123,", "0.5", ".5", "5.", ".",
		"-.5", "- 5", "+ 3/4", "3/4", "3 / 4", "3/0", "0/3", "-6/-3", "1/0.5", "0.1/0.3", "1.5/2,000",
		`\frac{1}{2}`, `\frac{-1}{2}`, `-\frac{1}{-2}`, `\frac{3}{0}`, `\frac34`, `\frac345`, `\frac{1/2}{3}`,
		`\frac{\frac{1}{2}}{\frac{3}{4}}`, `\frac{1}`, `\frac{1}{2}x`, `\frac {1} {2}`, `\frac{0.5}{1,000}`,
		"9223372036854775807", "9223372036854775808", "-9223372036854775808", "99999999999999999999",
		"0.0000000000000000001", "1.0000000000000000001", "9223372036854775807/2", "3037000500/0.0000000003",
		`\frac{9223372036854775807}{9223372036854775806}`, "x", "", "1e5", "0x10", "١٢",
	}
	for _, in := range inputs {
		want, wantOK := Parse(in)
		got, ok, overflow := parseRat(in)
		if overflow {
			continue // Parse decides; Equal falls back to it
		}
		require.Equal(t, wantOK, ok, "%q", in)
		if ok {
			require.Positive(t, got.d, "%q", in)
			require.Zero(t, want.Cmp(big.NewRat(got.n, got.d)), "%q: %d/%d, want %s", in, got.n, got.d, want)
		}
	}
	_, _, overflow := parseRat("99999999999999999999")
	require.True(t, overflow)
	require.True(t, Equal("99999999999999999999", "99,999,999,999,999,999,999"), "big fallback")
	require.False(t, Equal("99999999999999999999", "99999999999999999998"))
}

func TestEqualRat(t *testing.T) {
	require.True(t, equalRat(rat{1, 2}, rat{2, 4}))
	require.True(t, equalRat(rat{0, 3}, rat{0, 7}))
	require.False(t, equalRat(rat{1, 2}, rat{-1, 2}))
	require.True(t, equalRat(rat{-3, 6}, rat{-1, 2}))
	// Cross products beyond 64 bits.
	const big = 1 << 62
	require.True(t, equalRat(rat{big, big - 1}, rat{big, big - 1}))
	require.False(t, equalRat(rat{big, big - 1}, rat{big - 1, big - 2}))
}

func BenchmarkEqual(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if !Equal("1,234", "1234") {
			b.Fatal("unequal")
		}
	}
}

func BenchmarkGrade(b *testing.B) {
	resp := strings.Repeat("We add the numbers step by step. ", 8) + `So the total is $\boxed{1,234}$.`
	answer := json.RawMessage(`"1234"`)
	b.ReportAllocs()
	for b.Loop() {
		if v := Grade(resp, answer); v.Score != 1 {
			b.Fatal(v)
		}
	}
}
