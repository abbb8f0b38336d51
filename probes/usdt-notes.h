/* SPDX-License-Identifier: MIT */
/*
 * The USDT probe sites of an ELF binary, read from its .note.stapsdt: each site's file offset,
 * its semaphore's file offset, and its arguments as <bpf/usdt.bpf.h> reads them, so a program
 * can be attached to sites libbpf's own USDT attach does not cover (every process of a binary,
 * one uprobe_multi link for many sites). x86-64 argument syntax.
 */
#ifndef REQTRACE_USDT_NOTES_H
#define REQTRACE_USDT_NOTES_H

#include <stdbool.h>
#include <linux/types.h>

/* Mirrors struct __bpf_usdt_spec in <bpf/usdt.bpf.h> (libbpf 1.1). */
enum { USDT_ARG_CONST, USDT_ARG_REG, USDT_ARG_REG_DEREF };
struct usdt_arg_spec {
	__u64 val_off;
	__u32 arg_type;
	short reg_off;
	bool arg_signed;
	char arg_bitshift;
};
#define USDT_MAX_ARGS 12
struct usdt_spec {
	struct usdt_arg_spec args[USDT_MAX_ARGS];
	__u64 usdt_cookie;
	short arg_cnt;
};

#define USDT_NAME_LEN 64

struct usdt_site {
	char provider[USDT_NAME_LEN];
	char name[USDT_NAME_LEN];
	unsigned long offset;  /* of the probe's instruction in the file */
	unsigned long ref_ctr; /* of its semaphore in the file, 0 when it has none */
	struct usdt_spec spec; /* usdt_cookie left 0 for the caller to set */
};

/* One x86-64 SystemTap argument, e.g. "-4@%r15d", "4@8(%r13)", "4@(%r12)", "1@$0". 0 or -EINVAL. */
int usdt_parse_arg(const char *s, struct usdt_arg_spec *a);

/* A site's whole argument string, space-separated. 0 or -EINVAL. */
int usdt_parse_args(const char *args, struct usdt_spec *spec);

/*
 * Reads the sites of `provider` (every provider when NULL) in `path` whose probe `want` accepts
 * (every probe when NULL) into `out` (at most `max`), addresses adjusted by .stapsdt.base as the
 * note format requires. Returns how many, or a negative errno: -ENOENT without USDT notes,
 * -E2BIG past `max`, -EINVAL for arguments it cannot read (named on stderr).
 */
int usdt_read_sites(const char *path, const char *provider, bool (*want)(const char *probe),
		    struct usdt_site *out, int max);

#endif /* REQTRACE_USDT_NOTES_H */
