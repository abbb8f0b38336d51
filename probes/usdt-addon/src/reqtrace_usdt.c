// SPDX-License-Identifier: MIT
/*
 * The app's USDT probes (provider `reqtrace`), fired from JavaScript through N-API.
 *
 * Every probe has an is-enabled semaphore that the tracer's uprobe increments while attached.
 * JavaScript reads the semaphores directly through external ArrayBuffers, so an untraced app
 * never calls into this file; the fire functions run only while a tracer listens.
 *
 * Each probe carries the request id as its string and, last, as two 64-bit words (id-words.h),
 * which the BPF handlers take from registers. String arguments are copied into stack buffers
 * sized like probes/events.h, and both ends of
 * each buffer are written just before the probe fires: a BPF read of user memory cannot fault a
 * page in, so every byte a probe handler may read must already be resident.
 */
#define _SDT_HAS_SEMAPHORES 1

#include <errno.h>
#include <linux/types.h>
#include <math.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../events.h"
#include "../../id-words.h"
#include "usdt-site.h"

/* 32 hex digits and the NUL; one spare byte tells an over-long id from an exact one. */
#define REQUEST_ID_LEN 33
#define REQUEST_ID_READ_LEN (REQUEST_ID_LEN + 1)

/*
 * The semaphores live in `.probes`, a writable file-backed section, with hidden visibility so
 * that every reference is PC-relative and none goes through the GOT: the kernel's uprobe
 * reference counter increments the word at the file offset named in the stapsdt note, which
 * only a file-backed page mapped from that offset holds (a .bss word does not qualify).
 */
#define REQTRACE_SEMAPHORE(name)                                                          \
	__attribute__((section(".probes"), visibility("hidden"), used)) volatile unsigned short \
		reqtrace_##name##_semaphore

REQTRACE_SEMAPHORE(request_start);
REQTRACE_SEMAPHORE(request_end);
REQTRACE_SEMAPHORE(db_query_start);
REQTRACE_SEMAPHORE(db_query_end);
REQTRACE_SEMAPHORE(cache_hit);
REQTRACE_SEMAPHORE(cache_miss);
REQTRACE_SEMAPHORE(file_open);
REQTRACE_SEMAPHORE(file_close);
REQTRACE_SEMAPHORE(pool_wait);

static void throw_type(napi_env env, const char *fn, const char *arg, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), "%s: %s must be %s", fn, arg, what);
	napi_throw_type_error(env, NULL, msg);
}

/* Copies a JS string into buf (UTF-8, truncated at a character boundary, NUL-terminated). */
static int get_string(napi_env env, napi_value v, char *buf, size_t size, const char *fn,
		      const char *arg)
{
	size_t len;

	buf[size - 1] = '\0';
	if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) {
		throw_type(env, fn, arg, "a string");
		return 0;
	}
	return 1;
}

/* The id string, and its two words (id-words.h) for the probe handlers. */
struct request_id {
	char str[REQUEST_ID_READ_LEN];
	uint64_t hi, lo;
};

static int get_request_id(napi_env env, napi_value v, struct request_id *id, const char *fn)
{
	size_t len;

	id->str[REQUEST_ID_READ_LEN - 1] = '\0';
	if (napi_get_value_string_utf8(env, v, id->str, REQUEST_ID_READ_LEN, &len) != napi_ok)
		goto bad;
	if (len != REQUEST_ID_LEN - 1 || id_words(id->str, &id->hi, &id->lo))
		goto bad;
	return 1;
bad:
	throw_type(env, fn, "requestId", "a string of 32 lowercase hex digits");
	return 0;
}

/* An integer-valued number in [min, max]; JS numbers are doubles, so fractions are refused. */
static int get_int(napi_env env, napi_value v, double min, double max, const char *fn,
		   const char *arg, const char *what, double *out)
{
	double d;

	if (napi_get_value_double(env, v, &d) != napi_ok || !isfinite(d) || d != trunc(d) ||
	    d < min || d > max) {
		throw_type(env, fn, arg, what);
		return 0;
	}
	*out = d;
	return 1;
}

static int get_fd(napi_env env, napi_value v, const char *fn, int32_t *fd)
{
	double d;

	if (!get_int(env, v, -1, INT32_MAX, fn, "fd", "an integer from -1 to 2^31-1", &d))
		return 0;
	*fd = (int32_t)d;
	return 1;
}

/* A count or a duration: non-negative, below 2^53 (exact in a double); fractions truncate. */
static int get_u64(napi_env env, napi_value v, const char *fn, const char *arg, uint64_t *out)
{
	double d;

	if (napi_get_value_double(env, v, &d) != napi_ok || !isfinite(d) || d < 0 ||
	    d > 9007199254740991.0) {
		throw_type(env, fn, arg, "a finite number from 0 to 2^53-1");
		return 0;
	}
	*out = (uint64_t)d;
	return 1;
}

#define ARGS(n)                                                         \
	size_t argc = (n);                                              \
	napi_value argv[(n)];                                           \
	if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) \
		return NULL

static napi_value request_start(napi_env env, napi_callback_info info)
{
	struct request_id id;
	char method[METHOD_LEN], path[PATH_LEN];
	int32_t fd;
	ARGS(4);

	if (!get_request_id(env, argv[0], &id, "requestStart") ||
	    !get_string(env, argv[1], method, sizeof(method), "requestStart", "method") ||
	    !get_string(env, argv[2], path, sizeof(path), "requestStart", "path") ||
	    !get_fd(env, argv[3], "requestStart", &fd))
		return NULL;
	REQTRACE_PROBE6(request_start, id.str, method, path, fd, id.hi, id.lo);
	return NULL;
}

static napi_value request_end(napi_env env, napi_callback_info info)
{
	struct request_id id;
	double status;
	uint64_t duration_us;
	int32_t fd, status_code;
	ARGS(4);

	if (!get_request_id(env, argv[0], &id, "requestEnd") ||
	    !get_int(env, argv[1], 0, 999, "requestEnd", "statusCode", "an integer from 0 to 999",
		     &status) ||
	    !get_u64(env, argv[2], "requestEnd", "durationUs", &duration_us) ||
	    !get_fd(env, argv[3], "requestEnd", &fd))
		return NULL;
	status_code = (int32_t)status;
	REQTRACE_PROBE6(request_end, id.str, status_code, duration_us, fd, id.hi, id.lo);
	return NULL;
}

static napi_value db_query_start(napi_env env, napi_callback_info info)
{
	struct request_id id;
	char query[QUERY_LEN];
	int32_t fd;
	ARGS(3);

	if (!get_request_id(env, argv[0], &id, "dbQueryStart") ||
	    !get_string(env, argv[1], query, sizeof(query), "dbQueryStart", "query") ||
	    !get_fd(env, argv[2], "dbQueryStart", &fd))
		return NULL;
	REQTRACE_PROBE5(db_query_start, id.str, query, fd, id.hi, id.lo);
	return NULL;
}

static napi_value db_query_end(napi_env env, napi_callback_info info)
{
	struct request_id id;
	uint64_t duration_us, rows;
	int32_t fd;
	ARGS(4);

	if (!get_request_id(env, argv[0], &id, "dbQueryEnd") ||
	    !get_u64(env, argv[1], "dbQueryEnd", "durationUs", &duration_us) ||
	    !get_u64(env, argv[2], "dbQueryEnd", "rows", &rows) ||
	    !get_fd(env, argv[3], "dbQueryEnd", &fd))
		return NULL;
	REQTRACE_PROBE6(db_query_end, id.str, duration_us, rows, fd, id.hi, id.lo);
	return NULL;
}

static napi_value cache_hit(napi_env env, napi_callback_info info)
{
	struct request_id id;
	char key[KEY_LEN];
	ARGS(2);

	if (!get_request_id(env, argv[0], &id, "cacheHit") ||
	    !get_string(env, argv[1], key, sizeof(key), "cacheHit", "key"))
		return NULL;
	REQTRACE_PROBE4(cache_hit, id.str, key, id.hi, id.lo);
	return NULL;
}

static napi_value cache_miss(napi_env env, napi_callback_info info)
{
	struct request_id id;
	char key[KEY_LEN];
	ARGS(2);

	if (!get_request_id(env, argv[0], &id, "cacheMiss") ||
	    !get_string(env, argv[1], key, sizeof(key), "cacheMiss", "key"))
		return NULL;
	REQTRACE_PROBE4(cache_miss, id.str, key, id.hi, id.lo);
	return NULL;
}

static napi_value file_open(napi_env env, napi_callback_info info)
{
	struct request_id id;
	char path[FILE_PATH_LEN];
	int32_t fd;
	ARGS(3);

	if (!get_request_id(env, argv[0], &id, "fileOpen") ||
	    !get_fd(env, argv[1], "fileOpen", &fd) ||
	    !get_string(env, argv[2], path, sizeof(path), "fileOpen", "path"))
		return NULL;
	REQTRACE_PROBE5(file_open, id.str, fd, path, id.hi, id.lo);
	return NULL;
}

static napi_value file_close(napi_env env, napi_callback_info info)
{
	struct request_id id;
	int32_t fd;
	ARGS(2);

	if (!get_request_id(env, argv[0], &id, "fileClose") || !get_fd(env, argv[1], "fileClose", &fd))
		return NULL;
	REQTRACE_PROBE4(file_close, id.str, fd, id.hi, id.lo);
	return NULL;
}

/* pool_wait(id, wait_us, pool_size, busy, waiting, fd, new_connection): a request got a pool
 * connection after waiting wait_us; the pool's maximum, the connections checked out and the
 * requests queued when it asked; the connection's fd; 1 when the pool opened it for this request. */
static napi_value pool_wait(napi_env env, napi_callback_info info)
{
	struct request_id id;
	uint64_t wait_us;
	double size, busy, waiting, fresh;
	int32_t fd, pool_size, busy_count, waiting_count, new_connection;
	ARGS(7);

	if (!get_request_id(env, argv[0], &id, "poolWait") ||
	    !get_u64(env, argv[1], "poolWait", "waitUs", &wait_us) ||
	    !get_int(env, argv[2], 0, INT32_MAX, "poolWait", "poolSize", "an integer from 0 to 2^31-1", &size) ||
	    !get_int(env, argv[3], 0, INT32_MAX, "poolWait", "busy", "an integer from 0 to 2^31-1", &busy) ||
	    !get_int(env, argv[4], 0, INT32_MAX, "poolWait", "waiting", "an integer from 0 to 2^31-1", &waiting) ||
	    !get_fd(env, argv[5], "poolWait", &fd) ||
	    !get_int(env, argv[6], 0, 1, "poolWait", "newConnection", "0 or 1", &fresh))
		return NULL;
	pool_size = (int32_t)size;
	busy_count = (int32_t)busy;
	waiting_count = (int32_t)waiting;
	new_connection = (int32_t)fresh;
	REQTRACE_PROBE9(pool_wait, id.str, wait_us, pool_size, busy_count, waiting_count, fd, new_connection, id.hi, id.lo);
	return NULL;
}

struct probe_def {
	const char *js_name;
	napi_callback fire;
	volatile unsigned short *semaphore;
};

static const struct probe_def probes[] = {
	{ "requestStart", request_start, &reqtrace_request_start_semaphore },
	{ "requestEnd", request_end, &reqtrace_request_end_semaphore },
	{ "dbQueryStart", db_query_start, &reqtrace_db_query_start_semaphore },
	{ "dbQueryEnd", db_query_end, &reqtrace_db_query_end_semaphore },
	{ "cacheHit", cache_hit, &reqtrace_cache_hit_semaphore },
	{ "cacheMiss", cache_miss, &reqtrace_cache_miss_semaphore },
	{ "fileOpen", file_open, &reqtrace_file_open_semaphore },
	{ "fileClose", file_close, &reqtrace_file_close_semaphore },
	{ "poolWait", pool_wait, &reqtrace_pool_wait_semaphore },
};

#define CHECK(call)                                 \
	do {                                        \
		if ((call) != napi_ok)              \
			return NULL;                \
	} while (0)

/*
 * exports = { requestStart(...), ..., semaphores: { requestStart: ArrayBuffer(2), ... },
 *             probeSite: 'nop1' | 'nop5' }
 * Each semaphore gets its own 2-byte external ArrayBuffer, so no layout between the
 * variables is assumed; `new Uint16Array(buf)[0] !== 0` is the is-enabled test.
 */
NAPI_MODULE_INIT()
{
	napi_value semaphores, fn, buf, site;
	size_t i;

	CHECK(napi_create_object(env, &semaphores));
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		const struct probe_def *p = &probes[i];

		CHECK(napi_create_function(env, p->js_name, NAPI_AUTO_LENGTH, p->fire, NULL, &fn));
		CHECK(napi_set_named_property(env, exports, p->js_name, fn));
		CHECK(napi_create_external_arraybuffer(env, (void *)p->semaphore,
						       sizeof(*p->semaphore), NULL, NULL, &buf));
		CHECK(napi_set_named_property(env, semaphores, p->js_name, buf));
	}
	CHECK(napi_set_named_property(env, exports, "semaphores", semaphores));
	CHECK(napi_create_string_utf8(env, REQTRACE_PROBE_SITE, NAPI_AUTO_LENGTH, &site));
	CHECK(napi_set_named_property(env, exports, "probeSite", site));
	return exports;
}
