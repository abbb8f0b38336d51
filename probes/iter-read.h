/* SPDX-License-Identifier: MIT */
/* Running a BPF iterator once and reading what it wrote (iter-read.c). */
#ifndef REQTRACE_ITER_READ_H
#define REQTRACE_ITER_READ_H

#include <stddef.h>
#include <bpf/libbpf.h>

/*
 * Runs the iterator behind `link` to its end and returns its whole output in a malloc'd buffer
 * (*out, *len; free it), or a negative errno with a line on stderr naming `what`.
 */
int iter_read(struct bpf_link *link, const char *what, char **out, size_t *len);

#endif
