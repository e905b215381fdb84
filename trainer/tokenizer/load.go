package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
	"golang.org/x/text/unicode/norm"
)

// File names in a model directory, as Hugging Face names them.
const (
	FileName       = "tokenizer.json"
	ConfigFileName = "tokenizer_config.json"
)

// Load reads a tokenizer from a tokenizer.json file, or from a directory
// holding one (a Hugging Face checkpoint folder), dispatching on the
// file's model type. In a directory, the eos_token of tokenizer_config.json
// (when present) sets EOS.
func Load(path string) (Tokenizer, error) {
	return LoadHF(path)
}

// LoadHF is Load with the concrete type.
func LoadHF(path string) (*HF, error) {
	file, dir := path, ""
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		dir, file = path, filepath.Join(path, FileName)
	} else {
		dir = filepath.Dir(path)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("load tokenizer: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", file, err)
	}
	if eos, ok, err := configEOS(filepath.Join(dir, ConfigFileName)); err != nil {
		return nil, err
	} else if ok {
		id, found := t.TokenID(eos)
		if !found {
			return nil, fmt.Errorf("%s: eos_token %q is not a token of %s", filepath.Join(dir, ConfigFileName), eos, file)
		}
		t.eos = id
	}
	return t, nil
}

// configEOS reads eos_token from a tokenizer_config.json, if the file exists.
func configEOS(path string) (string, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("load tokenizer: %w", err)
	}
	var c struct {
		EOS json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", false, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.EOS) == 0 || string(c.EOS) == "null" {
		return "", false, nil
	}
	var s string
	if json.Unmarshal(c.EOS, &s) == nil {
		return s, true, nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(c.EOS, &obj); err != nil || obj.Content == "" {
		return "", false, fmt.Errorf(`%s: field "eos_token": want a string or {"content": ...}, got %s`, path, c.EOS)
	}
	return obj.Content, true, nil
}

type fileJSON struct {
	AddedTokens  []*addedToken   `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Decoder      json.RawMessage `json:"decoder"`
	Model        json.RawMessage `json:"model"`
}

type component struct {
	Type string `json:"type"`
}

type bpeModel struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   map[string]int  `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// Parse builds a tokenizer from the bytes of a tokenizer.json. Components it
// does not implement are an error naming the component, never ignored. The
// post_processor and the truncation and padding settings are not used:
// Encode adds no special tokens.
func Parse(b []byte) (*HF, error) {
	var f fileJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json: %w", err)
	}
	if isNull(f.Model) {
		return nil, errors.New(`field "model": missing`)
	}
	var mt component
	if err := json.Unmarshal(f.Model, &mt); err != nil {
		return nil, fmt.Errorf(`field "model": %w`, err)
	}
	if mt.Type != "BPE" {
		return nil, fmt.Errorf(`model type %q is not supported (only "BPE")`, mt.Type)
	}
	var m bpeModel
	if err := json.Unmarshal(f.Model, &m); err != nil {
		return nil, fmt.Errorf(`field "model": %w`, err)
	}
	t := &HF{raw: append([]byte(nil), b...), unk: -1, eos: -1}
	if err := t.parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if err := t.parsePreTokenizer(f.PreTokenizer, 0); err != nil {
		return nil, err
	}
	if err := t.parseDecoder(f.Decoder); err != nil {
		return nil, err
	}
	if t.byteLevel != (t.decoder == decodeByteLevel) {
		return nil, errors.New("a ByteLevel pre_tokenizer needs a ByteLevel decoder and the other way round")
	}
	if err := t.parseModel(&m); err != nil {
		return nil, err
	}
	if err := t.parseAdded(f.AddedTokens); err != nil {
		return nil, err
	}
	for _, name := range []string{"<|endoftext|>", "</s>"} {
		if id, ok := t.TokenID(name); ok {
			t.eos = id
			break
		}
	}
	return t, nil
}

func (t *HF) parseNormalizer(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var c struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf(`field "normalizer": %w`, err)
	}
	switch c.Type {
	case "NFC":
		t.nfc = true
	case "Sequence":
		for _, n := range c.Normalizers {
			if err := t.parseNormalizer(n); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf(`normalizer %q is not supported (only "NFC", or a Sequence of it)`, c.Type)
	}
	return nil
}

func (t *HF) parsePreTokenizer(raw json.RawMessage, depth int) error {
	if isNull(raw) {
		return nil
	}
	var c struct {
		Type          string            `json:"type"`
		Pretokenizers []json.RawMessage `json:"pretokenizers"`
		Pattern       map[string]string `json:"pattern"`
		Behavior      string            `json:"behavior"`
		Invert        bool              `json:"invert"`
		AddPrefix     bool              `json:"add_prefix_space"`
		UseRegex      *bool             `json:"use_regex"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf(`field "pre_tokenizer": %w`, err)
	}
	if t.byteLevel {
		return fmt.Errorf("pre_tokenizer %q after ByteLevel is not supported (ByteLevel must come last)", c.Type)
	}
	switch c.Type {
	case "Sequence":
		if depth > 0 {
			return errors.New("nested pre_tokenizer Sequence is not supported")
		}
		for _, p := range c.Pretokenizers {
			if err := t.parsePreTokenizer(p, depth+1); err != nil {
				return err
			}
		}
	case "Split":
		if c.Behavior != "Isolated" || c.Invert {
			return fmt.Errorf(`pre_tokenizer Split with behavior %q and invert %v is not supported (only "Isolated", false)`, c.Behavior, c.Invert)
		}
		var pattern string
		if re, ok := c.Pattern["Regex"]; ok {
			pattern = re
		} else if s, ok := c.Pattern["String"]; ok {
			pattern = regexp2.Escape(s)
		} else {
			return errors.New(`pre_tokenizer Split: "pattern" needs "Regex" or "String"`)
		}
		sp, err := newSplitter(pattern)
		if err != nil {
			return fmt.Errorf("pre_tokenizer Split: pattern %q: %w", pattern, err)
		}
		t.splitters = append(t.splitters, sp)
	case "ByteLevel":
		t.byteLevel = true
		t.prefixSpace = c.AddPrefix
		if c.UseRegex == nil || *c.UseRegex {
			t.byteRegex, _ = newSplitter(patternGPT2)
		}
	default:
		return fmt.Errorf(`pre_tokenizer %q is not supported (only "Split", "ByteLevel" and a Sequence of them)`, c.Type)
	}
	return nil
}

func (t *HF) parseDecoder(raw json.RawMessage) error {
	if isNull(raw) {
		t.decoder = decodeJoinSpace
		return nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf(`field "decoder": %w`, err)
	}
	switch c.Type {
	case "ByteLevel":
		t.decoder = decodeByteLevel
	case "Fuse":
		t.decoder = decodeFuse
	default:
		return fmt.Errorf(`decoder %q is not supported (only "ByteLevel" and "Fuse")`, c.Type)
	}
	return nil
}

func (t *HF) parseModel(m *bpeModel) error {
	switch {
	case m.Dropout != nil && *m.Dropout != 0:
		return errors.New("BPE model: dropout is not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return errors.New("BPE model: continuing_subword_prefix is not supported")
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return errors.New("BPE model: end_of_word_suffix is not supported")
	case m.ByteFallback:
		return errors.New("BPE model: byte_fallback is not supported")
	case len(m.Vocab) == 0:
		return errors.New(`BPE model: field "vocab": missing or empty`)
	}
	t.fuseUnk, t.ignoreMerges = m.FuseUnk, m.IgnoreMerges
	t.vocab = m.Vocab
	size := 0
	limit := maxID(len(m.Vocab))
	for tok, id := range m.Vocab {
		if id < 0 || id >= limit {
			return fmt.Errorf("BPE model: token %q has id %d outside [0, %d): ids must be nearly dense", tok, id, limit)
		}
		size = max(size, id+1)
	}
	t.bytes = make([][]byte, size)
	t.added = make([]*addedToken, size)
	for i := range t.byteID {
		t.byteID[i] = -1
	}
	t.runeID = map[rune]int{}
	for tok, id := range m.Vocab {
		if t.bytes[id] != nil {
			return fmt.Errorf("BPE model: id %d is used by two tokens", id)
		}
		if t.byteLevel {
			t.bytes[id] = byteLevelDecode(tok)
			if r, n := utf8.DecodeRuneInString(tok); n == len(tok) {
				if b, ok := runeToByte[r]; ok {
					t.byteID[b] = id
				}
			}
		} else {
			t.bytes[id] = []byte(tok)
			if r, n := utf8.DecodeRuneInString(tok); n == len(tok) && r != utf8.RuneError {
				t.runeID[r] = id
			}
		}
	}
	if m.UnkToken != nil {
		id, ok := m.Vocab[*m.UnkToken]
		if !ok {
			return fmt.Errorf("BPE model: unk_token %q is not in the vocab", *m.UnkToken)
		}
		t.unk = id
	}
	return t.parseMerges(m.Merges)
}

// parseMerges reads merges written either as "a b" strings (tokenizers
// before 0.20) or as ["a", "b"] pairs; the rank is the position.
func (t *HF) parseMerges(raw json.RawMessage) error {
	t.merges = map[uint64]merge{}
	if isNull(raw) {
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return fmt.Errorf(`BPE model: field "merges": %w`, err)
	}
	for rank, it := range items {
		var a, b string
		var s string
		var pair []string
		if json.Unmarshal(it, &s) == nil {
			var ok bool
			if a, b, ok = strings.Cut(s, " "); !ok || strings.Contains(b, " ") {
				return fmt.Errorf("BPE model: merge %d %q: want two tokens separated by one space", rank, s)
			}
		} else if json.Unmarshal(it, &pair) == nil && len(pair) == 2 {
			a, b = pair[0], pair[1]
		} else {
			return fmt.Errorf(`BPE model: merge %d: want "a b" or ["a", "b"], got %s`, rank, it)
		}
		ia, oka := t.vocab[a]
		ib, okb := t.vocab[b]
		id, okm := t.vocab[a+b]
		if !oka || !okb || !okm {
			return fmt.Errorf("BPE model: merge %d (%q, %q): a token of the merge or its result %q is not in the vocab", rank, a, b, a+b)
		}
		k := pairKey(ia, ib)
		if _, dup := t.merges[k]; !dup { // the first (lowest) rank wins
			t.merges[k] = merge{rank: int32(rank), id: int32(id)}
		}
	}
	return nil
}

func (t *HF) parseAdded(toks []*addedToken) error {
	t.byName = map[string]int{}
	var raw, normed []*addedToken
	for _, a := range toks {
		if limit := maxID(len(t.vocab) + len(toks)); a.ID < 0 || a.ID >= limit {
			return fmt.Errorf("added token %q: id %d outside [0, %d): ids must be nearly dense", a.Content, a.ID, limit)
		}
		if a.Content == "" {
			return fmt.Errorf("added token %d: empty content", a.ID)
		}
		for a.ID >= len(t.bytes) {
			t.bytes = append(t.bytes, nil)
			t.added = append(t.added, nil)
		}
		if prev := t.added[a.ID]; prev != nil {
			return fmt.Errorf("added tokens %q and %q share id %d", prev.Content, a.Content, a.ID)
		}
		if vid, ok := t.vocab[a.Content]; t.bytes[a.ID] != nil && (!ok || vid != a.ID) {
			return fmt.Errorf("added token %q and a different vocab token share id %d", a.Content, a.ID)
		}
		t.added[a.ID] = a
		t.bytes[a.ID] = []byte(a.Content)
		t.byName[a.Content] = a.ID
		if a.Normalized {
			if t.nfc {
				n := *a
				n.Content = norm.NFC.String(a.Content)
				normed = append(normed, &n)
			} else {
				normed = append(normed, a)
			}
		} else {
			raw = append(raw, a)
		}
	}
	t.rawMatch, t.normMatch = newMatcher(raw), newMatcher(normed)
	return nil
}

// maxID bounds the ids of a vocabulary of n entries, so that a corrupt file
// cannot make the id tables huge. Real vocabularies are dense or nearly so.
func maxID(n int) int { return 2*n + 1024 }
