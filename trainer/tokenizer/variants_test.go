package tokenizer

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// byteLevelJSON builds a byte-level BPE tokenizer.json with the 256 byte
// runes as ids 0..255 plus extra tokens and merges.
func byteLevelJSON(t *testing.T, pre, model map[string]any, extra []string, merges [][2]string, added []map[string]any) []byte {
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	for _, e := range extra {
		vocab[e] = len(vocab)
	}
	model["type"] = "BPE"
	model["vocab"] = vocab
	model["merges"] = merges
	doc := map[string]any{
		"normalizer": map[string]any{"type": "NFC"}, "pre_tokenizer": pre,
		"decoder": map[string]any{"type": "ByteLevel"}, "model": model, "added_tokens": added,
	}
	b, err := json.Marshal(doc)
	require.NoError(t, err)
	return b
}

func bid(b byte) int { return int(b) }

func TestByteLevelPrefixSpaceGPT2Regex(t *testing.T) {
	tk, err := Parse(byteLevelJSON(t,
		map[string]any{"type": "ByteLevel", "add_prefix_space": true, "use_regex": true},
		map[string]any{}, []string{"Ġh"}, [][2]string{{"Ġ", "h"}}, nil))
	require.NoError(t, err)
	// Pieces "hello" and " world"; the first gets a prefix space.
	ids := tk.Encode("hello world")
	require.Equal(t, []int{256, bid('e'), bid('l'), bid('l'), bid('o'), bid(' '), bid('w'), bid('o'), bid('r'), bid('l'), bid('d')}, ids)
	require.Equal(t, " hello world", tk.Decode(ids))
	require.Equal(t, []byte(" h"), tk.TokenBytes(256))
}

// TestIgnoreMerges: expected ids are from tokenizers 0.23.2.
func TestIgnoreMerges(t *testing.T) {
	for _, ignore := range []bool{false, true} {
		tk, err := Parse(byteLevelJSON(t,
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
			map[string]any{"ignore_merges": ignore}, []string{"ab", "abc"}, [][2]string{{"a", "b"}}, nil))
		require.NoError(t, err)
		want := []int{256, bid('c')} // "abc" is not reachable by merges
		if ignore {
			want = []int{257} // but is taken whole when merges are ignored
		}
		require.Equal(t, want, tk.Encode("abc"), "ignore_merges=%v", ignore)
	}
}

func TestNormalizedAddedToken(t *testing.T) {
	tk, err := Parse(byteLevelJSON(t,
		map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
		map[string]any{}, nil, nil,
		[]map[string]any{{"id": 256, "content": "\u00e9!", "normalized": true, "special": false}}))
	require.NoError(t, err)
	// "e" + combining acute is NFC "é": the normalized added token matches it.
	require.Equal(t, []int{bid('x'), 256}, tk.Encode("xe\u0301!"))
	// tokenizers 0.23.2 decodes this to "x\uFFFD!": it sends added tokens
	// through the ByteLevel decoder, which reads "é" as the byte 0xE9. We
	// write added tokens verbatim (see "What `HF` implements" in doc.go).
	require.Equal(t, "x\u00e9!", tk.Decode([]int{bid('x'), 256}))
}

func TestUnkAndFuseUnk(t *testing.T) {
	for _, fuse := range []bool{false, true} {
		tk, err := Parse([]byte(`{"decoder":{"type":"Fuse"},"model":{"type":"BPE","unk_token":"?","fuse_unk":` +
			map[bool]string{false: "false", true: "true"}[fuse] + `,"vocab":{"?":0,"a":1},"merges":[]}}`))
		require.NoError(t, err)
		want := []int{1, 0, 0, 1}
		if fuse {
			want = []int{1, 0, 1}
		}
		require.Equal(t, want, tk.Encode("axya"))
	}
}

// TestByteLevelPrefixSpaceScope pins where add_prefix_space applies: to each
// piece that exists before the ByteLevel step (after Split), not to each
// piece of ByteLevel's own regex. Expected ids are from tokenizers 0.23.2.
func TestByteLevelPrefixSpaceScope(t *testing.T) {
	gpt2, err := Parse(byteLevelJSON(t,
		map[string]any{"type": "ByteLevel", "add_prefix_space": true, "use_regex": true},
		map[string]any{}, []string{"Ġh"}, [][2]string{{"Ġ", "h"}}, nil))
	require.NoError(t, err)
	require.Equal(t, []int{32, 60, 120, 62, 32, 121}, gpt2.Encode("<x> y"))

	split, err := Parse(byteLevelJSON(t,
		map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": " "}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": true, "use_regex": false},
		}},
		map[string]any{}, nil, nil, nil))
	require.NoError(t, err)
	ids := split.Encode("ab cd")
	require.Equal(t, []int{32, 97, 98, 32, 32, 99, 100}, ids)
	require.Equal(t, " ab  cd", split.Decode(ids))
}
