package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"unicode/utf8"

	"github.com/rewind-rl/rewind/internal/atomicfile"
)

// Common special tokens of chat and thought-by-thought formats.
const (
	EndOfText   = "<|endoftext|>"
	IMStart     = "<|im_start|>"
	IMEnd       = "<|im_end|>"
	EndThought  = "</thought>"
	UnknownChar = "<unk>"
)

// NewChar returns a character tokenizer for synthetic tasks: the specials
// get ids 0..len(specials)-1 in order and are matched as whole tokens; then
// each rune of alphabet, in order, is one token. When UnknownChar is among
// the specials, runes outside the alphabet encode to it; otherwise they are
// dropped (as tokenizers does without an unk_token), so check inputs with
// CheckCoverage. EOS is EndOfText when it is among the specials.
//
// It is stored as a standard tokenizer.json (a BPE model with no merges, no
// pre-tokenizer and a Fuse decoder), so the Hugging Face tokenizers library
// loads a checkpoint folder saved with Save and gives the same ids.
func NewChar(alphabet string, specials []string) (*HF, error) {
	type added struct {
		ID         int    `json:"id"`
		Content    string `json:"content"`
		SingleWord bool   `json:"single_word"`
		LStrip     bool   `json:"lstrip"`
		RStrip     bool   `json:"rstrip"`
		Normalized bool   `json:"normalized"`
		Special    bool   `json:"special"`
	}
	var addedToks []added
	vocab := map[string]int{}
	var unk any
	for i, s := range specials {
		if s == "" {
			return nil, fmt.Errorf("char tokenizer: special %d is empty", i)
		}
		if _, dup := vocab[s]; dup {
			return nil, fmt.Errorf("char tokenizer: special %q listed twice", s)
		}
		vocab[s] = i
		addedToks = append(addedToks, added{ID: i, Content: s, Special: true})
		if s == UnknownChar {
			unk = s
		}
	}
	if !utf8.ValidString(alphabet) {
		return nil, fmt.Errorf("char tokenizer: alphabet is not valid UTF-8")
	}
	if alphabet == "" {
		return nil, fmt.Errorf("char tokenizer: empty alphabet")
	}
	for _, r := range alphabet {
		s := string(r)
		if _, dup := vocab[s]; dup {
			return nil, fmt.Errorf("char tokenizer: %q appears twice in the alphabet (or is also a special)", s)
		}
		vocab[s] = len(vocab)
	}
	doc := map[string]any{
		"version":        "1.0",
		"truncation":     nil,
		"padding":        nil,
		"added_tokens":   addedToks,
		"normalizer":     nil,
		"pre_tokenizer":  nil,
		"post_processor": nil,
		"decoder":        map[string]any{"type": "Fuse"},
		"model": map[string]any{
			"type": "BPE", "dropout": nil, "unk_token": unk,
			"continuing_subword_prefix": nil, "end_of_word_suffix": nil,
			"fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": vocab, "merges": []any{},
		},
	}
	b, err := marshalJSON(doc)
	if err != nil {
		return nil, err
	}
	return Parse(b)
}

// CheckCoverage returns an error naming the first character of text (outside
// added tokens) that the vocabulary cannot represent, which Encode would
// turn into the unk token or drop.
func (t *HF) CheckCoverage(text string) error {
	for _, seg := range t.rawMatch.split(nil, text) {
		if seg.tok != nil {
			continue
		}
		for i, r := range seg.text {
			var ok bool
			if t.byteLevel {
				ok = true
				for _, b := range []byte(string(r)) {
					ok = ok && t.byteID[b] >= 0
				}
			} else {
				_, ok = t.runeID[r]
			}
			if !ok {
				return fmt.Errorf("character %q at byte %d is not in the tokenizer's vocabulary", r, i)
			}
		}
	}
	return nil
}

// Save writes the tokenizer.json this tokenizer was parsed from into dir,
// and a minimal tokenizer_config.json (tokenizer class and eos_token) so
// that transformers' AutoTokenizer loads the folder. It overwrites both.
func (t *HF) Save(dir string) error {
	if err := atomicfile.WriteFile(filepath.Join(dir, FileName), t.raw); err != nil {
		return err
	}
	cfg := map[string]any{
		"tokenizer_class":              "PreTrainedTokenizerFast",
		"clean_up_tokenization_spaces": false,
		"model_max_length":             1 << 30,
	}
	if t.eos >= 0 {
		eos := ""
		if a := t.added[t.eos]; a != nil {
			eos = a.Content
		} else {
			for tok, id := range t.vocab {
				if id == t.eos {
					eos = tok
				}
			}
		}
		cfg["eos_token"] = eos
	}
	b, err := marshalJSON(cfg)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(dir, ConfigFileName), b)
}

// marshalJSON indents and leaves <, > and & unescaped, as Python writes them.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
