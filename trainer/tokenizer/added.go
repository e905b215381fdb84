package tokenizer

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's "added_tokens".
type addedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// matcher finds added tokens in text, leftmost first and longest at a
// position, as the Aho-Corasick LeftmostLongest search of tokenizers does.
type matcher struct {
	byFirst [256][]*addedToken // candidates by first byte, longest first
	n       int
}

func newMatcher(toks []*addedToken) *matcher {
	m := &matcher{}
	for _, t := range toks {
		if t.Content == "" {
			continue
		}
		m.byFirst[t.Content[0]] = append(m.byFirst[t.Content[0]], t)
		m.n++
	}
	for _, l := range m.byFirst {
		sort.SliceStable(l, func(i, j int) bool { return len(l[i].Content) > len(l[j].Content) })
	}
	return m
}

// segment is a piece of input: either an added token (tok != nil) or text
// to be normalised and tokenized by the model.
type segment struct {
	text string
	tok  *addedToken
}

// split cuts s into text and added-token segments. A token with lstrip or
// rstrip also swallows the whitespace on that side; a token with
// single_word only matches when not inside a word.
func (m *matcher) split(dst []segment, s string) []segment {
	if m.n == 0 {
		if s != "" {
			dst = append(dst, segment{text: s})
		}
		return dst
	}
	textStart := 0
	for i := 0; i < len(s); {
		if m.byFirst[s[i]] == nil {
			i++
			continue
		}
		t := m.matchAt(s, i)
		if t == nil {
			i++
			continue
		}
		start, end := i, i+len(t.Content)
		if t.LStrip {
			for start > textStart {
				r, n := utf8.DecodeLastRuneInString(s[textStart:start])
				if !unicode.IsSpace(r) {
					break
				}
				start -= n
			}
		}
		if t.RStrip {
			end += len(s[end:]) - len(strings.TrimLeftFunc(s[end:], unicode.IsSpace))
		}
		if start > textStart {
			dst = append(dst, segment{text: s[textStart:start]})
		}
		dst = append(dst, segment{text: s[start:end], tok: t})
		textStart, i = end, end
	}
	if textStart < len(s) {
		dst = append(dst, segment{text: s[textStart:]})
	}
	return dst
}

func (m *matcher) matchAt(s string, i int) *addedToken {
	for _, t := range m.byFirst[s[i]] {
		if !strings.HasPrefix(s[i:], t.Content) {
			continue
		}
		if t.SingleWord && !isWordBoundary(s, i, i+len(t.Content)) {
			continue
		}
		return t
	}
	return nil
}

// isWordBoundary reports whether s[start:end] is neither preceded nor
// followed by a word character (letter, digit or '_').
func isWordBoundary(s string, start, end int) bool {
	word := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	if start > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:start]); word(r) {
			return false
		}
	}
	if end < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[end:]); word(r) {
			return false
		}
	}
	return true
}
