package wire

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// scanner is a forward-only JSON reader over one message. It validates what
// it reads and skips (with validation) values whose keys it does not know,
// so a message that decodes is well-formed JSON up to its last byte.
type scanner struct {
	b    []byte
	i    int
	err  error
	gerr GuestError // the response's {"error": ...}, if any
	// alias makes str and raw return views of b (and of *arena for strings
	// with escapes) instead of copies; see Aliased.
	alias bool
	arena *[]byte
}

// maxDepth bounds the nesting of skipped values so hostile input cannot
// exhaust the stack of a guest or the host.
const maxDepth = 64

func (s *scanner) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("offset %d: "+format, append([]any{s.i}, args...)...)
	}
	// Jump to the end so every loop terminates.
	s.i = len(s.b)
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) expect(c byte) {
	if s.peek() != c {
		if s.i >= len(s.b) {
			s.fail("unexpected end of input, want %q", c)
		} else {
			s.fail("unexpected %q, want %q", s.b[s.i], c)
		}
		return
	}
	s.i++
}

// null consumes a null literal if one is next.
func (s *scanner) null() bool {
	if s.peek() == 'n' {
		s.literal("null")
		return true
	}
	return false
}

func (s *scanner) literal(lit string) {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		s.fail("invalid literal, want %s", lit)
		return
	}
	s.i += len(lit)
}

// Valid reports whether b is one JSON value with no key repeated in any
// of its objects (at any depth), nested at most 64 levels. The host runs
// it on plugin JSON it decodes with encoding/json (manifests), which
// would silently keep the last of two equal keys.
func Valid(b []byte) error {
	s := scanner{b: b}
	s.skip(0)
	return s.end()
}

// end checks that only whitespace follows the top-level value.
func (s *scanner) end() error {
	if s.err == nil && s.peek() != 0 {
		s.fail("unexpected %q after the top-level value", s.b[s.i])
	}
	return s.err
}

// objectStart opens an object; it returns false for null or on error.
func (s *scanner) objectStart() bool {
	if s.null() {
		return false
	}
	s.expect('{')
	return s.err == nil
}

// object is the state of one object being read: whether its first key is
// still to come, and the keys seen, so that a duplicate key is an error.
// JSON readers disagree on duplicates (encoding/json keeps the last,
// others the first), so a plugin could answer one thing to one reader and
// another to the next: sdk/ABI.md makes them malformed.
type object struct {
	first bool
	n     int
	seen  [16][]byte          // the first keys, compared in order
	more  map[string]struct{} // the keys after those
}

// nextKey returns the next key of an object opened with objectStart, or
// nil when the object is closed or a key repeats (an error). obj must
// start as object{first: true}. The returned slice aliases the input
// when the key has no escapes.
func (s *scanner) nextKey(obj *object) []byte {
	if !s.more('}', &obj.first) {
		return nil
	}
	k := s.stringBytes()
	s.expect(':')
	if s.err != nil {
		return nil
	}
	if obj.n < len(obj.seen) {
		for _, seen := range obj.seen[:obj.n] {
			if string(seen) == string(k) {
				s.fail("duplicate key %q", k)
				return nil
			}
		}
		obj.seen[obj.n] = k
		obj.n++
		return k
	}
	for _, seen := range obj.seen {
		if string(seen) == string(k) {
			s.fail("duplicate key %q", k)
			return nil
		}
	}
	if obj.more == nil {
		obj.more = map[string]struct{}{}
	}
	if _, dup := obj.more[string(k)]; dup {
		s.fail("duplicate key %q", k)
		return nil
	}
	obj.more[string(k)] = struct{}{}
	return k
}

// arrayStart opens an array; it returns false for null or on error.
func (s *scanner) arrayStart() bool {
	if s.null() {
		return false
	}
	s.expect('[')
	return s.err == nil
}

// nextElem reports whether another array element follows.
func (s *scanner) nextElem(first *bool) bool { return s.more(']', first) }

// more reports whether another member follows in the object or array
// that end closes, consuming the comma before it, or end itself when the
// container is closed. first must be true before the first member.
func (s *scanner) more(end byte, first *bool) bool {
	c := s.peek()
	if c == end {
		s.i++
		return false
	}
	if !*first {
		if c != ',' {
			s.expect(',')
			return false
		}
		s.i++
	}
	*first = false
	return s.err == nil
}

// stringBytes reads a JSON string. Without escapes the result aliases the
// input; with escapes it is a fresh buffer. Invalid UTF-8 is replaced by
// U+FFFD, as encoding/json does.
func (s *scanner) stringBytes() []byte {
	if s.peek() != '"' {
		s.fail("want a string")
		return nil
	}
	s.i++
	start := s.i
	// Locals, not s.b[s.i]: in a Go Wasm guest every field access is a
	// load from linear memory, and this loop runs once per byte of the
	// response.
	b, i := s.b, s.i
	for i < len(b) {
		c := b[i]
		if c == '"' {
			s.i = i + 1
			return b[start:i]
		}
		if c == '\\' || c >= utf8.RuneSelf || c < 0x20 {
			break
		}
		i++
	}
	s.i = i
	switch {
	case i >= len(b):
		s.fail("unterminated string")
		return nil
	case b[i] < 0x20:
		s.fail("control character in string")
		return nil
	}
	return s.slowString(start)
}

// slowString decodes a string with escapes or non-ASCII bytes that starts
// at start (after the quote); s.i is where the fast path stopped. The
// result is fresh, or appended to *s.arena when there is one (earlier
// views of the arena stay valid: a reallocation leaves them on the old
// array).
func (s *scanner) slowString(start int) []byte {
	if s.arena == nil {
		return s.unescape(make([]byte, 0, s.i-start+16), start)
	}
	a := len(*s.arena)
	out := s.unescape((*s.arena)[a:a], start)
	if out == nil {
		return nil
	}
	*s.arena = append((*s.arena)[:a], out...)
	return (*s.arena)[a:len(*s.arena):len(*s.arena)]
}

func (s *scanner) unescape(out []byte, start int) []byte {
	out = append(out, s.b[start:s.i]...)
	for s.i < len(s.b) {
		// Copy the run of plain ASCII up to the next byte that needs care
		// in one append: responses with LaTeX have a backslash every few
		// dozen bytes, and a per-byte append is slow in a Wasm guest.
		b, j := s.b, s.i
		for j < len(b) && b[j] >= 0x20 && b[j] != '"' && b[j] != '\\' && b[j] < utf8.RuneSelf {
			j++
		}
		out = append(out, b[s.i:j]...)
		s.i = j
		if j >= len(b) {
			break
		}
		c := b[j]
		switch {
		case c == '"':
			s.i++
			return out
		case c < 0x20:
			s.fail("control character in string")
			return nil
		case c == '\\':
			if s.i+1 >= len(s.b) {
				s.fail("unterminated escape")
				return nil
			}
			e := s.b[s.i+1]
			s.i += 2
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r := s.hex4()
				if s.err != nil {
					return nil
				}
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
						save := s.i
						s.i += 2
						r2 = s.hex4()
						if s.err != nil {
							return nil
						}
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
						} else {
							s.i = save // not a pair: decode the second one alone
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				s.fail("invalid escape \\%c", e)
				return nil
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				out = append(out, "\uFFFD"...)
			} else {
				out = append(out, s.b[s.i:s.i+n]...)
			}
			s.i += n
		}
	}
	s.fail("unterminated string")
	return nil
}

func (s *scanner) hex4() rune {
	if len(s.b)-s.i < 4 {
		s.fail("short \\u escape")
		return 0
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		r <<= 4
		switch {
		case '0' <= c && c <= '9':
			r |= rune(c - '0')
		case 'a' <= c && c <= 'f':
			r |= rune(c - 'a' + 10)
		case 'A' <= c && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			s.fail("invalid \\u escape")
			return 0
		}
	}
	s.i += 4
	return r
}

// str reads a string value (null gives "").
func (s *scanner) str() string {
	if s.null() {
		return ""
	}
	b := s.stringBytes()
	if s.alias {
		return unsafe.String(unsafe.SliceData(b), len(b))
	}
	return string(b)
}

// numberBytes reads a JSON number and returns its text.
func (s *scanner) numberBytes() []byte {
	s.ws()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && '1' <= s.b[s.i] && s.b[s.i] <= '9':
		s.digits()
	default:
		s.fail("want a number")
		return nil
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.digits() == 0 {
			s.fail("want digits after the decimal point")
			return nil
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.digits() == 0 {
			s.fail("want digits in the exponent")
			return nil
		}
	}
	return s.b[start:s.i]
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// float reads a number (null gives 0).
func (s *scanner) float() float64 {
	if s.null() {
		return 0
	}
	t := s.numberBytes()
	if s.err != nil {
		return 0
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(t), len(t)), 64)
	if err != nil {
		s.fail("number %s out of range", t)
		return 0
	}
	return f
}

// int reads an integer that fits in int (null gives 0).
func (s *scanner) int() int {
	if s.null() {
		return 0
	}
	t := s.numberBytes()
	if s.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(t), len(t)), 10, 64)
	if err != nil || n > math.MaxInt || n < math.MinInt {
		s.fail("want an integer, got %s", t)
		return 0
	}
	return int(n)
}

// uint64 reads a non-negative integer (null gives 0).
func (s *scanner) uint64() uint64 {
	if s.null() {
		return 0
	}
	t := s.numberBytes()
	if s.err != nil {
		return 0
	}
	n, err := strconv.ParseUint(unsafe.String(unsafe.SliceData(t), len(t)), 10, 64)
	if err != nil {
		s.fail("want an unsigned integer, got %s", t)
		return 0
	}
	return n
}

func (s *scanner) bool() bool {
	switch s.peek() {
	case 't':
		s.literal("true")
		return true
	case 'f':
		s.literal("false")
		return false
	case 'n':
		s.literal("null")
		return false
	}
	s.fail("want a boolean")
	return false
}

// raw reads any value and returns its exact text ("null" included, as
// encoding/json does for a json.RawMessage). The result is a copy: raw
// values outlive the buffer they were read from.
func (s *scanner) raw() []byte {
	s.ws()
	start := s.i
	s.skip(0)
	if s.err != nil {
		return nil
	}
	if s.alias {
		return s.b[start:s.i:s.i]
	}
	return append([]byte(nil), s.b[start:s.i]...)
}

// skip validates and skips one value.
func (s *scanner) skip(depth int) {
	if depth > maxDepth {
		s.fail("nesting deeper than %d", maxDepth)
		return
	}
	switch s.peek() {
	case '{':
		s.i++
		obj := object{first: true}
		for k := s.nextKey(&obj); k != nil && s.err == nil; k = s.nextKey(&obj) {
			s.skip(depth + 1)
		}
	case '[':
		s.i++
		first := true
		for s.nextElem(&first) {
			s.skip(depth + 1)
		}
	case '"':
		s.stringBytes()
	case 't':
		s.literal("true")
	case 'f':
		s.literal("false")
	case 'n':
		s.literal("null")
	case 0:
		s.fail("unexpected end of input")
	default:
		s.numberBytes()
	}
}

// notObject is the error of a top-level value that is not an object.
func (s *scanner) notObject() error {
	if s.err != nil {
		return s.err
	}
	return errNotObject
}

// errNotObject is returned for a top-level value that is not an object.
var errNotObject = errors.New("want a JSON object")
