package boxedmath

import (
	"math"
	"math/bits"
	"strings"
)

// rat is an exact rational n/d (d > 0) in int64, the allocation-free fast
// path of Parse: answers are almost always small numbers, and math/big
// allocates on every operation. Any overflow makes the caller fall back to
// Parse.
type rat struct{ n, d int64 }

// parseRat is Parse in int64: ok reports whether s is a number; when
// overflow is set the result is unusable and Parse must decide.
func parseRat(s string) (r rat, ok, overflow bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = strings.TrimSpace(s[1:])
	}
	switch {
	case strings.HasPrefix(s, `\frac`):
		r, ok, overflow = parseFracRat(s[len(`\frac`):])
	case strings.IndexByte(s, '/') >= 0:
		i := strings.IndexByte(s, '/')
		a, okA, ovA := decimalRat(strings.TrimSpace(s[:i]))
		b, okB, ovB := decimalRat(strings.TrimSpace(s[i+1:]))
		if ovA || ovB {
			return rat{}, false, true
		}
		if okA && okB && b.n != 0 {
			r, ok, overflow = quoRat(a, b)
		}
	default:
		r, ok, overflow = decimalRat(s)
	}
	if !ok || overflow {
		return rat{}, ok, overflow
	}
	if neg {
		r.n = -r.n
	}
	return r, true, false
}

func parseFracRat(s string) (rat, bool, bool) {
	s = strings.TrimSpace(s)
	var num, den string
	if strings.HasPrefix(s, "{") {
		n, ok := braced(s)
		if !ok {
			return rat{}, false, false
		}
		rest := strings.TrimSpace(s[len(n)+2:])
		d, ok := braced(rest)
		if !ok || len(d)+2 != len(rest) {
			return rat{}, false, false
		}
		num, den = n, d
	} else if len(s) == 2 && isDigit(s[0]) && isDigit(s[1]) {
		num, den = s[:1], s[1:]
	} else {
		return rat{}, false, false
	}
	a, okA, ovA := parseRat(strings.TrimSpace(num))
	b, okB, ovB := parseRat(strings.TrimSpace(den))
	if (okA || ovA) && (okB || ovB) && (ovA || ovB) {
		return rat{}, false, true
	}
	if !okA || !okB || b.n == 0 {
		return rat{}, false, false
	}
	return quoRat(a, b)
}

// decimalRat is decimal in int64.
func decimalRat(s string) (rat, bool, bool) {
	if !isDecimal(s) {
		return rat{}, false, false
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if frac == "" && intPart == "" {
		return rat{}, false, false
	}
	r := rat{0, 1}
	for i := 0; i < len(intPart); i++ {
		if c := intPart[i]; c != ',' {
			if r.n > (math.MaxInt64-9)/10 {
				return rat{}, false, true
			}
			r.n = r.n*10 + int64(c-'0')
		}
	}
	for i := 0; i < len(frac); i++ {
		if r.n > (math.MaxInt64-9)/10 || r.d > math.MaxInt64/10 {
			return rat{}, false, true
		}
		r.n = r.n*10 + int64(frac[i]-'0')
		r.d *= 10
	}
	return r, true, false
}

// quoRat returns a/b for b != 0.
func quoRat(a, b rat) (rat, bool, bool) {
	n, ok1 := mul64(a.n, b.d)
	d, ok2 := mul64(a.d, b.n)
	if !ok1 || !ok2 || d == math.MinInt64 || n == math.MinInt64 {
		return rat{}, false, true
	}
	if d < 0 {
		n, d = -n, -d
	}
	return rat{n, d}, true, false
}

// mul64 multiplies with overflow detection.
func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}

// equalRat compares a.n/a.d and b.n/b.d exactly (denominators positive),
// with 128-bit cross products.
func equalRat(a, b rat) bool {
	if (a.n < 0) != (b.n < 0) {
		return a.n == 0 && b.n == 0
	}
	h1, l1 := bits.Mul64(abs64(a.n), uint64(b.d))
	h2, l2 := bits.Mul64(abs64(b.n), uint64(a.d))
	return h1 == h2 && l1 == l2
}

func abs64(n int64) uint64 {
	if n < 0 {
		return uint64(-n) // n > MinInt64: parseRat never produces it
	}
	return uint64(n)
}
