/* SPDX-License-Identifier: MIT */
/*
 * Tail keeping in the loader: records marked EV_TENTATIVE (a request outside the head sample,
 * followed provisionally) are held per request id until that request's EV_REQUEST_END. A request
 * as slow as the threshold or answered 5xx is written whole, behind an EV_REQUEST_KEPT record;
 * any other keeps only its bare request_start and request_end, as an unsampled request does.
 */
#ifndef REQTRACE_TAIL_KEEP_H
#define REQTRACE_TAIL_KEEP_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

/* Writes one record to the capture; 0 on success. */
typedef int (*record_writer)(const void *rec, size_t size);

/* Holds at most `max_bytes` of records at once; 0 or a negative errno. */
int tail_keep_init(__u64 threshold_us, size_t max_bytes);

/* Takes a tentative record (kind has EV_TENTATIVE); writes through `write` whatever its request's
 * end decides. 0, or the writer's error. */
int tail_keep_record(const void *rec, size_t size, record_writer write);

/* Requests never ended when tracing stops: dropped, counted. */
void tail_keep_finish(void);

/* `tail: kept_slow=N ...` for the summary. */
void tail_keep_summary(FILE *out);

#endif /* REQTRACE_TAIL_KEEP_H */
