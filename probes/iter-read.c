// SPDX-License-Identifier: MIT
/* Running a BPF iterator once and reading what it wrote. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "iter-read.h"

int iter_read(struct bpf_link *link, const char *what, char **out, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	int err = 0, it;
	ssize_t got;

	*out = NULL;
	*len = 0;
	if (!buf)
		return -ENOMEM;
	it = bpf_iter_create(bpf_link__fd(link));
	if (it < 0) {
		err = -errno;
		fprintf(stderr, "reqtrace: creating the %s iterator failed: %s\n", what, strerror(errno));
		free(buf);
		return err;
	}
	for (;;) {
		if (n == cap) {
			char *more = realloc(buf, cap * 2);

			if (!more) {
				err = -ENOMEM;
				break;
			}
			buf = more;
			cap *= 2;
		}
		got = read(it, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			fprintf(stderr, "reqtrace: running the %s iterator failed: %s\n", what, strerror(errno));
			break;
		}
		if (got == 0)
			break;
		n += got;
	}
	close(it);
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	*len = n;
	return 0;
}
