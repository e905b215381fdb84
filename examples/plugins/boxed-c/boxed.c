/* A port of plugins/boxed/boxedmath: read its package documentation for
 * the rules. Each function here carries the name of the Go function it
 * mirrors; the shared table examples/plugins/cases/boxed.jsonl checks that
 * they agree. Strings are UTF-8 byte slices, as Go strings are. */
#include "boxed.h"

#include <stdlib.h>
#include <string.h>

#include "bigrat.h"

typedef struct {
	const char *p;
	size_t n;
} str;

static str mkstr(const char *p, size_t n) { return (str){p, n}; }
static str tail(str s, size_t i) { return mkstr(s.p + i, s.n - i); }
static str head(str s, size_t n) { return mkstr(s.p, n); }

static int has_prefix(str s, const char *pre) {
	/* Most calls fail on the first byte: test it before measuring pre. */
	if (!s.n || s.p[0] != pre[0])
		return pre[0] == 0;
	size_t k = strlen(pre);
	return s.n >= k && memcmp(s.p, pre, k) == 0;
}

static int has_suffix(str s, const char *suf) {
	size_t k = strlen(suf);
	return s.n >= k && memcmp(s.p + s.n - k, suf, k) == 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* The UTF-8 encodings of the Unicode white space that Go's unicode.IsSpace
 * accepts beyond ASCII; matching them bytewise is what Go's rune decoding
 * does, invalid bytes decoding as a non-space U+FFFD. */
static const char *const uspaces[] = {
    "\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81", "\xE2\x80\x82",
    "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86", "\xE2\x80\x87", "\xE2\x80\x88",
    "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xA8", "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F",
    "\xE3\x80\x80", NULL};

static int ascii_space(char c) {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* The lead bytes of the encodings above. */
static int uspace_lead(unsigned char c) { return c == 0xC2 || c == 0xE1 || c == 0xE2 || c == 0xE3; }

/* space_at returns the length of the white-space rune s starts with, 0 if none. */
static size_t space_at(str s) {
	if (!s.n)
		return 0;
	if (ascii_space(s.p[0]))
		return 1;
	if (!uspace_lead((unsigned char)s.p[0]))
		return 0;
	for (int k = 0; uspaces[k]; k++) {
		if (has_prefix(s, uspaces[k]))
			return strlen(uspaces[k]);
	}
	return 0;
}

static size_t space_before(str s) {
	if (!s.n)
		return 0;
	unsigned char last = (unsigned char)s.p[s.n - 1];
	if (ascii_space((char)last))
		return 1;
	if (last < 0x80) /* every encoding above ends with a continuation byte */
		return 0;
	for (int k = 0; uspaces[k]; k++) {
		if (has_suffix(s, uspaces[k]))
			return strlen(uspaces[k]);
	}
	return 0;
}

/* strings.TrimSpace */
static str trim_space(str s) {
	size_t k;
	while ((k = space_at(s)))
		s = tail(s, k);
	while ((k = space_before(s)))
		s.n -= k;
	return s;
}

/* braced: the content of the brace group s starts with, after spaces. */
static int braced(str s, str *out) {
	size_t j = 0;
	while (j < s.n && s.p[j] == ' ')
		j++;
	if (j >= s.n || s.p[j] != '{')
		return 0;
	int depth = 0;
	for (size_t k = j; k < s.n; k++) {
		switch (s.p[k]) {
		case '\\':
			k++; /* an escaped brace \{ or \} does not count */
			break;
		case '{':
			depth++;
			break;
		case '}':
			if (--depth == 0) {
				*out = mkstr(s.p + j + 1, k - j - 1);
				return 1;
			}
		}
	}
	return 0;
}

/* next_boxed: the index of the brace of the first \boxed{ (spaces allowed
 * before the brace) at or after from, or s.n when there is none; *after is
 * where to search for the one after it. */
static size_t next_boxed(str s, size_t from, size_t *after) {
	for (size_t i = from; i + 6 <= s.n; i++) {
		if (s.p[i] != '\\' || memcmp(s.p + i + 1, "boxed", 5) != 0)
			continue;
		size_t j = i + 6;
		while (j < s.n && s.p[j] == ' ')
			j++;
		if (j < s.n && s.p[j] == '{') {
			*after = j + 1;
			return j;
		}
		i = j - 1;
	}
	*after = s.n;
	return s.n;
}

/* The open \boxed{ groups of extract: content start and the depth outside
 * the brace, in a buffer kept across calls. */
typedef struct {
	size_t content, depth;
} open_box;
static open_box *opens;
static size_t opens_cap;

/* Extract: the last brace-balanced \boxed{...}, in one forward pass (see
 * the Go function for why it equals trying the occurrences from the last
 * one backwards): a global brace depth finds where each \boxed{ closes,
 * and the closed one that opens last wins. Running out of memory for the
 * open groups traps: the host reports the call as failed, never a score. */
static int extract(str s, str *out) {
	size_t after, next = next_boxed(s, 0, &after);
	size_t n = 0, depth = 0, best = 0, best_end = 0;
	int found = 0;
	for (size_t k = 0; k < s.n; k++) {
		switch (s.p[k]) {
		case '\\':
			k++; /* an escaped brace \{ or \} does not count */
			break;
		case '{':
			if (k == next) {
				if (n == opens_cap) {
					size_t c = opens_cap ? opens_cap * 2 : 16;
					open_box *p = realloc(opens, c * sizeof *p);
					if (!p)
						__builtin_trap();
					opens = p;
					opens_cap = c;
				}
				opens[n++] = (open_box){k + 1, depth};
				next = next_boxed(s, after, &after);
			}
			depth++;
			break;
		case '}':
			if (depth == 0)
				break;
			depth--;
			if (n > 0 && opens[n - 1].depth == depth) {
				if (!found || opens[n - 1].content > best) {
					found = 1;
					best = opens[n - 1].content;
					best_end = k;
				}
				n--;
			}
		}
	}
	if (!found)
		return 0;
	*out = mkstr(s.p + best, best_end - best);
	return 1;
}

static const char *const wrappers[] = {"\\text", "\\textbf", "\\mathrm", "\\mbox", NULL};

/* unwrap: trim and remove whole-answer wrappers until none is left. */
static str unwrap(str s) {
	for (;;) {
		s = trim_space(s);
		size_t n = s.n;
		if (s.n >= 4 && has_prefix(s, "$$") && has_suffix(s, "$$")) {
			s = mkstr(s.p + 2, s.n - 4);
		} else if (s.n >= 2 && s.p[0] == '$' && s.p[s.n - 1] == '$' && !has_suffix(s, "\\$")) {
			s = mkstr(s.p + 1, s.n - 2);
		} else if (s.n >= 4 && ((has_prefix(s, "\\(") && has_suffix(s, "\\)")) ||
		                        (has_prefix(s, "\\[") && has_suffix(s, "\\]")))) {
			s = mkstr(s.p + 2, s.n - 4);
		} else {
			for (int k = 0; wrappers[k]; k++) {
				size_t wl = strlen(wrappers[k]);
				str c;
				if (has_prefix(s, wrappers[k]) && wl < s.n && s.p[wl] == '{' &&
				    braced(tail(s, wl), &c) && wl + c.n + 2 == s.n) {
					s = c;
					break;
				}
			}
		}
		if (s.n == n)
			return s;
	}
}

/* The spacing replacer of Normalize, in Go's argument order. */
static const char *const spacing[][2] = {
    {"\\left", ""}, {"\\right", ""}, {"\\displaystyle", ""}, {"\\!", ""}, {"\\,", ""},
    {"\\;", ""}, {"\\:", ""}, {"\\ ", " "}, {"{,}", ","}, {"\\dfrac", "\\frac"},
    {"\\tfrac", "\\frac"}, {"\xE2\x88\x92", "-"}, {NULL, NULL}};

static void replace_spacing(str s, buf *o) {
	o->len = 0;
	for (size_t i = 0; i < s.n;) {
		str t = tail(s, i);
		int k;
		for (k = 0; spacing[k][0]; k++) {
			if (has_prefix(t, spacing[k][0]))
				break;
		}
		if (spacing[k][0]) {
			buf_put(o, spacing[k][1], strlen(spacing[k][1]));
			i += strlen(spacing[k][0]);
		} else {
			buf_putc(o, s.p[i++]);
		}
	}
}

static int parse(str s, rat *r);

/* decimal: an unsigned decimal with optional thousands separators. */
static int decimal(str s, rat *r) {
	if (!s.n)
		return 0;
	str ip = s, fp = mkstr(s.p + s.n, 0);
	int dot = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] == '.') {
			ip = head(s, i);
			fp = tail(s, i + 1);
			dot = 1;
			break;
		}
	}
	if (dot) {
		for (size_t i = 0; i < fp.n; i++) {
			if (fp.p[i] == ',' || fp.p[i] == '.')
				return 0;
		}
	}
	/* Check the groups, then collect the digits without commas. */
	size_t group = 0, groups = 0;
	for (size_t i = 0; i <= ip.n; i++) {
		if (i == ip.n || ip.p[i] == ',') {
			if (memchr(ip.p, ',', ip.n)) {
				if (groups == 0 && (group < 1 || group > 3))
					return 0;
				if (groups > 0 && group != 3)
					return 0;
			}
			groups++;
			group = 0;
		} else {
			group++;
		}
	}
	static buf digits;
	digits.len = 0;
	for (size_t i = 0; i < ip.n; i++) {
		if (ip.p[i] != ',')
			buf_putc(&digits, ip.p[i]);
	}
	if (digits.len == 0 && fp.n == 0)
		return 0;
	buf_put(&digits, fp.p, fp.n);
	for (size_t i = 0; i < digits.len; i++) {
		if (!is_digit(digits.p[i]))
			return 0;
	}
	return rat_decimal(r, digits.p, digits.len, fp.n) == 0;
}

static int parse_frac(str s, rat *r) {
	s = trim_space(s);
	str num, den;
	if (s.n && s.p[0] == '{') {
		if (!braced(s, &num))
			return 0;
		str rest = trim_space(tail(s, num.n + 2));
		if (!braced(rest, &den) || den.n + 2 != rest.n)
			return 0;
	} else if (s.n == 2 && is_digit(s.p[0]) && is_digit(s.p[1])) {
		num = head(s, 1);
		den = tail(s, 1);
	} else {
		return 0;
	}
	rat a, b;
	if (!parse(trim_space(num), &a) || !parse(trim_space(den), &b) || rat_is_zero(&b))
		return 0;
	return rat_quo(r, &a, &b) == 0;
}

/* Parse: the exact value of a normalised numeric answer. */
static int parse(str s, rat *r) {
	int neg = 0;
	if (s.n && (s.p[0] == '-' || s.p[0] == '+')) {
		neg = s.p[0] == '-';
		s = trim_space(tail(s, 1));
	}
	const char *slash = memchr(s.p, '/', s.n);
	if (has_prefix(s, "\\frac")) {
		if (!parse_frac(tail(s, 5), r))
			return 0;
	} else if (slash) {
		size_t i = (size_t)(slash - s.p);
		rat a, b;
		if (!decimal(trim_space(head(s, i)), &a) || !decimal(trim_space(tail(s, i + 1)), &b) ||
		    rat_is_zero(&b) || rat_quo(r, &a, &b))
			return 0;
	} else if (!decimal(s, r)) {
		return 0;
	}
	if (neg)
		r->neg = !r->neg;
	return 1;
}

/* numberPrefix: the length of the longest numeric prefix of s. */
static size_t number_prefix(str s) {
	const size_t max_number = 64;
	size_t i = 0;
	rat r;
	if (i < s.n && (s.p[i] == '-' || s.p[i] == '+'))
		i++;
	if (has_prefix(tail(s, i), "\\frac")) {
		size_t j = i + 5;
		for (int k = 0; k < 2; k++) {
			str g;
			if (!braced(tail(s, j), &g))
				return 0;
			j += (size_t)((const char *)memchr(s.p + j, '{', s.n - j) - (s.p + j)) + g.n + 2;
		}
		return parse(head(s, j), &r) ? j : 0;
	}
	size_t j = i;
	while (j < s.n && s.p[j] && strchr("0123456789.,/", s.p[j]))
		j++;
	if (j - i > max_number)
		return 0;
	for (; j > i; j--) {
		if (parse(head(s, j), &r))
			return j;
	}
	return 0;
}

static const char *const unit_words[] = {"\\text{", "\\mathrm{", "\\mbox{", "\\%", "}", NULL};

/* stripUnits: drop the units after a leading number. */
static str strip_units(str s) {
	size_t n = number_prefix(s);
	if (n == 0 || n == s.n)
		return s;
	str rest = tail(s, n);
	if (!(rest.p[0] == ' ' || rest.p[0] == '%' || has_prefix(rest, "\\%") ||
	      has_prefix(rest, "\\text{") || has_prefix(rest, "\\mathrm{") || has_prefix(rest, "\\mbox{")))
		return s;
	/* Go replaces the unit words by spaces first; no word contains a space,
	 * so one pass that reads each word as a space is the same. */
	for (size_t i = 0; i < rest.n;) {
		str t = tail(rest, i);
		int k;
		for (k = 0; unit_words[k]; k++) {
			if (has_prefix(t, unit_words[k]))
				break;
		}
		if (unit_words[k]) {
			i += strlen(unit_words[k]);
			continue;
		}
		char c = rest.p[i];
		if (c == ' ' || c == '/' || c == '.' || c == '%' || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z')) {
			i++;
		} else if (c == '^' && i + 1 < rest.n && is_digit(rest.p[i + 1])) {
			i += 2;
		} else {
			return s;
		}
	}
	return head(s, n);
}

/* Normalize; the result points into o or into s. */
static str normalize(str s, buf *o) {
	s = unwrap(s);
	replace_spacing(s, o);
	s = unwrap(mkstr(o->p, o->len));
	if (s.n && s.p[s.n - 1] == '.')
		s.n--;
	s = trim_space(s);
	if (has_prefix(s, "\\$"))
		s = trim_space(tail(s, 2));
	else if (has_prefix(s, "$"))
		s = trim_space(tail(s, 1));
	return strip_units(s);
}

/* squash: drop all white space when s has an ASCII space, tab or newline. */
static str squash(str s, buf *o) {
	int any = 0;
	for (size_t i = 0; i < s.n && !any; i++)
		any = s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == '\n' || s.p[i] == '\r';
	if (!any)
		return s;
	o->len = 0;
	for (size_t i = 0; i < s.n;) {
		size_t k = space_at(tail(s, i));
		if (k) {
			i += k;
		} else {
			buf_putc(o, s.p[i++]);
		}
	}
	return mkstr(o->p, o->len);
}

static buf norm_got, norm_want, sq_got, sq_want;

static int equal(str got, str want) {
	str g = normalize(got, &norm_got), w = normalize(want, &norm_want);
	rat a, b;
	if (parse(g, &a) && parse(w, &b))
		return rat_equal(&a, &b);
	g = squash(g, &sq_got);
	w = squash(w, &sq_want);
	return g.n == w.n && (g.n == 0 || memcmp(g.p, w.p, g.n) == 0);
}

void judge(const char *resp, size_t n, const buf *answer, enum jkind kind, verdict *v) {
	v->detail.len = 0;
	v->score = 0;
	v->status = "ok";
	/* GroundTruth: a JSON string that is not all white space, or a number. */
	str want = mkstr(answer->p, answer->len);
	if ((kind != J_STRING && kind != J_NUMBER) || trim_space(want).n == 0) {
		v->status = "invalid";
		const char *m = "ground truth must be a JSON string or number";
		buf_put(&v->detail, m, strlen(m));
		return;
	}
	str got;
	if (!extract(mkstr(resp, n), &got)) {
		buf_put(&v->detail, "no \\boxed{} answer", 18);
		return;
	}
	buf_put(&v->detail, "answer ", 7);
	buf_put(&v->detail, got.p, got.n);
	v->score = equal(got, want);
	rat_reset();
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
