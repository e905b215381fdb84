/* The rules of the boxed verifier, the same as the native Go verifier in
 * plugins/boxed (see its package doc): the examples/plugins/cases/boxed.jsonl
 * table is the arbiter between the implementations. */
#ifndef REWIND_BOXED_H
#define REWIND_BOXED_H

#include <stddef.h>

#include "json.h"

typedef struct {
	double score;
	const char *status; /* "ok", "abstain" or "invalid" */
	buf detail;
} verdict;

/* judge grades a response (UTF-8) against the raw task answer. */
void judge(const char *resp, size_t n, const buf *answer, enum jkind kind, verdict *v);

/* write_verdict appends v as Verdict JSON. */
int write_verdict(buf *out, const verdict *v);

#endif
