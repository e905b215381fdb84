#include "json.h"

#include <stdlib.h>
#include <string.h>

int buf_put(buf *b, const char *s, size_t n) {
	if (b->len + n > b->cap) {
		size_t c = b->cap ? b->cap : 64;
		while (c < b->len + n)
			c *= 2;
		char *p = realloc(b->p, c);
		if (!p)
			return -1;
		b->p = p;
		b->cap = c;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

int buf_putc(buf *b, char c) { return buf_put(b, &c, 1); }

int buf_put_json_string(buf *b, const char *s, size_t n) {
	static const char hex[] = "0123456789abcdef";
	if (buf_putc(b, '"'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = {'\\', (char)c};
			if (buf_put(b, e, 2))
				return -1;
		} else if (c < 0x20) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			if (buf_put(b, e, 6))
				return -1;
		} else if (buf_putc(b, (char)c)) {
			return -1;
		}
	}
	return buf_putc(b, '"');
}

/* The reader: a cursor over the request bytes. */
typedef struct {
	const char *s;
	size_t n, i;
} reader;

static void skip_ws(reader *r) {
	while (r->i < r->n) {
		char c = r->s[r->i];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		r->i++;
	}
}

static int hexval(char c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int read_hex4(reader *r, unsigned *out) {
	if (r->i + 4 > r->n)
		return -1;
	unsigned v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(r->s[r->i + k]);
		if (h < 0)
			return -1;
		v = v << 4 | (unsigned)h;
	}
	r->i += 4;
	*out = v;
	return 0;
}

static int put_utf8(buf *b, unsigned cp) {
	char t[4];
	size_t n;
	if (cp < 0x80) {
		t[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		t[0] = (char)(0xC0 | cp >> 6);
		t[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		t[0] = (char)(0xE0 | cp >> 12);
		t[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		t[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		t[0] = (char)(0xF0 | cp >> 18);
		t[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		t[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		t[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	return buf_put(b, t, n);
}

/* read_string reads a string literal at the cursor; out may be NULL to
 * only validate it. Lone surrogates decode to U+FFFD, as Go's
 * encoding/json does. */
static const char *read_string(reader *r, buf *out) {
	if (r->i >= r->n || r->s[r->i] != '"')
		return "expected a string";
	r->i++;
	while (r->i < r->n) {
		/* Locals, not r->: stores through char pointers would make the
		 * compiler reload r->i and r->n on every byte. */
		size_t start = r->i, i = r->i, n = r->n;
		const unsigned char *p = (const unsigned char *)r->s;
		while (i < n && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20)
			i++;
		r->i = i;
		if (out && buf_put(out, r->s + start, r->i - start))
			return "out of memory";
		if (r->i >= r->n)
			break;
		char c = r->s[r->i++];
		if (c == '"')
			return NULL;
		if (c != '\\')
			return "control character in string";
		if (r->i >= r->n)
			break;
		char e = r->s[r->i++];
		unsigned cp;
		switch (e) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (read_hex4(r, &cp))
				return "bad \\u escape";
			if (cp >= 0xD800 && cp < 0xDC00) {
				unsigned lo;
				size_t save = r->i;
				if (r->i + 2 <= r->n && r->s[r->i] == '\\' && r->s[r->i + 1] == 'u') {
					r->i += 2;
					if (read_hex4(r, &lo))
						return "bad \\u escape";
					if (lo >= 0xDC00 && lo < 0xE000) {
						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					} else {
						cp = 0xFFFD;
						r->i = save;
					}
				} else {
					cp = 0xFFFD;
				}
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				cp = 0xFFFD;
			}
			break;
		default:
			return "bad escape in string";
		}
		if (out && put_utf8(out, cp))
			return "out of memory";
	}
	return "unterminated string";
}

static const char *read_number(reader *r) {
	size_t i = r->i;
	if (i < r->n && r->s[i] == '-')
		i++;
	if (i >= r->n)
		return "bad number";
	if (r->s[i] == '0') {
		i++;
	} else if (r->s[i] >= '1' && r->s[i] <= '9') {
		while (i < r->n && r->s[i] >= '0' && r->s[i] <= '9')
			i++;
	} else {
		return "bad number";
	}
	if (i < r->n && r->s[i] == '.') {
		i++;
		if (i >= r->n || r->s[i] < '0' || r->s[i] > '9')
			return "bad number";
		while (i < r->n && r->s[i] >= '0' && r->s[i] <= '9')
			i++;
	}
	if (i < r->n && (r->s[i] == 'e' || r->s[i] == 'E')) {
		i++;
		if (i < r->n && (r->s[i] == '+' || r->s[i] == '-'))
			i++;
		if (i >= r->n || r->s[i] < '0' || r->s[i] > '9')
			return "bad number";
		while (i < r->n && r->s[i] >= '0' && r->s[i] <= '9')
			i++;
	}
	r->i = i;
	return NULL;
}

static int literal(reader *r, const char *w) {
	size_t k = strlen(w);
	if (r->i + k > r->n || memcmp(r->s + r->i, w, k) != 0)
		return -1;
	r->i += k;
	return 0;
}

/* skip_value validates and skips any value; depth bounds the recursion. */
static const char *skip_value(reader *r, int depth) {
	if (depth > 64)
		return "nesting too deep";
	skip_ws(r);
	if (r->i >= r->n)
		return "unexpected end of input";
	char c = r->s[r->i];
	switch (c) {
	case '"':
		return read_string(r, NULL);
	case '{':
	case '[': {
		char close = c == '{' ? '}' : ']';
		r->i++;
		skip_ws(r);
		if (r->i < r->n && r->s[r->i] == close) {
			r->i++;
			return NULL;
		}
		for (;;) {
			const char *err;
			if (c == '{') {
				skip_ws(r);
				if ((err = read_string(r, NULL)))
					return err;
				skip_ws(r);
				if (r->i >= r->n || r->s[r->i] != ':')
					return "expected ':'";
				r->i++;
			}
			if ((err = skip_value(r, depth + 1)))
				return err;
			skip_ws(r);
			if (r->i >= r->n)
				return "unexpected end of input";
			if (r->s[r->i] == ',') {
				r->i++;
				continue;
			}
			if (r->s[r->i] == close) {
				r->i++;
				return NULL;
			}
			return "expected ',' or a closing bracket";
		}
	}
	case 't':
		return literal(r, "true") ? "bad literal" : NULL;
	case 'f':
		return literal(r, "false") ? "bad literal" : NULL;
	case 'n':
		return literal(r, "null") ? "bad literal" : NULL;
	default:
		return read_number(r);
	}
}

/* object_fields iterates over an object's keys: for each key it calls
 * field, which must consume the value. */
typedef const char *(*field_fn)(reader *r, const char *key, size_t klen, void *ctx);

static const char *read_object(reader *r, field_fn field, void *ctx) {
	skip_ws(r);
	if (r->i >= r->n || r->s[r->i] != '{')
		return "expected an object";
	r->i++;
	skip_ws(r);
	if (r->i < r->n && r->s[r->i] == '}') {
		r->i++;
		return NULL;
	}
	for (;;) {
		skip_ws(r);
		/* Keys are compared raw: the known keys have no escapes. */
		if (r->i >= r->n || r->s[r->i] != '"')
			return "expected a key";
		size_t ks = r->i + 1;
		const char *err = read_string(r, NULL);
		if (err)
			return err;
		size_t kl = r->i - 1 - ks;
		skip_ws(r);
		if (r->i >= r->n || r->s[r->i] != ':')
			return "expected ':'";
		r->i++;
		skip_ws(r);
		if ((err = field(r, r->s + ks, kl, ctx)))
			return err;
		skip_ws(r);
		if (r->i >= r->n)
			return "unexpected end of input";
		if (r->s[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->s[r->i] == '}') {
			r->i++;
			return NULL;
		}
		return "expected ',' or '}'";
	}
}

static int key_is(const char *k, size_t kl, const char *want) {
	return strlen(want) == kl && memcmp(k, want, kl) == 0;
}

/* read_double parses the number at the cursor (validated by read_number). */
static const char *read_double(reader *r, double *out) {
	size_t start = r->i;
	const char *err = read_number(r);
	if (err)
		return err;
	char tmp[64];
	size_t k = r->i - start;
	if (k >= sizeof tmp)
		return "number too long";
	memcpy(tmp, r->s + start, k);
	tmp[k] = 0;
	*out = strtod(tmp, NULL);
	return NULL;
}

static const char *stat_field(reader *r, const char *k, size_t kl, void *ctx) {
	step_stat *st = ctx;
	if (key_is(k, kl, "tokens"))
		return read_double(r, &st->tokens);
	if (key_is(k, kl, "mean_logprob"))
		return read_double(r, &st->mean_logprob);
	if (key_is(k, kl, "min_logprob"))
		return read_double(r, &st->min_logprob);
	if (key_is(k, kl, "mean_entropy")) {
		if (r->i < r->n && r->s[r->i] == 'n')
			return skip_value(r, 1);
		st->has_entropy = 1;
		return read_double(r, &st->mean_entropy);
	}
	return skip_value(r, 1);
}

/* read_array calls elem for each element of an array; elem consumes it. */
static const char *read_array(reader *r, const char *(*elem)(reader *, request *), request *req) {
	if (r->i >= r->n || r->s[r->i] != '[')
		return "expected an array";
	r->i++;
	skip_ws(r);
	if (r->i < r->n && r->s[r->i] == ']') {
		r->i++;
		return NULL;
	}
	for (;;) {
		skip_ws(r);
		const char *err = elem(r, req);
		if (err)
			return err;
		skip_ws(r);
		if (r->i >= r->n)
			return "unexpected end of input";
		if (r->s[r->i] == ',') {
			r->i++;
			continue;
		}
		if (r->s[r->i] == ']') {
			r->i++;
			return NULL;
		}
		return "expected ',' or ']'";
	}
}

static const char *step_elem(reader *r, request *req) {
	req->nsteps++;
	return skip_value(r, 1);
}

static const char *stat_elem(reader *r, request *req) {
	if (req->nstats == req->cap) {
		size_t cap = req->cap ? 2 * req->cap : 16;
		step_stat *p = realloc(req->stats, cap * sizeof *p);
		if (!p)
			return "out of memory";
		req->stats = p;
		req->cap = cap;
	}
	step_stat *st = &req->stats[req->nstats++];
	memset(st, 0, sizeof *st);
	return read_object(r, stat_field, st);
}

static const char *request_field(reader *r, const char *k, size_t kl, void *ctx) {
	request *req = ctx;
	if (key_is(k, kl, "steps"))
		return read_array(r, step_elem, req);
	if (key_is(k, kl, "step_stats")) {
		if (r->i < r->n && r->s[r->i] == 'n')
			return skip_value(r, 1);
		req->has_stats = 1;
		return read_array(r, stat_elem, req);
	}
	return skip_value(r, 1);
}

const char *parse_request(const char *s, size_t n, request *req) {
	reader r = {s, n, 0};
	req->nsteps = 0;
	req->nstats = 0;
	req->has_stats = 0;
	const char *err = read_object(&r, request_field, req);
	if (err)
		return err;
	skip_ws(&r);
	if (r.i != r.n)
		return "trailing data after the request";
	return NULL;
}
