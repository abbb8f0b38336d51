/* SPDX-License-Identifier: MIT */
/*
 * The request id as the kernel side reads it out of text: 32 lowercase hex digits, in nginx's
 * X-Request-ID header line and in the comment the app puts before each SQL statement. The one
 * parser for every family that reads it. DIGIT(i) is the expression for the id's i-th character
 * (a plain index, or one masked into a ring the verifier can bound); `fail` is the statement run
 * at a character that is not a lowercase hex digit (a return, or a goto).
 */
#ifndef REQTRACE_REQUEST_ID_BPF_H
#define REQTRACE_REQUEST_ID_BPF_H

#define ID_HEX_LEN 32

static __always_inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The id's first 8 digits as a number: what head sampling compares with its threshold. */
#define ID_HEAD_FROM_HEX(DIGIT, head, fail)				\
	do {								\
		__u32 __head = 0;					\
		_Pragma("unroll") for (int __i = 0; __i < 8; __i++) {	\
			int __d = hex_digit(DIGIT(__i));			\
									\
			if (__d < 0)					\
				fail;					\
			__head = (__head << 4) | __d;			\
		}							\
		(head) = __head;					\
	} while (0)

/* All 32 digits as the id's 16 bytes, written into `id` as they are read. */
#define ID_FROM_HEX(DIGIT, id, fail)					\
	do {								\
		_Pragma("unroll") for (int __i = 0; __i < 16; __i++) {	\
			int __hi = hex_digit(DIGIT(2 * __i));		\
			int __lo = hex_digit(DIGIT(2 * __i + 1));		\
									\
			if (__hi < 0 || __lo < 0)			\
				fail;					\
			(id)[__i] = (__hi << 4) | __lo;			\
		}							\
	} while (0)

#endif /* REQTRACE_REQUEST_ID_BPF_H */
