/* surprise: a Rewind localizer in C (Wasm, ABI v1: see sdk/ABI.md). It
 * resets at the step holding the least likely token the policy sampled:
 * the step of lowest min_logprob in the request's step_stats (the earliest
 * of equal ones; steps with no token of their own are skipped). A request
 * without step_stats gets the last step, with fallback "last-step".
 * Replace localize() with your strategy. Build with ./build.sh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("rewind_abi_version") int32_t rewind_abi_version(void) { return 1; }

EXPORT("rewind_alloc") int32_t rewind_alloc(int32_t size) {
	if (size < 0)
		return 0;
	return (int32_t)(uintptr_t)malloc(size ? (size_t)size : 1);
}

EXPORT("rewind_free") void rewind_free(int32_t ptr, int32_t size) {
	(void)size;
	free((void *)(uintptr_t)ptr);
}

/* Reused across calls: the response must stay valid until the next call. */
static request req;
static buf out;

static int64_t pack(const buf *b) {
	return (int64_t)((uint64_t)(uintptr_t)b->p << 32 | (uint32_t)b->len);
}

static void put(const char *s) { buf_put(&out, s, strlen(s)); }

static void answer(size_t step, const char *fallback, const char *detail) {
	char num[32];
	snprintf(num, sizeof num, "%zu", step);
	put("{\"step\":");
	put(num);
	if (fallback) {
		put(",\"fallback\":");
		buf_put_json_string(&out, fallback, strlen(fallback));
	}
	put(",\"detail\":");
	buf_put_json_string(&out, detail, strlen(detail));
	buf_putc(&out, '}');
}

/* localize writes the localization JSON into out: a step in 1..nsteps, or
 * 0 for "no erroneous step". */
static void localize(void) {
	size_t n = req.nsteps;
	if (!req.has_stats || req.nstats != n) {
		answer(n, "last-step", "no step_stats");
		return;
	}
	size_t best = 0;
	for (size_t k = 0; k < n; k++) {
		const step_stat *st = &req.stats[k];
		if (st->tokens > 0 && (best == 0 || st->min_logprob < req.stats[best - 1].min_logprob))
			best = k + 1;
	}
	if (best == 0) {
		answer(n, "last-step", "no step has a token");
		return;
	}
	char detail[64];
	snprintf(detail, sizeof detail, "min_logprob %.3g", req.stats[best - 1].min_logprob);
	answer(best, NULL, detail);
}

EXPORT("rewind_localize") int64_t rewind_localize(int32_t ptr, int32_t len) {
	out.len = 0;
	const char *err = parse_request((const char *)(uintptr_t)ptr, (size_t)len, &req);
	if (!err && req.nsteps == 0)
		err = "the request has no steps";
	if (err) {
		put("{\"error\":");
		buf_put_json_string(&out, err, strlen(err));
		buf_putc(&out, '}');
		return pack(&out);
	}
	localize();
	return pack(&out);
}
