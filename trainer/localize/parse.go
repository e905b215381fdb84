package localize

import (
	"regexp"
	"strconv"
	"strings"
)

// LastBoxed returns the content of the last brace-balanced \boxed{...} in
// text, and false when there is none. An unbalanced \boxed{ (a truncated
// generation) is skipped in favour of an earlier balanced one.
func LastBoxed(text string) (string, bool) {
	const open = `\boxed{`
	end := len(text)
	for {
		i := strings.LastIndex(text[:end], open)
		if i < 0 {
			return "", false
		}
		start := i + len(open)
		depth := 1
		for j := start; j < len(text); j++ {
			switch text[j] {
			case '{':
				depth++
			case '}':
				depth--
			}
			if depth == 0 {
				return text[start:j], true
			}
		}
		end = i
	}
}

var stepMention = regexp.MustCompile(`(?i)\bstep\s*(\d+)`)

// Parse reads a self-localization answer for a trajectory of n steps and
// applies docs/method.md's fallbacks in order:
//
//  1. the last brace-balanced \boxed{...} holding an integer in 1..n is
//     the answer;
//  2. a boxed 0 ("no error found") gives step 1 (FallbackNoError), a boxed
//     negative integer step 1 (FallbackBelowRange);
//  3. otherwise (no boxed answer, not an integer, or above n) the last
//     "Step N" mentioned in the text, if N is in 1..n
//     (FallbackStepMention);
//  4. otherwise step 1 (FallbackDefault).
//
// answer is the boxed integer, or -1 when there is none.
func Parse(text string, n int) (step, answer int, fallback string) {
	answer = -1
	if box, ok := LastBoxed(text); ok {
		if v, err := strconv.Atoi(strings.TrimSpace(box)); err == nil {
			answer = v
			switch {
			case v >= 1 && v <= n:
				return v, answer, ""
			case v == 0:
				return 1, answer, FallbackNoError
			case v < 0:
				return 1, answer, FallbackBelowRange
			}
		}
	}
	if m := stepMention.FindAllStringSubmatch(text, -1); len(m) > 0 {
		if v, err := strconv.Atoi(m[len(m)-1][1]); err == nil && v >= 1 && v <= n {
			return v, answer, FallbackStepMention
		}
	}
	return 1, answer, FallbackDefault
}
