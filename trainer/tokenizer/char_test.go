package tokenizer

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCharTokenizer(t *testing.T) {
	specials := []string{EndOfText, IMStart, IMEnd, EndThought}
	tk, err := NewChar("0123456789+-*= \nabé", specials)
	require.NoError(t, err)
	require.Equal(t, len(specials)+19, tk.VocabSize())
	require.Equal(t, 0, tk.EOS())

	text := "<|im_start|>12+3=15</thought>é\n<|im_end|><|endoftext|>"
	ids := tk.Encode(text)
	require.Equal(t, []int{1, 5, 6, 14, 7, 17, 5, 9, 3, 22, 19, 2, 0}, ids)
	require.Equal(t, text, tk.Decode(ids))
	require.Equal(t, []byte("é"), tk.TokenBytes(22))
	require.Equal(t, []byte(EndThought), tk.TokenBytes(3))
	id, ok := tk.TokenID(EndThought)
	require.True(t, ok)
	require.Equal(t, 3, id)

	// Unknown characters are dropped without <unk>; CheckCoverage names them.
	require.Equal(t, []int{5, 6}, tk.Encode("1x2"))
	require.ErrorContains(t, tk.CheckCoverage("12x"), `character 'x' at byte 2`)
	require.NoError(t, tk.CheckCoverage("<|im_end|>12"))

	withUnk, err := NewChar("ab", []string{UnknownChar})
	require.NoError(t, err)
	require.Equal(t, []int{1, 0, 2}, withUnk.Encode("azb"))
	require.Equal(t, -1, withUnk.EOS())

	// Save and Load round-trip, through the generic loader.
	dir := t.TempDir()
	require.NoError(t, tk.Save(dir))
	back, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, ids, back.Encode(text))
	require.Equal(t, text, back.Decode(ids))
	require.Equal(t, tk.VocabSize(), back.VocabSize())
	require.Equal(t, 0, back.EOS())
	cfg, err := os.ReadFile(filepath.Join(dir, ConfigFileName))
	require.NoError(t, err)
	require.Contains(t, string(cfg), `"eos_token": "<|endoftext|>"`)
	require.Contains(t, string(cfg), `"tokenizer_class": "PreTrainedTokenizerFast"`)
}

func TestNewCharErrors(t *testing.T) {
	for _, tc := range []struct {
		alphabet string
		specials []string
		want     string
	}{
		{"aba", nil, `"a" appears twice`},
		{"", nil, "empty alphabet"},
		{"ab", []string{"x", "x"}, `special "x" listed twice`},
		{"ab", []string{""}, "special 0 is empty"},
		{"a\xff", nil, "not valid UTF-8"},
	} {
		_, err := NewChar(tc.alphabet, tc.specials)
		require.ErrorContains(t, err, tc.want)
	}
}

func TestLoadEOSFromConfig(t *testing.T) {
	dir := t.TempDir()
	tk, err := NewChar("ab", []string{EndOfText, IMEnd})
	require.NoError(t, err)
	require.NoError(t, tk.Save(dir))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(`{"eos_token": {"content": "<|im_end|>"}}`), 0o644))
	back, err := Load(dir)
	require.NoError(t, err)
	require.Equal(t, 1, back.EOS())
	require.NoError(t, os.WriteFile(filepath.Join(dir, ConfigFileName), []byte(`{"eos_token": "<nope>"}`), 0o644))
	_, err = Load(dir)
	require.ErrorContains(t, err, `eos_token "<nope>" is not a token`)
}

func TestParseUnsupported(t *testing.T) {
	bpe := `"model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}`
	for _, tc := range []struct{ name, json, want string }{
		{"model type", `{"model":{"type":"Unigram","vocab":[]}}`, `model type "Unigram" is not supported`},
		{"no model", `{}`, `field "model": missing`},
		{"normalizer", `{"normalizer":{"type":"NFKC"},` + bpe + `}`, `normalizer "NFKC" is not supported`},
		{"pre-tokenizer", `{"pre_tokenizer":{"type":"Whitespace"},` + bpe + `}`, `pre_tokenizer "Whitespace" is not supported`},
		{"split behaviour", `{"pre_tokenizer":{"type":"Split","pattern":{"Regex":"a"},"behavior":"Removed","invert":false},` + bpe + `}`, `behavior "Removed"`},
		{"decoder", `{"decoder":{"type":"WordPiece"},` + bpe + `}`, `decoder "WordPiece" is not supported`},
		{"byte-level mismatch", `{"pre_tokenizer":{"type":"ByteLevel"},` + bpe + `}`, "ByteLevel pre_tokenizer needs a ByteLevel decoder"},
		{"byte fallback", `{"model":{"type":"BPE","byte_fallback":true,"vocab":{"a":0}}}`, "byte_fallback is not supported"},
		{"bad merge", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}}`, `merge 0 ("a", "b")`},
		{"bad merge shape", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[["a"]]}}`, `merge 0: want "a b" or ["a", "b"]`},
		{"shared id", `{"added_tokens":[{"id":0,"content":"x"}],` + bpe + `}`, `share id 0`},
		{"not json", `{`, "not a tokenizer.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestMergesAsStringsOrPairs(t *testing.T) {
	for _, merges := range []string{`["a b","ab c","b c"]`, `[["a","b"],["ab","c"],["b","c"]]`} {
		tk, err := Parse([]byte(`{"decoder":{"type":"Fuse"},"model":{"type":"BPE","vocab":{"a":0,"b":1,"c":2,"ab":3,"abc":4,"bc":5},"merges":` + merges + `}}`))
		require.NoError(t, err)
		// a·b merges first (rank 0), then ab·c (rank 1) before b·c (rank 2).
		require.Equal(t, []int{4, 5, 0}, tk.Encode("abcbca"))
		require.Equal(t, "abcbca", tk.Decode([]int{4, 5, 0}))
	}
}

func TestAddedTokenFlags(t *testing.T) {
	tk, err := Parse([]byte(`{"decoder":{"type":"Fuse"},
		"added_tokens":[{"id":3,"content":"<x>","lstrip":true,"rstrip":true,"special":true},
		                {"id":4,"content":"w","single_word":true,"special":false,"normalized":false},
		                {"id":5,"content":"<xx>","special":true}],
		"model":{"type":"BPE","vocab":{"a":0," ":1,"w":2},"merges":[]}}`))
	require.NoError(t, err)
	require.Equal(t, []int{0, 3, 0}, tk.Encode("a  <x> a"), "lstrip/rstrip swallow the spaces")
	require.Equal(t, []int{0, 5}, tk.Encode("a<xx>"), "longest match wins")
	require.Equal(t, []int{4, 1, 0, 2}, tk.Encode("w aw"), "single_word only matches outside words")
	require.Equal(t, 6, tk.VocabSize())
}

var update = flag.Bool("update", false, "rewrite testdata/char/tokenizer.json")

// charFileSpec is the character tokenizer whose tokenizer.json is committed
// in testdata/char and was checked with the Hugging Face library.
func charFileSpec() (*HF, error) {
	return NewChar("0123456789+-*/=() \n?abcdefghijklmnopqrstuvwxyz", []string{EndOfText, IMStart, IMEnd, EndThought})
}

// TestCharFile pins the tokenizer.json that NewChar writes: the committed
// copy is the one hf_crosscheck.js loaded with Hugging Face tokenizers.
func TestCharFile(t *testing.T) {
	tk, err := charFileSpec()
	require.NoError(t, err)
	dir := filepath.Join("testdata", "char")
	if *update {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, tk.Save(dir))
	}
	b, err := os.ReadFile(filepath.Join(dir, FileName))
	require.NoError(t, err)
	require.Equal(t, string(b), string(tk.raw), "run with -update and rerun hf_crosscheck.js")
}
