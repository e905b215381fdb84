// Package boxedmath grades a math response by its last \boxed{} answer. It
// has no dependency on the host, so the native built-in verifier
// (plugins/boxed) and the Go Wasm guest (examples/plugins/boxed-go) share
// it and cannot drift apart.
//
// # Extraction
//
// The answer is the content of the last brace-balanced \boxed{...} in the
// response: occurrences are tried from the last one backwards, and one
// whose braces never close (a truncated response) is skipped. Spaces
// between \boxed and { are allowed. A response with no balanced \boxed{}
// has no answer and scores 0.
//
// # Normalisation (applied to the extracted answer and the ground truth)
//
//  1. Surrounding whitespace is trimmed and wrappers are removed, repeatedly:
//     $...$, $$...$$, \(...\), \[...\], and a whole-answer \text{...},
//     \textbf{...}, \mathrm{...} or \mbox{...}.
//  2. Spacing and sizing commands are removed: \left, \right, \displaystyle,
//     \!, \, (so "1\,000" is 1000), \; \: and "\ "; {,} becomes ",".
//     \dfrac and \tfrac become \frac; U+2212 (minus sign) becomes "-".
//  3. A trailing period is removed, then a leading currency sign ($ or \$).
//  4. Units: a number followed by a space, "\text{", "\mathrm{", "\mbox{" or
//     "%"/"\%" and then only letters, spaces, ^digits, "/", "." and "%" is
//     the number alone ("5 cm" is 5, "12\text{ m}^2" is 12, "50\%" is 50:
//     percent is a unit, so "50\%" does not equal 0.5).
//
// # Numbers
//
// After normalisation an answer is numeric when it is, after an optional
// sign (+ or -):
//   - an integer or decimal: "42", "-0.5", ".5", "5.", with optional
//     thousands separators "1,234,567.8" (commas only between groups of
//     exactly three digits, else it is not a number: "1,23" is a string);
//   - a simple fraction "a/b" of such numbers (b != 0);
//   - \frac{a}{b} with a, b such numbers (optionally signed), or the
//     shorthand \frac34 (two single digits).
//
// # Comparison
//
// When both the answer and the ground truth are numeric they are compared
// exactly as rationals (0.5 equals \frac{1}{2}; 0.333 does not equal 1/3).
// Otherwise the normalised strings are compared after removing all
// whitespace (so "x = 2" equals "x=2", and "\frac{\pi}{2}" equals
// "\dfrac{\pi}{2}").
//
// # Ground truth
//
// Task.Answer must be a JSON string or number; anything else (missing,
// null, object, empty string) makes the verdict StatusInvalid.
package boxedmath

import (
	"encoding/json"
	"math/big"
	"strconv"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Extract returns the content of the last brace-balanced \boxed{...} of s.
//
// It is one forward pass, linear in len(s) whatever the input (a response
// of thousands of unclosed \boxed{ cost quadratic time when each was
// scanned to the end on its own). A brace is skipped when an unskipped
// backslash precedes it, the rule braced applies from any \boxed{ on: the
// brace of a \boxed{ follows "d" or a space, never a backslash, so the
// pass reads every brace exactly as a scan starting at that \boxed{
// would. A global depth counter finds where each \boxed{ closes (its
// depth comes back), and the closed one that opens last wins: the same
// answer as trying the occurrences from the last backwards.
func Extract(s string) (string, bool) {
	type open struct{ content, depth int } // content start; depth outside its brace
	var buf [8]open                        // no allocation for up to 8 nested \boxed{
	stack := buf[:0]
	next, from := nextBoxed(s, 0)
	best, bestEnd := -1, -1
	depth := 0
	for k := 0; k < len(s); k++ {
		switch s[k] {
		case '\\':
			k++ // an escaped brace \{ or \} does not count
		case '{':
			if k == next {
				stack = append(stack, open{k + 1, depth})
				next, from = nextBoxed(s, from)
			}
			depth++
		case '}':
			if depth == 0 {
				continue // no \boxed{ is open: nothing to close
			}
			depth--
			if n := len(stack); n > 0 && stack[n-1].depth == depth {
				if c := stack[n-1].content; c > best {
					best, bestEnd = c, k
				}
				stack = stack[:n-1]
			}
		}
	}
	if best < 0 {
		return "", false
	}
	return s[best:bestEnd], true
}

// nextBoxed returns the index of the brace of the first \boxed{ (spaces
// allowed before the brace) at or after from, or -1, and where to search
// for the one after it.
func nextBoxed(s string, from int) (brace, after int) {
	for {
		i := strings.Index(s[from:], `\boxed`)
		if i < 0 {
			return -1, len(s)
		}
		j := from + i + len(`\boxed`)
		for j < len(s) && s[j] == ' ' {
			j++
		}
		if j < len(s) && s[j] == '{' {
			return j, j + 1
		}
		from = j
	}
}

// braced returns the content of the brace group that s starts with (after
// optional spaces).
func braced(s string) (string, bool) {
	j := 0
	for j < len(s) && s[j] == ' ' {
		j++
	}
	if j >= len(s) || s[j] != '{' {
		return "", false
	}
	depth := 0
	for k := j; k < len(s); k++ {
		switch s[k] {
		case '\\':
			k++ // an escaped brace \{ or \} does not count
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return s[j+1 : k], true
			}
		}
	}
	return "", false
}

var spacing = strings.NewReplacer(
	`\left`, "", `\right`, "", `\displaystyle`, "",
	`\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, " ",
	`{,}`, ",", `\dfrac`, `\frac`, `\tfrac`, `\frac`, "\u2212", "-",
)

// Normalize applies the normalisation rules of the package documentation.
func Normalize(s string) string {
	s = unwrap(s)
	// Not strings.ContainsAny: with a non-ASCII character in the set it
	// decodes every rune, and this runs on every answer.
	if strings.IndexByte(s, '\\') >= 0 || strings.IndexByte(s, '{') >= 0 || strings.Contains(s, "\u2212") {
		s = spacing.Replace(s)
		s = unwrap(s)
	}
	s = strings.TrimSpace(strings.TrimSuffix(s, "."))
	switch {
	case strings.HasPrefix(s, `\$`):
		s = strings.TrimSpace(s[2:])
	case strings.HasPrefix(s, "$"):
		s = strings.TrimSpace(s[1:])
	}
	return stripUnits(s)
}

// textWrappers are the commands unwrap removes around a whole answer.
var textWrappers = []string{`\text{`, `\textbf{`, `\mathrm{`, `\mbox{`}

// unwrap trims spaces and removes whole-answer wrappers until none is left.
func unwrap(s string) string {
	for {
		s = strings.TrimSpace(s)
		n := len(s)
		switch {
		case len(s) >= 4 && strings.HasPrefix(s, "$$") && strings.HasSuffix(s, "$$"):
			s = s[2 : len(s)-2]
		case len(s) >= 2 && s[0] == '$' && s[len(s)-1] == '$' && !strings.HasSuffix(s, `\$`):
			s = s[1 : len(s)-1]
		case strings.HasPrefix(s, `\(`) && strings.HasSuffix(s, `\)`) && len(s) >= 4,
			strings.HasPrefix(s, `\[`) && strings.HasSuffix(s, `\]`) && len(s) >= 4:
			s = s[2 : len(s)-2]
		default:
			for _, w := range textWrappers {
				if strings.HasPrefix(s, w) {
					if c, ok := braced(s[len(w)-1:]); ok && len(w)+len(c)+1 == len(s) {
						s = c
						break
					}
				}
			}
		}
		if len(s) == n {
			return s
		}
	}
}

// stripUnits drops units after a leading number (rule 4).
func stripUnits(s string) string {
	n := numberPrefix(s)
	if n == 0 || n == len(s) {
		return s
	}
	rest := s[n:]
	switch {
	case rest[0] == ' ', rest[0] == '%', strings.HasPrefix(rest, `\%`):
	case strings.HasPrefix(rest, `\text{`), strings.HasPrefix(rest, `\mathrm{`), strings.HasPrefix(rest, `\mbox{`):
	default:
		return s
	}
	for _, w := range []string{`\text{`, `\mathrm{`, `\mbox{`, `\%`, `}`} {
		rest = strings.ReplaceAll(rest, w, " ")
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c == ' ' || c == '/' || c == '.' || c == '%':
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case c == '^' && i+1 < len(rest) && '0' <= rest[i+1] && rest[i+1] <= '9':
			i++
		default:
			return s
		}
	}
	return s[:n]
}

// numberPrefix returns the length of the longest prefix of s that is a
// number: a signed \frac{a}{b}, or a signed decimal or a/b fraction of at
// most maxNumber bytes (longer runs are not treated as numbers with units).
func numberPrefix(s string) int {
	const maxNumber = 64
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	if strings.HasPrefix(s[i:], `\frac`) {
		j := i + len(`\frac`)
		for range 2 {
			g, ok := braced(s[j:])
			if !ok {
				return 0
			}
			j += strings.IndexByte(s[j:], '{') + len(g) + 2
		}
		if _, ok := Parse(s[:j]); ok {
			return j
		}
		return 0
	}
	j := i
	for j < len(s) && (isDigit(s[j]) || s[j] == '.' || s[j] == ',' || s[j] == '/') {
		j++
	}
	if j-i > maxNumber {
		return 0
	}
	for ; j > i; j-- {
		if isNumber(s[i:j]) {
			return j
		}
	}
	return 0
}

// isNumber is Parse's syntax check for unsigned decimals and a/b
// fractions, without allocating.
func isNumber(s string) bool {
	if a, b, ok := strings.Cut(s, "/"); ok {
		return isDecimal(strings.TrimSpace(a)) && isDecimal(strings.TrimSpace(b)) && strings.Trim(b, " 0.,") != ""
	}
	return isDecimal(s)
}

// isDecimal reports whether decimal would accept s.
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if hasDot && strings.ContainsAny(frac, ",.") {
		return false
	}
	if intPart == "" && frac == "" {
		return false
	}
	digits := 0 // digits since the last comma, -1 before any comma
	first := true
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		switch {
		case isDigit(c):
			digits++
		case c == ',':
			if (first && (digits < 1 || digits > 3)) || (!first && digits != 3) {
				return false
			}
			first, digits = false, 0
		default:
			return false
		}
	}
	if !first && digits != 3 {
		return false
	}
	for i := 0; i < len(frac); i++ {
		if !isDigit(frac[i]) {
			return false
		}
	}
	return true
}

// Parse returns the exact value of a normalised numeric answer (see the
// package documentation for the accepted forms).
func Parse(s string) (*big.Rat, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = strings.TrimSpace(s[1:])
	}
	var r *big.Rat
	if strings.HasPrefix(s, `\frac`) {
		r = parseFrac(s[len(`\frac`):])
	} else if i := strings.IndexByte(s, '/'); i >= 0 {
		a, b := decimal(strings.TrimSpace(s[:i])), decimal(strings.TrimSpace(s[i+1:]))
		if a != nil && b != nil && b.Sign() != 0 {
			r = a.Quo(a, b)
		}
	} else {
		r = decimal(s)
	}
	if r == nil {
		return nil, false
	}
	if neg {
		r.Neg(r)
	}
	return r, true
}

func parseFrac(s string) *big.Rat {
	s = strings.TrimSpace(s)
	var num, den string
	if strings.HasPrefix(s, "{") {
		n, ok := braced(s)
		if !ok {
			return nil
		}
		rest := strings.TrimSpace(s[len(n)+2:])
		d, ok := braced(rest)
		if !ok || len(d)+2 != len(rest) {
			return nil
		}
		num, den = n, d
	} else if len(s) == 2 && isDigit(s[0]) && isDigit(s[1]) {
		num, den = s[:1], s[1:]
	} else {
		return nil
	}
	a, ok := Parse(strings.TrimSpace(num))
	if !ok {
		return nil
	}
	b, ok := Parse(strings.TrimSpace(den))
	if !ok || b.Sign() == 0 {
		return nil
	}
	return a.Quo(a, b)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// decimal parses an unsigned decimal with optional thousands separators.
func decimal(s string) *big.Rat {
	if !isDecimal(s) {
		return nil
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if strings.IndexByte(intPart, ',') >= 0 {
		intPart = strings.ReplaceAll(intPart, ",", "")
	}
	if frac == "" {
		if intPart == "" {
			return nil
		}
		if n, err := strconv.ParseInt(intPart, 10, 64); err == nil {
			return new(big.Rat).SetInt64(n)
		}
	}
	r, ok := new(big.Rat).SetString(intPart + "." + frac + "0")
	if !ok {
		return nil
	}
	return r
}

// Equal reports whether two raw answers are equal under the package's
// rules.
func Equal(got, want string) bool {
	g, w := Normalize(got), Normalize(want)
	gf, gok, gov := parseRat(g)
	wf, wok, wov := parseRat(w)
	switch {
	case gok && wok:
		return equalRat(gf, wf)
	case !gov && !wov: // at least one is not a number
		return squash(g) == squash(w)
	}
	if gr, ok := Parse(g); ok { // too large for int64: exact in math/big
		if wr, ok := Parse(w); ok {
			return gr.Cmp(wr) == 0
		}
	}
	return squash(g) == squash(w)
}

func squash(s string) string {
	if !strings.ContainsAny(s, " \t\n\r") {
		return s
	}
	return strings.Join(strings.Fields(s), "")
}

// GroundTruth returns the ground truth of a task's Answer (a JSON string
// or number).
func GroundTruth(answer json.RawMessage) (string, bool) {
	a := strings.TrimSpace(string(answer))
	if a == "" || a == "null" {
		return "", false
	}
	if a[0] == '"' {
		if len(a) >= 2 && a[len(a)-1] == '"' && !strings.ContainsAny(a[1:len(a)-1], `"\\`) {
			inner := a[1 : len(a)-1]
			if strings.TrimSpace(inner) == "" {
				return "", false
			}
			return inner, true // the common case, without encoding/json
		}
		var s string
		if json.Unmarshal(answer, &s) != nil || strings.TrimSpace(s) == "" {
			return "", false
		}
		return s, true
	}
	var n json.Number
	if json.Unmarshal(answer, &n) != nil {
		return "", false
	}
	return n.String(), true
}

// Grade is the whole verifier: score 1 when the response's boxed answer
// equals the ground truth, 0 when it differs or is missing; StatusInvalid
// when the ground truth is unusable. Detail names the extracted answer.
func Grade(response string, answer json.RawMessage) abi.Verdict {
	want, ok := GroundTruth(answer)
	if !ok {
		return abi.Verdict{Status: abi.StatusInvalid, Detail: "ground truth must be a JSON string or number"}
	}
	got, ok := Extract(response)
	if !ok {
		return abi.Verdict{Status: abi.StatusOK, Detail: `no \boxed{} answer`}
	}
	v := abi.Verdict{Status: abi.StatusOK, Detail: "answer " + got}
	if Equal(got, want) {
		v.Score = 1
	}
	return v
}
