package tokenizer

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var scannerSeeds = []string{
	"Step 1: compute 12 + 30 = 42.</thought>",
	"  leading spaces, trailing spaces   ",
	"line one\nline two\r\n\n\ttabbed",
	"I'm sure they'LL go, 'twas he'd've SAID 'RE",
	"Café naïve — ünïcödé 你好 🙂\u00a0\u2003x\u3000",
	"a  \n  b\r\r\n c ,,, !!\n\n?? '' x'",
	"123456789 1,234.5e10 ²³ Ⅻ",
	" \t \n",
	"x\u0085y\u2028z",
	"'s's 'S 'x",
}

// FuzzScannerMatchesRegexp2 checks that each hand-written scanner cuts text
// exactly as regexp2 does with the pattern it stands for.
func FuzzScannerMatchesRegexp2(f *testing.F) {
	for _, s := range scannerSeeds {
		f.Add(s)
	}
	type pair struct {
		name     string
		scan, re splitter
	}
	var pairs []pair
	for name, p := range map[string]string{"qwen2": patternQwen2, "llama3": patternLlama3, "gpt2": patternGPT2} {
		scan, err := newSplitter(p)
		require.NoError(f, err)
		re, err := newRegexSplitter(p)
		require.NoError(f, err)
		pairs = append(pairs, pair{name, scan, re})
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isValidUTF8(s) {
			return // inputs are NFC-normalised strings, hence valid UTF-8
		}
		for _, p := range pairs {
			a, err := p.scan.split(nil, s)
			require.NoError(t, err)
			b, err := p.re.split(nil, s)
			require.NoError(t, err)
			require.Equal(t, pieces(s, b), pieces(s, a), "%s on %q", p.name, s)
		}
	})
}

func isValidUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

func pieces(s string, idx [][2]int) []string {
	out := make([]string, len(idx))
	for i, p := range idx {
		out[i] = s[p[0]:p[1]]
	}
	return out
}

func TestScannerExamples(t *testing.T) {
	qwen, _ := newSplitter(patternQwen2)
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Hello world", []string{"Hello", " world"}},
		{"x  y", []string{"x", " ", " y"}},
		{"a 123", []string{"a", " ", "1", "2", "3"}},
		{"they're", []string{"they", "'re"}},
		{"end.\n\nNext", []string{"end", ".\n\n", "Next"}},
		{"  \n\t x", []string{"  \n", "\t", " x"}},
		{"trailing   ", []string{"trailing", "   "}},
	} {
		got, err := qwen.split(nil, tc.in)
		require.NoError(t, err)
		require.Equal(t, tc.want, pieces(tc.in, got), "%q", tc.in)
	}
}
