// SPDX-License-Identifier: MIT
/* Tail keeping in the loader (tail-keep.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>
#include "events.h"
#include "tail-keep.h"

/* Requests held at once (open addressing; a power of two). The lab serves a few hundred at a time. */
#define SLOTS 8192

struct held {
	bool used;
	bool incomplete; /* a record of it did not fit */
	__u8 id[16];
	char *buf;
	size_t len, cap;
};

static struct held slots[SLOTS];

/* Requests decided lately, direct-mapped by id: a record of one that arrives after its end (the
 * socket hooks emit a run when the socket is next used) follows the decision. */
#define DECIDED 16384

static struct {
	bool used;
	bool kept;
	__u8 id[16];
} decided[DECIDED];
static __u64 threshold_us;
static size_t max_bytes, held_bytes;
static struct {
	unsigned long long kept_slow, kept_error, dropped, buffer_full, slots_full, unfinished, late;
} stats;

int tail_keep_init(__u64 threshold, size_t max)
{
	if (!threshold || !max)
		return -EINVAL;
	threshold_us = threshold;
	max_bytes = max;
	return 0;
}

static size_t slot_of(const __u8 id[16])
{
	__u64 a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return (size_t)((a ^ (b * 0x9e3779b97f4a7c15ull)) & (SLOTS - 1));
}

/* The slot holding `id`, or a free one for it when `create`; NULL: none. */
static struct held *find(const __u8 id[16], bool create)
{
	size_t i = slot_of(id);

	for (size_t n = 0; n < SLOTS; n++, i = (i + 1) & (SLOTS - 1)) {
		if (!slots[i].used) {
			if (!create)
				return NULL;
			slots[i].used = true;
			memcpy(slots[i].id, id, 16);
			return &slots[i];
		}
		if (!memcmp(slots[i].id, id, 16))
			return &slots[i];
	}
	return NULL;
}

/* Frees a slot and re-seats the probe chain behind it, so later lookups still find their ids. */
static void release(struct held *h)
{
	size_t i = (size_t)(h - slots);

	held_bytes -= h->len;
	free(h->buf);
	memset(h, 0, sizeof(*h));
	for (size_t j = (i + 1) & (SLOTS - 1); slots[j].used; j = (j + 1) & (SLOTS - 1)) {
		struct held moved = slots[j];
		struct held *to;

		memset(&slots[j], 0, sizeof(slots[j]));
		to = find(moved.id, true);
		to->incomplete = moved.incomplete;
		to->buf = moved.buf;
		to->len = moved.len;
		to->cap = moved.cap;
	}
}

static void append(struct held *h, const void *rec, size_t size)
{
	struct event_header *copy;

	if (held_bytes + size > max_bytes) {
		h->incomplete = true;
		stats.buffer_full++;
		return;
	}
	if (h->len + size > h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 4096;
		char *buf;

		while (cap < h->len + size)
			cap *= 2;
		buf = realloc(h->buf, cap);
		if (!buf) {
			h->incomplete = true;
			stats.buffer_full++;
			return;
		}
		h->buf = buf;
		h->cap = cap;
	}
	memcpy(h->buf + h->len, rec, size);
	copy = (struct event_header *)(h->buf + h->len);
	copy->kind &= ~EV_TENTATIVE;
	h->len += size;
	held_bytes += size;
}

/* An unsampled request keeps what one that was never followed has: a bare start, and its end. */
static int write_bare(struct held *h, const struct ev_request_end *end, record_writer write)
{
	for (size_t off = 0; off + sizeof(struct event_header) <= h->len;) {
		struct event_header *r = (struct event_header *)(h->buf + off);

		if (!r->size)
			break;
		if (r->kind == EV_REQUEST_START && r->size == sizeof(struct ev_request_start)) {
			struct ev_request_start s;
			int err;

			memcpy(&s, r, sizeof(s));
			memset(s.method, 0, sizeof(s.method));
			memset(s.path, 0, sizeof(s.path));
			if ((err = write(&s, sizeof(s))))
				return err;
			break;
		}
		off += r->size;
	}
	return write(end, sizeof(*end));
}

static int write_kept(struct held *h, const struct ev_request_end *end, __u32 reason, record_writer write)
{
	struct ev_request_kept k = {
		.h = {
			.ts_ns = end->h.ts_ns,
			.pid = end->h.pid,
			.tid = end->h.tid,
			.kind = EV_REQUEST_KEPT,
			.size = sizeof(k),
			.fd = end->h.fd,
		},
		.reason = reason,
		.complete = !h->incomplete,
		.threshold_us = threshold_us,
	};
	int err;

	memcpy(k.h.request_id, end->h.request_id, 16);
	if ((err = write(&k, sizeof(k))))
		return err;
	for (size_t off = 0; off + sizeof(struct event_header) <= h->len;) {
		struct event_header *r = (struct event_header *)(h->buf + off);

		if (!r->size)
			break;
		if ((err = write(r, r->size)))
			return err;
		off += r->size;
	}
	return write(end, sizeof(*end));
}

static void remember(const __u8 id[16], bool kept)
{
	size_t i = slot_of(id) & (DECIDED - 1);

	decided[i].used = true;
	decided[i].kept = kept;
	memcpy(decided[i].id, id, 16);
}

/* A record of a request decided already: written unmarked when it was kept, else dropped. 1 when
 * it was one (*err set), 0 when its request is still open. */
static int late_record(const void *rec, size_t size, record_writer write, int *err)
{
	const struct event_header *hdr = rec;
	size_t i = slot_of(hdr->request_id) & (DECIDED - 1);
	struct event_header *copy;
	char buf[1024];

	*err = 0;
	if (!decided[i].used || memcmp(decided[i].id, hdr->request_id, 16))
		return 0;
	stats.late++;
	if (!decided[i].kept || size > sizeof(buf))
		return 1;
	memcpy(buf, rec, size);
	copy = (struct event_header *)buf;
	copy->kind &= ~EV_TENTATIVE;
	*err = write(buf, size);
	return 1;
}

int tail_keep_record(const void *rec, size_t size, record_writer write)
{
	const struct event_header *hdr = rec;
	struct ev_request_end end;
	struct held *h;
	__u32 reason;
	int err;

	if ((hdr->kind & ~EV_TENTATIVE) != EV_REQUEST_END || size != sizeof(end)) {
		if (late_record(rec, size, write, &err))
			return err;
		h = find(hdr->request_id, true);
		if (!h) {
			stats.slots_full++;
			return 0;
		}
		append(h, rec, size);
		return 0;
	}
	memcpy(&end, rec, sizeof(end));
	end.h.kind &= ~EV_TENTATIVE;
	h = find(end.h.request_id, false);
	reason = end.status >= 500 ? KEEP_ERROR : end.duration_us >= threshold_us ? KEEP_SLOW : 0;
	remember(end.h.request_id, reason != 0);
	if (!h) {
		struct held empty = {};

		return reason ? write_kept(&empty, &end, reason, write) : write(&end, sizeof(end));
	}
	if (reason == KEEP_ERROR)
		stats.kept_error++;
	else if (reason == KEEP_SLOW)
		stats.kept_slow++;
	else
		stats.dropped++;
	err = reason ? write_kept(h, &end, reason, write) : write_bare(h, &end, write);
	release(h);
	return err;
}

void tail_keep_finish(void)
{
	for (size_t i = 0; i < SLOTS; i++)
		if (slots[i].used) {
			stats.unfinished++;
			free(slots[i].buf);
			memset(&slots[i], 0, sizeof(slots[i]));
		}
	held_bytes = 0;
}

void tail_keep_summary(FILE *out)
{
	fprintf(out, "tail: threshold_us=%llu kept_slow=%llu kept_error=%llu dropped=%llu buffer_full=%llu slots_full=%llu unfinished=%llu late=%llu\n",
		(unsigned long long)threshold_us, stats.kept_slow, stats.kept_error, stats.dropped, stats.buffer_full,
		stats.slots_full, stats.unfinished, stats.late);
}
