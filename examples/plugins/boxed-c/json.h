/* A small JSON reader for the request of ABI v1 and a writer for its
 * verdict. It reads just what the boxed verifier needs: the response string
 * and the raw task.answer value; every other field is skipped but still
 * checked for well-formedness, so a malformed request is refused rather
 * than half-read. */
#ifndef REWIND_JSON_H
#define REWIND_JSON_H

#include <stddef.h>

/* buf is a growable byte buffer owned by the module. */
typedef struct {
	char *p;
	size_t len, cap;
} buf;

int buf_put(buf *b, const char *s, size_t n);
int buf_putc(buf *b, char c);
/* buf_put_json_string appends s as a JSON string literal (with quotes). */
int buf_put_json_string(buf *b, const char *s, size_t n);

/* The kind of a raw JSON value. */
enum jkind { J_NONE, J_STRING, J_NUMBER, J_OTHER };

typedef struct {
	/* response, decoded to UTF-8, owned by the caller's buffer. */
	buf response;
	int has_response;
	/* task.answer: for a string, its decoded bytes; for a number, its text. */
	buf answer;
	enum jkind answer_kind;
} request;

/* parse_request decodes a VerifyRequest. It returns NULL on success or a
 * static message describing the first error. */
const char *parse_request(const char *s, size_t n, request *req);

#endif
