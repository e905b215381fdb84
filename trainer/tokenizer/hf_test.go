package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rewind-rl/rewind/internal/testref"
)

type goldenCase struct {
	Text    string `json:"text"`
	IDs     []int  `json:"ids"`
	Decoded string `json:"decoded"`
}

func loadGolden(t testing.TB) (*HF, []goldenCase) {
	dir := testref.RequireHFDir(t)
	tk, err := LoadHF(dir)
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(dir, "tokenizer_golden.json"))
	require.NoError(t, err)
	var cases []goldenCase
	require.NoError(t, json.Unmarshal(b, &cases))
	require.NotEmpty(t, cases)
	return tk, cases
}

func TestQwen2Golden(t *testing.T) {
	tk, cases := loadGolden(t)
	for _, c := range cases {
		t.Run(c.Text, func(t *testing.T) {
			require.Equal(t, c.IDs, tk.Encode(c.Text))
			require.Equal(t, c.Decoded, tk.Decode(c.IDs))
		})
	}
	require.Equal(t, 600, tk.VocabSize())
	require.Equal(t, 0, tk.EOS())
	for name, id := range map[string]int{"<|endoftext|>": 0, "<|im_start|>": 1, "<|im_end|>": 2} {
		got, ok := tk.TokenID(name)
		require.True(t, ok)
		require.Equal(t, id, got)
		require.Equal(t, []byte(name), tk.TokenBytes(id))
	}
}

// TestTokenBytesConcatenation checks that the raw bytes of the tokens of any
// text concatenate back to its NFC form: what a sampler's incremental stop
// detection relies on.
func TestTokenBytesConcatenation(t *testing.T) {
	tk, cases := loadGolden(t)
	for _, c := range cases {
		var b []byte
		for _, id := range tk.Encode(c.Text) {
			b = append(b, tk.TokenBytes(id)...)
		}
		require.Equal(t, c.Decoded, string(b))
	}
	// A multi-byte character split across byte-level tokens: each token's
	// bytes alone are not UTF-8, Decode of one is U+FFFD, of all is the text.
	ids := tk.Encode("🙂")
	require.Greater(t, len(ids), 1, "the tiny vocabulary has no token for 🙂")
	require.Equal(t, "\uFFFD", tk.Decode(ids[:1]))
	require.Equal(t, "🙂", tk.Decode(ids))
	require.Nil(t, tk.TokenBytes(-1))
	require.Nil(t, tk.TokenBytes(tk.VocabSize()))
}

func TestAppendLossyMatchesRust(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe4\xbd", "\uFFFD"},                 // truncated 3-byte sequence: one maximal subpart
		{"\xff\xfe", "\uFFFD\uFFFD"},           // two invalid lead bytes
		{"\xe0\x80", "\uFFFD\uFFFD"},           // E0 80: 80 cannot follow E0
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // surrogate
		{"\xf0\x9f\x99", "\uFFFD"},             // truncated emoji
		{"\xf0\x9f\x99x", "\uFFFDx"},
		{"a\xc3", "a\uFFFD"},
		{"\xef\xbf\xbd", "\uFFFD"}, // a real U+FFFD stays one
	} {
		require.Equal(t, tc.want, string(appendLossy(nil, []byte(tc.in))), "%q", tc.in)
	}
}

// TestCrossCheckHF compares Encode and Decode with the Hugging Face
// tokenizers library on hand-written and random probes (testdata/hf_ids.json,
// made by testdata/hf_crosscheck.js), for the byte-level BPE of qwen2-tiny
// and for the character tokenizer's tokenizer.json.
func TestCrossCheckHF(t *testing.T) {
	qwen, _ := loadGolden(t)
	chr, err := LoadHF(filepath.Join("testdata", "char"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join("testdata", "hf_ids.json"))
	require.NoError(t, err)
	var cases []struct {
		Tokenizer string `json:"tokenizer"`
		goldenCase
	}
	require.NoError(t, json.Unmarshal(b, &cases))
	n := map[string]int{}
	for i, c := range cases {
		tk := map[string]*HF{"qwen2-tiny": qwen, "char": chr}[c.Tokenizer]
		require.NotNil(t, tk, c.Tokenizer)
		n[c.Tokenizer]++
		ids := tk.Encode(c.Text)
		if ids == nil {
			ids = []int{}
		}
		if c.IDs == nil {
			c.IDs = []int{}
		}
		require.Equal(t, c.IDs, ids, "case %d (%s): %q", i, c.Tokenizer, c.Text)
		require.Equal(t, c.Decoded, tk.Decode(c.IDs), "case %d (%s): %q", i, c.Tokenizer, c.Text)
	}
	require.Greater(t, n["qwen2-tiny"], 400)
	require.Greater(t, n["char"], 100)
}

func TestConcurrentEncode(t *testing.T) {
	tk, cases := loadGolden(t)
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 20; i++ {
				for _, c := range cases {
					if got := tk.Encode(c.Text); len(got) != len(c.IDs) {
						t.Errorf("concurrent Encode(%q) = %v", c.Text, got)
						return
					}
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}
