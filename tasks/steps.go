package tasks

import (
	"strconv"
	"strings"

	"github.com/rewind-rl/rewind/sdk/abi"
)

// Delimiter ends every step of a solution.
const Delimiter = "</thought>"

// SplitSteps returns the byte spans of the steps of a response: each step
// ends with Delimiter (included in its span); non-blank text after the last
// delimiter is a final step. It agrees with the built-in `thought`
// segmenter, so a verifier given no spans sees the steps the trainer sees.
func SplitSteps(response string) []abi.Span {
	var spans []abi.Span
	start := 0
	for {
		i := strings.Index(response[start:], Delimiter)
		if i < 0 {
			break
		}
		end := start + i + len(Delimiter)
		spans = append(spans, abi.Span{Start: start, End: end})
		start = end
	}
	if strings.TrimSpace(response[start:]) != "" {
		spans = append(spans, abi.Span{Start: start, End: len(response)})
	}
	return spans
}

// stepBody strips a step's "Step k:" label, its delimiter and all
// whitespace.
func stepBody(step string) string {
	s := strings.TrimSpace(step)
	s = strings.TrimSuffix(s, Delimiter)
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "Step"); ok {
		rest = strings.TrimLeft(rest, " ")
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if j > 0 {
			if after, ok := strings.CutPrefix(strings.TrimLeft(rest[j:], " "), ":"); ok {
				s = after
			}
		}
	}
	return strings.Join(strings.Fields(s), "")
}

// lastBoxed returns the content of the last brace-balanced \boxed{...} in
// s, and whether there is one.
func lastBoxed(s string) (string, bool) {
	const open = `\boxed{`
	found, ok := "", false
	for from := 0; ; {
		i := strings.Index(s[from:], open)
		if i < 0 {
			return found, ok
		}
		begin := from + i + len(open)
		depth, end := 1, -1
		for j := begin; j < len(s); j++ {
			switch s[j] {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 {
				end = j
				break
			}
		}
		if end < 0 { // unbalanced: no later \boxed{ can be complete either
			return found, ok
		}
		found, ok = s[begin:end], true
		from = end + 1
	}
}

// claim returns the value that a step body asserts: the content of its
// last \boxed{} if any, otherwise the text after its last '='.
func claim(body string) string {
	if b, ok := lastBoxed(body); ok {
		body = b
	}
	if i := strings.LastIndexByte(body, '='); i >= 0 {
		body = body[i+1:]
	}
	return body
}

// sameClaim compares two claimed values: by value when both are integers
// or fractions p/q, as text otherwise.
func sameClaim(a, b string) bool {
	ra, oka := parseRat(a)
	rb, okb := parseRat(b)
	if oka && okb {
		return ra == rb
	}
	return a == b
}

// rat is a reduced fraction with a positive denominator.
type rat struct{ num, den int64 }

func newRat(num, den int64) rat {
	if den < 0 {
		num, den = -num, -den
	}
	g := gcd(abs(num), den)
	if g > 1 {
		num, den = num/g, den/g
	}
	return rat{num, den}
}

func (r rat) String() string {
	if r.den == 1 {
		return strconv.FormatInt(r.num, 10)
	}
	return strconv.FormatInt(r.num, 10) + "/" + strconv.FormatInt(r.den, 10)
}

// parseRat parses an integer or a fraction p/q (q != 0) with an optional
// leading sign, allowing a "+" sign and surrounding parentheses.
func parseRat(s string) (rat, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && s[0] == '(' && s[len(s)-1] == ')' {
		s = s[1 : len(s)-1]
	}
	num, den, isFrac := strings.Cut(s, "/")
	n, err := strconv.ParseInt(strings.TrimPrefix(num, "+"), 10, 64)
	if err != nil {
		return rat{}, false
	}
	if !isFrac {
		return rat{n, 1}, true
	}
	d, err := strconv.ParseInt(strings.TrimPrefix(den, "+"), 10, 64)
	if err != nil || d == 0 {
		return rat{}, false
	}
	return newRat(n, d), true
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return 1
	}
	return a
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
