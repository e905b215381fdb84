#include "boxed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *p;
	size_t n;
} str;

static int has_prefix(str s, const char *pre) {
	size_t k = strlen(pre);
	return s.n >= k && memcmp(s.p, pre, k) == 0;
}

static int is_space(char c) {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static str trim(str s) {
	while (s.n && is_space(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n && is_space(s.p[s.n - 1]))
		s.n--;
	return s;
}

/* match_brace returns the index just past the '}' that closes the '{' at
 * s.p[open], or 0 when the braces never balance. */
static size_t match_brace(str s, size_t open) {
	int depth = 0;
	for (size_t i = open; i < s.n; i++) {
		if (s.p[i] == '{')
			depth++;
		else if (s.p[i] == '}' && --depth == 0)
			return i + 1;
	}
	return 0;
}

/* last_boxed finds the content of the last brace-balanced \boxed{...}. */
static int last_boxed(str s, str *out) {
	int found = 0;
	for (size_t i = 0; i + 6 <= s.n; i++) {
		if (memcmp(s.p + i, "\\boxed", 6) != 0)
			continue;
		size_t j = i + 6;
		while (j < s.n && is_space(s.p[j]))
			j++;
		if (j >= s.n || s.p[j] != '{')
			continue;
		size_t end = match_brace(s, j);
		if (!end)
			continue;
		out->p = s.p + j + 1;
		out->n = end - j - 2;
		found = 1;
	}
	return found;
}

/* squeeze copies s into o without whitespace and LaTeX spacing or sizing
 * commands (\, \! \; \: "\ " \left \right), with \dfrac and \tfrac
 * spelled \frac, "{,}" spelled "," and the Unicode minus U+2212 spelled
 * "-". */
static void squeeze(str s, buf *o) {
	o->len = 0;
	for (size_t i = 0; i < s.n;) {
		str t = {s.p + i, s.n - i};
		char c = s.p[i];
		if (is_space(c)) {
			i++;
		} else if (c == '\\' && t.n >= 2 &&
		           (t.p[1] == ',' || t.p[1] == '!' || t.p[1] == ';' || t.p[1] == ':' || t.p[1] == ' ')) {
			i += 2;
		} else if (has_prefix(t, "\\left") && !(t.n > 5 && is_alpha(t.p[5]))) {
			i += 5;
		} else if (has_prefix(t, "\\right") && !(t.n > 6 && is_alpha(t.p[6]))) {
			i += 6;
		} else if (has_prefix(t, "\\dfrac") || has_prefix(t, "\\tfrac")) {
			buf_put(o, "\\frac", 5);
			i += 6;
		} else if (has_prefix(t, "{,}")) {
			buf_putc(o, ',');
			i += 3;
		} else if (has_prefix(t, "\xE2\x88\x92")) {
			buf_putc(o, '-');
			i += 3;
		} else {
			buf_putc(o, c);
			i++;
		}
	}
}

/* parse_decimal parses [+-]?(digits[.digits]|.digits) covering all of s. */
static int parse_decimal(str s, double *v) {
	size_t i = 0, digits = 0;
	if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
		i++;
	while (i < s.n && is_digit(s.p[i])) {
		i++;
		digits++;
	}
	if (i < s.n && s.p[i] == '.') {
		i++;
		size_t frac = 0;
		while (i < s.n && is_digit(s.p[i])) {
			i++;
			frac++;
		}
		if (!frac)
			return 0;
		digits += frac;
	}
	if (!digits || i != s.n || s.n > 400)
		return 0;
	char tmp[401];
	memcpy(tmp, s.p, s.n);
	tmp[s.n] = 0;
	*v = strtod(tmp, NULL);
	return 1;
}

static int ratio(double a, double b, double *v) {
	if (b == 0)
		return 0;
	*v = a / b;
	return 1;
}

/* parse_number reads a normalised answer as a number: a decimal, a/b, or
 * [+-]\frac{a}{b} with decimal a and b. */
static int parse_number(str s, double *v) {
	if (parse_decimal(s, v))
		return 1;
	double sign = 1;
	str t = s;
	if (t.n && (t.p[0] == '+' || t.p[0] == '-')) {
		sign = t.p[0] == '-' ? -1 : 1;
		t.p++;
		t.n--;
	}
	double a, b;
	if (has_prefix(t, "\\frac{")) {
		size_t e1 = match_brace(t, 5);
		if (!e1 || e1 >= t.n || t.p[e1] != '{')
			return 0;
		size_t e2 = match_brace(t, e1);
		if (e2 != t.n)
			return 0;
		str num = {t.p + 6, e1 - 7}, den = {t.p + e1 + 1, e2 - e1 - 2};
		if (!parse_decimal(num, &a) || !parse_decimal(den, &b) || !ratio(a, b, v))
			return 0;
		*v *= sign;
		return 1;
	}
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] != '/')
			continue;
		str num = {s.p, i}, den = {s.p + i + 1, s.n - i - 1};
		return parse_decimal(num, &a) && parse_decimal(den, &b) && ratio(a, b, v);
	}
	return 0;
}

/* number_prefix returns the length of the longest prefix of s that reads
 * [+-]?digits[,ddd]*[.digits], 0 if none. */
static size_t number_prefix(str s) {
	size_t i = 0;
	if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
		i++;
	size_t d = i;
	while (i < s.n && (is_digit(s.p[i]) || s.p[i] == ','))
		i++;
	if (i < s.n && s.p[i] == '.') {
		i++;
		while (i < s.n && is_digit(s.p[i]))
			i++;
	}
	return i > d ? i : 0;
}

static const char *const unit_groups[] = {"\\text{", "\\mbox{", "\\mathrm{", NULL};
static const char *const unit_marks[] = {"^\\circ", "^{\\circ}", "\xC2\xB0", "\\%", "%", NULL};

/* strip_units drops a trailing unit after a number: a \text{}, \mbox{} or
 * \mathrm{} group, a degree or percent sign, or a word of two or more
 * letters ("5cm", "12dollars"). A single letter is kept: "2x" is algebra. */
static str strip_units(str s) {
	size_t np = number_prefix(s);
	if (!np || np == s.n)
		return s;
	str r = {s.p + np, s.n - np};
	for (int k = 0; unit_groups[k]; k++) {
		size_t kl = strlen(unit_groups[k]);
		if (has_prefix(r, unit_groups[k]) && match_brace(r, kl - 1) == r.n)
			return (str){s.p, np};
	}
	for (int k = 0; unit_marks[k]; k++) {
		if (r.n == strlen(unit_marks[k]) && has_prefix(r, unit_marks[k]))
			return (str){s.p, np};
	}
	for (size_t i = 0; i < r.n; i++) {
		if (!is_alpha(r.p[i]))
			return s;
	}
	return r.n >= 2 ? (str){s.p, np} : s;
}

/* drop_thousands removes the commas of [+-]d{1,3}(,ddd)+[.digits]. */
static void drop_thousands(buf *o) {
	str s = {o->p, o->len};
	size_t i = 0;
	if (i < s.n && (s.p[i] == '+' || s.p[i] == '-'))
		i++;
	size_t lead = 0;
	while (i < s.n && is_digit(s.p[i])) {
		i++;
		lead++;
	}
	if (lead < 1 || lead > 3 || i >= s.n || s.p[i] != ',')
		return;
	while (i < s.n && s.p[i] == ',') {
		for (int k = 1; k <= 3; k++) {
			if (i + k >= s.n || !is_digit(s.p[i + k]))
				return;
		}
		i += 4;
	}
	if (i < s.n && s.p[i] == '.') {
		i++;
		if (i >= s.n)
			return;
		while (i < s.n && is_digit(s.p[i]))
			i++;
	}
	if (i != s.n)
		return;
	size_t w = 0;
	for (size_t r = 0; r < s.n; r++) {
		if (o->p[r] != ',')
			o->p[w++] = o->p[r];
	}
	o->len = w;
}

/* normalize applies the rules in order: trim, strip surrounding $...$,
 * squeeze, strip trailing periods, strip units, drop thousands commas. */
static void normalize(str s, buf *o) {
	s = trim(s);
	while (s.n >= 2 && s.p[0] == '$' && s.p[s.n - 1] == '$') {
		s.p++;
		s.n -= 2;
		s = trim(s);
	}
	squeeze(s, o);
	while (o->len && o->p[o->len - 1] == '.')
		o->len--;
	str u = strip_units((str){o->p, o->len});
	o->len = u.n;
	drop_thousands(o);
}

static int same_number(double a, double b) {
	double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
	return fabs(a - b) <= 1e-9 * (m > 1 ? m : 1);
}

static buf got_n, want_n;

void judge(const char *resp, size_t n, const buf *answer, enum jkind kind, verdict *v) {
	v->detail.len = 0;
	v->score = 0;
	v->status = "ok";
	if (kind != J_STRING && kind != J_NUMBER) {
		v->status = "invalid";
		buf_put(&v->detail, "task answer is not a string or a number", 39);
		return;
	}
	normalize((str){answer->p, answer->len}, &want_n);
	if (!want_n.len) {
		v->status = "invalid";
		buf_put(&v->detail, "task answer is empty", 20);
		return;
	}
	str box;
	if (!last_boxed((str){resp, n}, &box)) {
		buf_put(&v->detail, "no \\boxed{} answer", 18);
		return;
	}
	normalize(box, &got_n);
	buf_put(&v->detail, "answer ", 7);
	buf_put(&v->detail, got_n.p, got_n.len);
	double a, b;
	str g = {got_n.p, got_n.len}, w = {want_n.p, want_n.len};
	if (parse_number(g, &a) && parse_number(w, &b)) {
		v->score = same_number(a, b);
	} else {
		v->score = g.n == w.n && g.n && memcmp(g.p, w.p, g.n) == 0;
	}
}

int write_verdict(buf *out, const verdict *v) {
	/* Scores are 0 or 1: no need for printf, which would pull in stdio. */
	if (buf_put(out, "{\"score\":", 9) || buf_putc(out, v->score == 1 ? '1' : '0') ||
	    buf_put(out, ",\"status\":\"", 11) || buf_put(out, v->status, strlen(v->status)) ||
	    buf_putc(out, '"'))
		return -1;
	if (v->detail.len &&
	    (buf_put(out, ",\"detail\":", 10) || buf_put_json_string(out, v->detail.p, v->detail.len)))
		return -1;
	return buf_putc(out, '}');
}
