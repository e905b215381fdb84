/* A small JSON reader for the localize request of ABI v1. It reads just
 * what this localizer needs: the number of steps and the step_stats; every
 * other field is skipped but still checked for well-formedness, so a
 * malformed request is refused rather than half-read. */
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

/* One entry of step_stats (sdk/ABI.md): all in nats, at temperature 1. */
typedef struct {
	double tokens, mean_logprob, min_logprob, mean_entropy;
	int has_entropy;
} step_stat;

typedef struct {
	size_t nsteps;     /* entries of "steps" */
	int has_stats;     /* "step_stats" was present */
	step_stat *stats;  /* its entries (storage reused across calls) */
	size_t nstats, cap;
} request;

/* parse_request decodes a LocalizeRequest. It returns NULL on success or a
 * static message describing the first error. */
const char *parse_request(const char *s, size_t n, request *req);

#endif
