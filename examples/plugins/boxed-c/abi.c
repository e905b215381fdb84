/* The exports of Rewind ABI v1 (see sdk/ABI.md): rewind_abi_version,
 * rewind_alloc, rewind_free and rewind_verify. The module is a WASI
 * reactor that imports nothing: the host runs _initialize once, then calls
 * rewind_verify many times on the same instance. */
#include <stdint.h>
#include <stdlib.h>

#include "boxed.h"
#include "json.h"

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("rewind_abi_version") int32_t rewind_abi_version(void) { return 1; }

/* rewind_alloc returns a block the host writes a request into; the host
 * frees it with rewind_free after the call. Zero-size requests still get a
 * unique pointer so that the host can tell success from failure (0). */
EXPORT("rewind_alloc") int32_t rewind_alloc(int32_t size) {
	if (size < 0)
		return 0;
	return (int32_t)(uintptr_t)malloc(size ? (size_t)size : 1);
}

EXPORT("rewind_free") void rewind_free(int32_t ptr, int32_t size) {
	(void)size;
	free((void *)(uintptr_t)ptr);
}

/* The request and response buffers are reused across calls: the response
 * must stay valid until the next call into the instance, which is exactly
 * how long a reused buffer lives. */
static request req;
static buf out;

static int64_t pack(const buf *b) {
	return (int64_t)((uint64_t)(uintptr_t)b->p << 32 | (uint32_t)b->len);
}

static int64_t fail(const char *msg) {
	out.len = 0;
	buf_put(&out, "{\"error\":", 9);
	buf_put_json_string(&out, msg, __builtin_strlen(msg));
	buf_putc(&out, '}');
	return pack(&out);
}

EXPORT("rewind_verify") int64_t rewind_verify(int32_t ptr, int32_t len) {
	const char *err = parse_request((const char *)(uintptr_t)ptr, (size_t)len, &req);
	if (err)
		return fail(err);
	if (!req.has_response)
		return fail("request has no response");
	verdict v;
	judge(req.response.p, req.response.len, &req.answer, req.answer_kind, &v);
	out.len = 0;
	if (write_verdict(&out, &v))
		return fail("out of memory");
	return pack(&out);
}
