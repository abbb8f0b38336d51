/* SPDX-License-Identifier: MIT */
/*
 * A request id (32 lowercase hex digits) as the two 64-bit words the app's probes pass beside the
 * id string: the first and the last 16 digits as numbers, so a probe handler takes the id from
 * two registers instead of reading and parsing the string. Used by the addon and the test fixture.
 */
#ifndef REQTRACE_ID_WORDS_H
#define REQTRACE_ID_WORDS_H

#include <stdint.h>

/* 0 with the words set, or -1 when `hex` is not 32 lowercase hex digits (then both are 0). */
static inline int id_words(const char *hex, uint64_t *hi, uint64_t *lo)
{
	uint64_t w[2] = { 0, 0 };

	for (int i = 0; i < 32; i++) {
		char c = hex[i];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (d < 0) {
			*hi = *lo = 0;
			return -1;
		}
		w[i / 16] = (w[i / 16] << 4) | (uint64_t)d;
	}
	if (hex[32] != '\0') {
		*hi = *lo = 0;
		return -1;
	}
	*hi = w[0];
	*lo = w[1];
	return 0;
}

#endif
