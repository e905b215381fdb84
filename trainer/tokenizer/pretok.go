package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// Split patterns with a hand-written scanner. Any other pattern runs through
// regexp2 (a backtracking engine with lookahead, like the Oniguruma engine
// that tokenizers uses); the scanners give the same pieces as regexp2 for
// these patterns (see FuzzScannerMatchesRegexp2) and are several times
// faster (see docs/bench/tokenizer.md).
const (
	// patternQwen2 is Qwen2's (and Qwen2.5's, Qwen3's) pre-tokenizer regex.
	patternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patternLlama3 is Llama 3's: the same with runs of up to 3 digits.
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patternGPT2 is the regex of the ByteLevel pre-tokenizer when use_regex is true.
	patternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// splitter cuts text into pieces that are tokenized independently.
type splitter interface {
	// split appends the byte ranges [start, end) of the pieces of s, which
	// tile s, to dst.
	split(dst [][2]int, s string) ([][2]int, error)
}

// scanFunc returns the length in bytes of the match at the start of s,
// or 0 when no alternative matches there.
type scanFunc func(s string) int

// scanSplitter applies a hand-written scanner with the "Isolated" behaviour:
// every match is a piece and so is every run of unmatched text.
type scanSplitter struct{ scan scanFunc }

func (p scanSplitter) split(dst [][2]int, s string) ([][2]int, error) {
	gap := -1
	for i := 0; i < len(s); {
		if n := p.scan(s[i:]); n > 0 {
			if gap >= 0 {
				dst = append(dst, [2]int{gap, i})
				gap = -1
			}
			dst = append(dst, [2]int{i, i + n})
			i += n
			continue
		}
		if gap < 0 {
			gap = i
		}
		_, n := utf8.DecodeRuneInString(s[i:])
		i += n
	}
	if gap >= 0 {
		dst = append(dst, [2]int{gap, len(s)})
	}
	return dst, nil
}

// regexSplitter is the generic Split pre-tokenizer with "Isolated" behaviour.
type regexSplitter struct{ re *regexp2.Regexp }

func newRegexSplitter(pattern string) (*regexSplitter, error) {
	re, err := regexp2.Compile(pattern, regexp2.OptionMaxBacktrackingStackSize(-1))
	if err != nil {
		return nil, err
	}
	return &regexSplitter{re: re}, nil
}

func (p *regexSplitter) split(dst [][2]int, s string) ([][2]int, error) {
	idx, err := p.re.FindAllStringIndex(s, -1)
	if err != nil {
		return dst, fmt.Errorf("pre-tokenizer regex: %w", err)
	}
	prev := 0
	for _, m := range idx {
		if m[1] == m[0] {
			continue
		}
		if m[0] > prev {
			dst = append(dst, [2]int{prev, m[0]})
		}
		dst = append(dst, [2]int{m[0], m[1]})
		prev = m[1]
	}
	if prev < len(s) {
		dst = append(dst, [2]int{prev, len(s)})
	}
	return dst, nil
}

// newSplitter returns the scanner for a known pattern, else a regexp2 one.
func newSplitter(pattern string) (splitter, error) {
	switch pattern {
	case patternQwen2:
		return scanSplitter{func(s string) int { return scanLlamaFamily(s, 1) }}, nil
	case patternLlama3:
		return scanSplitter{func(s string) int { return scanLlamaFamily(s, 3) }}, nil
	case patternGPT2:
		return scanSplitter{scanGPT2}, nil
	}
	return newRegexSplitter(pattern)
}

// Character classes of the patterns. \s is Unicode White_Space, as in
// Oniguruma and regexp2; \p{L} and \p{N} are the general categories.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == classSpace
	}
	return unicode.IsSpace(r)
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == classLetter
	}
	return unicode.IsLetter(r)
}

func isNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == classNumber
	}
	return unicode.IsNumber(r)
}

func isPunct(r rune) bool {
	if r < utf8.RuneSelf {
		return asciiClass[r] == classPunct
	}
	return !unicode.IsSpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r)
}

// asciiClass caches the classes of ASCII runes, the common case.
var asciiClass = func() (c [utf8.RuneSelf]uint8) {
	for r := rune(0); r < utf8.RuneSelf; r++ {
		switch {
		case unicode.IsSpace(r):
			c[r] = classSpace
		case unicode.IsLetter(r):
			c[r] = classLetter
		case unicode.IsNumber(r):
			c[r] = classNumber
		default:
			c[r] = classPunct
		}
	}
	return c
}()

const (
	classPunct uint8 = iota
	classSpace
	classLetter
	classNumber
)

// run returns the byte length of the longest prefix of s whose runes
// satisfy f, stopping after max runes when max > 0.
func run(s string, f func(rune) bool, max int) int {
	n, k := 0, 0
	for n < len(s) && (max <= 0 || k < max) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !f(r) {
			break
		}
		n += size
		k++
	}
	return n
}

// contraction matches 's 't 're 've 'm 'll 'd at the start of s (s[0] is
// '\”), case-insensitively when fold is set. It returns the byte length.
func contraction(s string, fold bool) int {
	if len(s) < 2 || s[0] != '\'' {
		return 0
	}
	lower := func(b byte) byte {
		if fold && 'A' <= b && b <= 'Z' {
			return b + 'a' - 'A'
		}
		return b
	}
	switch lower(s[1]) {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if len(s) >= 3 && lower(s[2]) == 'e' {
			return 3
		}
	case 'l':
		if len(s) >= 3 && lower(s[2]) == 'l' {
			return 3
		}
	}
	return 0
}

// whitespaceTail implements the three whitespace alternatives shared by
// the patterns, given the length n of the whitespace run at the start of s:
// \s+(?!\S) keeps the last space for the next piece when a non-space
// follows; \s+ otherwise.
func whitespaceTail(s string, n int) int {
	if n == len(s) {
		return n
	}
	// A non-space follows: give back the last whitespace rune if that
	// leaves at least one.
	_, last := utf8.DecodeLastRuneInString(s[:n])
	if n-last > 0 {
		return n - last
	}
	return n
}

// scanLlamaFamily scans one match of patternQwen2 (maxDigits 1) or
// patternLlama3 (maxDigits 3), trying the alternatives in order as a
// backtracking engine does.
func scanLlamaFamily(s string, maxDigits int) int {
	r, size := utf8.DecodeRuneInString(s)
	// (?i:'s|'t|'re|'ve|'m|'ll|'d)
	if r == '\'' {
		if n := contraction(s, true); n > 0 {
			return n
		}
	}
	// [^\r\n\p{L}\p{N}]?\p{L}+
	if isLetter(r) {
		return run(s, isLetter, 0)
	}
	if r != '\r' && r != '\n' && !isNumber(r) {
		if n := run(s[size:], isLetter, 0); n > 0 {
			return size + n
		}
	}
	// \p{N} or \p{N}{1,3}
	if isNumber(r) {
		return run(s, isNumber, maxDigits)
	}
	// ' '?[^\s\p{L}\p{N}]+[\r\n]*
	start := 0
	if r == ' ' {
		start = 1
	}
	if n := run(s[start:], isPunct, 0); n > 0 {
		end := start + n
		return end + run(s[end:], func(r rune) bool { return r == '\r' || r == '\n' }, 0)
	}
	if !isSpace(r) {
		return 0
	}
	ws := run(s, isSpace, 0)
	// \s*[\r\n]+: up to and including the last \r or \n of the run.
	for i := ws - 1; i >= 0; i-- {
		if s[i] == '\r' || s[i] == '\n' {
			return i + 1
		}
	}
	return whitespaceTail(s, ws)
}

// scanGPT2 scans one match of patternGPT2.
func scanGPT2(s string) int {
	r, _ := utf8.DecodeRuneInString(s)
	if r == '\'' {
		if n := contraction(s, false); n > 0 {
			return n
		}
	}
	start := 0
	if r == ' ' && len(s) > 1 {
		start = 1
		r, _ = utf8.DecodeRuneInString(s[1:])
	}
	switch {
	case isLetter(r):
		return start + run(s[start:], isLetter, 0)
	case isNumber(r):
		return start + run(s[start:], isNumber, 0)
	case !isSpace(r):
		return start + run(s[start:], isPunct, 0)
	}
	ws := run(s, isSpace, 0)
	if ws == 0 {
		return 0
	}
	return whitespaceTail(s, ws)
}
